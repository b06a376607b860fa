// What the online feature stages exchange on Kafka.
//
// vigil.access.by-entity (written by ingest, key = entity key such as "ip:…", "user:…", "tenant"): the access event
// again, with the role it plays in the ROLE_HEADER. The entity stage computes that role's features.
// vigil.access.by-principal (key = principal): the access events from ingest and, from the entity stage, each
// event's entity parts (KIND_HEADER = "part", value EntityPart) — keyed by the event's principal, so a request's
// parts land in the partition that owns the request.
// vigil.features (key = principal): one FeatureRecord per request, all features, once every part has joined.
import { type ByteReader, ByteWriter, StringInterner } from '@vigil/core';
import {
  type AccessEvent,
  BinaryKind,
  decodeJson,
  expectArray,
  expectNumber,
  expectObject,
  expectString,
  InvalidRecordError,
  jsonCodec,
  type Principal,
  readBinary,
  startBinary,
  type TopicCodec,
  writtenAsJson,
} from '@vigil/events';
import type { EntityRole } from '../features/roles.js';

export const ROLE_HEADER = 'vigil-role';
export const KIND_HEADER = 'vigil-kind';
export const PART_KIND = 'part';
/**
 * The feature schema an entity part's values were computed in (schemaTag of its hash). The principal stage joins a
 * part only from its own schema: two schemas with as many of a role's features (a family's parameters changed, in a
 * rolling upgrade) would otherwise join values that mean something else. A header, not a field of the part's
 * record: a detector older than it ignores it and reads the part as before.
 */
export const SCHEMA_HEADER = 'vigil-schema';

/** A feature schema's hash, short: its first 48 bits in hex (what SCHEMA_HEADER carries). */
export function schemaTag(hash: string): string {
  return hash.replace(/^sha256:/, '').slice(0, 12);
}

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

/** An entity part from the keyed topic as JSON (what vigil wrote before the binary codec). */
function decodeJsonEntityPart(value: Buffer, roles: ReadonlySet<string>): EntityPart {
  const o = expectObject(decodeJson(value), 'part');
  expectNumber(o, 'ts');
  expectString(o, 'request_id');
  if (!roles.has(o.role as string)) throw new InvalidRecordError('role: not an entity role');
  expectArray(o, 'v');
  return o as unknown as EntityPart;
}

const PART_VERSION = 1;
const partWriter = new ByteWriter();
/** The roles, read once (request ids fill the rest and are then read anew). */
const PART_STRINGS = new StringInterner();

/**
 * Entity parts on the principal-keyed topic (only vigil reads them): binary, version 1 — u8 0xa5, u8 2
 * (BinaryKind.EntityPart), u8 version, f64 ts, request_id and role as strings (varint length, UTF-8), varint count,
 * the values as f64 (exact: the joined vector must equal the offline one bit for bit). JSON parts from an earlier vigil
 * are still read. `roles`: the roles a part may name.
 */
export function entityPartCodec(roles: ReadonlySet<string>): TopicCodec<EntityPart> {
  const fail = (detail: string): never => {
    throw new InvalidRecordError(`part: ${detail}`);
  };
  const header = { kind: BinaryKind.EntityPart, name: 'part', version: PART_VERSION, interner: PART_STRINGS };
  const readPart = (r: ByteReader): EntityPart => {
    const ts = r.f64();
    const request_id = r.vstr();
    const role = r.vstr() as EntityRole;
    const n = r.uvar();
    // Checked before the values are allocated: a corrupt count must not ask for a giant array.
    if (n * 8 !== r.end - r.pos) return fail('truncated or trailing bytes');
    const v = new Array<number>(n);
    for (let i = 0; i < n; i++) v[i] = r.f64();
    if (!Number.isFinite(ts)) fail('ts: not a finite number');
    if (request_id.length === 0) fail('request_id: empty');
    if (!roles.has(role)) fail('role: not an entity role');
    return { ts, request_id, role, v };
  };
  return {
    name: 'entity part',
    format: 'binary',
    version: PART_VERSION,
    encode: (part) => {
      const w = startBinary(partWriter, BinaryKind.EntityPart, PART_VERSION);
      w.f64(part.ts);
      w.vstr(part.request_id);
      w.vstr(part.role);
      w.uvar(part.v.length);
      for (const x of part.v) w.f64(x);
      return w.finish();
    },
    decode: (value) =>
      writtenAsJson(value) ? decodeJsonEntityPart(value, roles) : readBinary(value, header, readPart),
  };
}

/** A feature record from the features topic; throws InvalidRecordError when it is not one. */
function checkFeatureRecord(parsed: unknown): FeatureRecord {
  const o = expectObject(parsed, 'feature record');
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

/**
 * Feature records on vigil.features: documented JSON (the ClickHouse store, analysts' consumers and a separate
 * decision stage read them).
 */
export const featureRecordCodec: TopicCodec<FeatureRecord> = jsonCodec('feature record', checkFeatureRecord);

/** A feature record from the features topic; throws InvalidRecordError when it is not one. */
export const decodeFeatureRecord = (value: Buffer): FeatureRecord => featureRecordCodec.decode(value);

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
