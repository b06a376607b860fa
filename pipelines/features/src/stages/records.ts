// What the online feature stages exchange on Kafka.
//
// vigil.access.by-entity (written by ingest, key = entity key such as "ip:…", "user:…", "tenant"): the access event
// again, with the role it plays in the ROLE_HEADER. The entity stage computes that role's features.
// vigil.access.by-principal (key = principal): the access events from ingest and, from the entity stage, each
// event's entity parts (KIND_HEADER = "part", value EntityPart) — keyed by the event's principal, so a request's
// parts land in the partition that owns the request.
// vigil.features (key = principal): one FeatureRecord per request, all features, once every part has joined.
import {
  type AccessEvent,
  decodeJson,
  expectArray,
  expectNumber,
  expectObject,
  expectString,
  InvalidRecordError,
  type Principal,
} from '@vigil/events';
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
  return {
    route: e.route,
    method: e.method,
    status: e.status,
    ...(e.service !== undefined ? { service: e.service } : {}),
  };
}

export interface EntityPart {
  ts: number;
  request_id: string;
  role: EntityRole;
  /** The role's features, in the order of FeatureExtractor.positions(role). */
  v: number[];
}

/** An entity part from the keyed topic (written by the entity stage); throws InvalidRecordError when it is not one. */
export function decodeEntityPart(value: Buffer, roles: ReadonlySet<string>): EntityPart {
  const o = expectObject(decodeJson(value), 'part');
  expectNumber(o, 'ts');
  expectString(o, 'request_id');
  if (!roles.has(o.role as string)) throw new InvalidRecordError('role: not an entity role');
  expectArray(o, 'v');
  return o as unknown as EntityPart;
}

/** A feature record from the features topic; throws InvalidRecordError when it is not one. */
export function decodeFeatureRecord(value: Buffer): FeatureRecord {
  const o = expectObject(decodeJson(value), 'feature record');
  expectNumber(o, 'ts');
  for (const key of ['request_id', 'principal', 'schema']) expectString(o, key);
  const v = expectArray(o, 'v');
  for (const x of v) if (typeof x !== 'number') throw new InvalidRecordError('v: not an array of numbers');
  if (o.ids !== undefined) expectObject(o.ids, 'ids');
  if (o.ctx !== undefined) {
    const ctx = expectObject(o.ctx, 'ctx');
    expectString(ctx, 'route');
    expectString(ctx, 'method');
    expectNumber(ctx, 'status');
  }
  return o as unknown as FeatureRecord;
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
