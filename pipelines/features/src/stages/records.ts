// What the online feature stages exchange on Kafka.
//
// vigil.access.by-entity (written by ingest, key = entity key such as "ip:…", "user:…", "tenant"): the access event
// again, with the role it plays in the ROLE_HEADER. The entity stage computes that role's features.
// vigil.access.by-principal (key = principal): the access events from ingest and, from the entity stage, each
// event's entity parts (KIND_HEADER = "part", value EntityPart) — keyed by the event's principal, so a request's
// parts land in the partition that owns the request.
// vigil.features (key = principal): one FeatureRecord per request, all features, once every part has joined.
import type { AccessEvent, Principal } from '@vigil/events';
import type { EntityRole } from '../features/roles.js';

export const ROLE_HEADER = 'vigil-role';
export const KIND_HEADER = 'vigil-kind';
export const PART_KIND = 'part';

export interface FeatureRecord {
  ts: number;
  request_id: string;
  principal: string;
  /** Every identifier known for the request's principal (sub, jti, token fingerprint, username, client IP …). */
  ids?: Principal;
  /** What the decision policy needs of the request besides its features: route class, geo-fence, tenant. */
  ctx?: RequestContext;
  schema: string;
  v: number[];
}

export interface RequestContext {
  /** Route template. */
  route: string;
  method: string;
  status: number;
  service?: string;
}

export function requestContext(e: AccessEvent): RequestContext {
  return { route: e.route, method: e.method, status: e.status, ...(e.service !== undefined ? { service: e.service } : {}) };
}

export interface EntityPart {
  ts: number;
  request_id: string;
  role: EntityRole;
  /** The role's features, in the order of FeatureExtractor.slots(role). */
  v: number[];
}

/** Only the trace context travels from an input record to what is derived from it. */
export function traceHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers.traceparent !== undefined) out.traceparent = headers.traceparent;
  if (headers.tracestate !== undefined) out.tracestate = headers.tracestate;
  return out;
}

/**
 * A feature vector as the plain array a FeatureRecord carries. A counted loop: Array.from walks a typed array with
 * its iterator, one result object per element — 18 % of everything replay allocated, measured.
 */
export function vectorValues(vector: ArrayLike<number>): number[] {
  const out = new Array<number>(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = vector[i] as number;
  return out;
}
