// The access event on vigil's internal topics (keyed by principal, keyed by entity): a binary record, a little over
// half the bytes of its JSON (measured: BENCHMARKS.md, bench:codec). Version 1:
//
//   u8 0xa5 (BINARY_MAGIC), u8 1 (BinaryKind.AccessEvent), u8 version, then
//   ts f64, request_id, gateway u8 (index in GATEWAY_FORMATS), method, path, route, object_ids, query_keys,
//   status varint, client_ip, principal, then a varint mask of the optional fields present (bit 0 latency_ms, 1
//   bytes_in, 2 bytes_out, 3 user_agent, 4 host, 5 service, 6 tls_client_fingerprint, 7 login, 8 tx) and each
//   present one in that order; principal, login and tx: a mask of their fields (bits in the schema's order), then
//   each present one (tx: amount f64 first, always; iat and exp f64).
//   Strings: varint UTF-8 length, then the bytes; lists: varint count, then each; other numbers f64 (little-endian).
//   Varints as protobuf's: 7 bits a byte, low bits first.
//
// Written out by hand, field by field: a loop over a field table read each field by a computed name, V8's slowest
// kind of property access, and wrote ~25 % slower than JSON.stringify; this is on par with it. Fields are read back
// in the order the adapters set them (adapters' buildEvent), so a decoded event has the keys, the key order and the
// object shape of one an adapter built. The test builds an event with every field of the zod schema and fails when
// one does not come back: a new field needs its place here (at the end of its mask, with the version raised; readers
// keep taking every earlier version). Records written as JSON by an earlier vigil (first byte `{`) are still read,
// checked as before.
import { type ByteReader, ByteWriter, StringInterner } from '@vigil/core';
import type { AccessEvent, Login, Principal, Transaction } from './access-event.js';
import { GATEWAY_FORMATS } from './access-event.js';
import { decodeAccessEvent, InvalidRecordError } from './codec.js';
import { BinaryKind, readBinary, startBinary, type TopicCodec, writtenAsJson } from './topic-codec.js';

const VERSION = 1;

const GATEWAY_INDEX = new Map<string, number>(GATEWAY_FORMATS.map((g, i) => [g, i]));

const fail = (detail: string): never => {
  throw new InvalidRecordError(`access event: ${detail}`);
};

function writeStrings(w: ByteWriter, list: readonly string[]) {
  w.uvar(list.length);
  for (const s of list) w.vstr(s);
}

function readStrings(r: ByteReader, what: string): string[] {
  const n = r.uvar();
  if (!(n <= r.buf.length - r.pos)) return fail(`${what}: truncated`);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = r.vstr();
  return out;
}

const status = (v: number) => (Number.isInteger(v) && v <= 999 ? v : fail('status: not an HTTP status'));
/** A mask with a bit this version does not define: corruption (a later version raises the version too). */
const known = (mask: number, bits: number, what: string) =>
  mask < 2 ** bits ? mask : fail(`${what}: a field this version does not know`);
const finite = (v: number, what: string) => (Number.isFinite(v) ? v : fail(`${what}: not a finite number`));
const nonEmpty = (s: string, what: string) => (s.length > 0 ? s : fail(`${what}: empty`));

function writePrincipal(w: ByteWriter, p: Principal) {
  w.uvar(
    (p.sub !== undefined ? 1 : 0) |
      (p.jti !== undefined ? 2 : 0) |
      (p.sid !== undefined ? 4 : 0) |
      (p.iat !== undefined ? 8 : 0) |
      (p.exp !== undefined ? 16 : 0) |
      (p.client_id !== undefined ? 32 : 0) |
      (p.consumer_id !== undefined ? 64 : 0) |
      (p.credential_id !== undefined ? 128 : 0) |
      (p.username !== undefined ? 256 : 0) |
      (p.token_fingerprint !== undefined ? 512 : 0) |
      (p.client_ip !== undefined ? 1024 : 0),
  );
  if (p.sub !== undefined) w.vstr(p.sub);
  if (p.jti !== undefined) w.vstr(p.jti);
  if (p.sid !== undefined) w.vstr(p.sid);
  if (p.iat !== undefined) w.f64(p.iat);
  if (p.exp !== undefined) w.f64(p.exp);
  if (p.client_id !== undefined) w.vstr(p.client_id);
  if (p.consumer_id !== undefined) w.vstr(p.consumer_id);
  if (p.credential_id !== undefined) w.vstr(p.credential_id);
  if (p.username !== undefined) w.vstr(p.username);
  if (p.token_fingerprint !== undefined) w.vstr(p.token_fingerprint);
  if (p.client_ip !== undefined) w.vstr(p.client_ip);
}

function readPrincipal(r: ByteReader): Principal {
  const mask = known(r.uvar(), 11, 'principal');
  const p: Principal = {};
  if (mask & 1) p.sub = nonEmpty(r.vstr(), 'sub');
  if (mask & 2) p.jti = nonEmpty(r.vstr(), 'jti');
  if (mask & 4) p.sid = nonEmpty(r.vstr(), 'sid');
  if (mask & 8) p.iat = finite(r.f64(), 'iat');
  if (mask & 16) p.exp = finite(r.f64(), 'exp');
  if (mask & 32) p.client_id = nonEmpty(r.vstr(), 'client_id');
  if (mask & 64) p.consumer_id = nonEmpty(r.vstr(), 'consumer_id');
  if (mask & 128) p.credential_id = nonEmpty(r.vstr(), 'credential_id');
  if (mask & 256) p.username = nonEmpty(r.vstr(), 'username');
  if (mask & 512) p.token_fingerprint = nonEmpty(r.vstr(), 'token_fingerprint');
  if (mask & 1024) p.client_ip = nonEmpty(r.vstr(), 'client_ip');
  return p;
}

function writeLogin(w: ByteWriter, l: Login) {
  w.uvar(
    (l.username !== undefined ? 1 : 0) | (l.grant_type !== undefined ? 2 : 0) | (l.client_id !== undefined ? 4 : 0),
  );
  if (l.username !== undefined) w.vstr(l.username);
  if (l.grant_type !== undefined) w.vstr(l.grant_type);
  if (l.client_id !== undefined) w.vstr(l.client_id);
}

function readLogin(r: ByteReader): Login {
  const mask = known(r.uvar(), 3, 'login');
  const l: Login = {};
  if (mask & 1) l.username = r.vstr();
  if (mask & 2) l.grant_type = r.vstr();
  if (mask & 4) l.client_id = r.vstr();
  return l;
}

function writeTx(w: ByteWriter, t: Transaction) {
  w.uvar(
    (t.currency !== undefined ? 1 : 0) | (t.payee_id !== undefined ? 2 : 0) | (t.account_id !== undefined ? 4 : 0),
  );
  w.f64(t.amount);
  if (t.currency !== undefined) w.vstr(t.currency);
  if (t.payee_id !== undefined) w.vstr(t.payee_id);
  if (t.account_id !== undefined) w.vstr(t.account_id);
}

function readTx(r: ByteReader): Transaction {
  const mask = known(r.uvar(), 3, 'tx');
  const t: Transaction = { amount: finite(r.f64(), 'amount') };
  if (mask & 1) t.currency = r.vstr();
  if (mask & 2) t.payee_id = r.vstr();
  if (mask & 4) t.account_id = r.vstr();
  return t;
}

/** The mask of the event's optional fields present (bit order: the header). */
function optionalMask(e: AccessEvent): number {
  return (
    (e.latency_ms !== undefined ? 1 : 0) |
    (e.bytes_in !== undefined ? 2 : 0) |
    (e.bytes_out !== undefined ? 4 : 0) |
    (e.user_agent !== undefined ? 8 : 0) |
    (e.host !== undefined ? 16 : 0) |
    (e.service !== undefined ? 32 : 0) |
    (e.tls_client_fingerprint !== undefined ? 64 : 0) |
    (e.login !== undefined ? 128 : 0) |
    (e.tx !== undefined ? 256 : 0)
  );
}

const unknownGateway = (g: string): never => {
  throw new Error(`access event from gateway format ${JSON.stringify(g)}, not one of GATEWAY_FORMATS`);
};

const unknownStatus = (s: number): never => {
  throw new Error(`access event with status ${s}: only validated events go to vigil's topics`);
};

const writer = new ByteWriter();
/** Short values events repeat (methods, routes, client ids, hosts), read once (the first 4,096 distinct ones). */
const VALUES = new StringInterner();

export function encodeAccessEvent(e: AccessEvent): Buffer {
  const w = startBinary(writer, BinaryKind.AccessEvent, VERSION);
  w.f64(e.ts);
  w.vstr(e.request_id);
  w.u8(GATEWAY_INDEX.get(e.gateway) ?? unknownGateway(e.gateway));
  w.vstr(e.method);
  w.vstr(e.path);
  w.vstr(e.route);
  writeStrings(w, e.object_ids);
  writeStrings(w, e.query_keys);
  w.uvar(Number.isInteger(e.status) && e.status >= 0 && e.status <= 999 ? e.status : unknownStatus(e.status));
  w.vstr(e.client_ip);
  writePrincipal(w, e.principal);
  w.uvar(optionalMask(e));
  if (e.latency_ms !== undefined) w.f64(e.latency_ms);
  if (e.bytes_in !== undefined) w.f64(e.bytes_in);
  if (e.bytes_out !== undefined) w.f64(e.bytes_out);
  if (e.user_agent !== undefined) w.vstr(e.user_agent);
  if (e.host !== undefined) w.vstr(e.host);
  if (e.service !== undefined) w.vstr(e.service);
  if (e.tls_client_fingerprint !== undefined) w.vstr(e.tls_client_fingerprint);
  if (e.login !== undefined) writeLogin(w, e.login);
  if (e.tx !== undefined) writeTx(w, e.tx);
  return w.finish();
}

function readEvent(r: ByteReader): AccessEvent {
  const e: AccessEvent = {
    ts: finite(r.f64(), 'ts'),
    request_id: nonEmpty(r.vstr(), 'request_id'),
    gateway: GATEWAY_FORMATS[r.u8()] ?? fail('gateway: unknown format'),
    method: nonEmpty(r.vstr(), 'method'),
    path: nonEmpty(r.vstr(), 'path'),
    route: nonEmpty(r.vstr(), 'route'),
    object_ids: readStrings(r, 'object_ids'),
    query_keys: readStrings(r, 'query_keys'),
    status: status(r.uvar()),
    client_ip: nonEmpty(r.vstr(), 'client_ip'),
    principal: readPrincipal(r),
  };
  const mask = known(r.uvar(), 9, 'event');
  if (mask & 1) e.latency_ms = finite(r.f64(), 'latency_ms');
  if (mask & 2) e.bytes_in = finite(r.f64(), 'bytes_in');
  if (mask & 4) e.bytes_out = finite(r.f64(), 'bytes_out');
  if (mask & 8) e.user_agent = r.vstr();
  if (mask & 16) e.host = r.vstr();
  if (mask & 32) e.service = r.vstr();
  if (mask & 64) e.tls_client_fingerprint = r.vstr();
  if (mask & 128) e.login = readLogin(r);
  if (mask & 256) e.tx = readTx(r);
  return e;
}

const HEADER = { kind: BinaryKind.AccessEvent, name: 'access event', version: VERSION, interner: VALUES };

export function decodeBinaryAccessEvent(value: Buffer): AccessEvent {
  return readBinary(value, HEADER, readEvent);
}

/** The access event on vigil's internal topics: binary, and JSON as earlier versions wrote it. */
export const accessEventCodec: TopicCodec<AccessEvent> = {
  name: 'access event',
  format: 'binary',
  version: VERSION,
  encode: encodeAccessEvent,
  decode: (value) => (writtenAsJson(value) ? decodeAccessEvent(value) : decodeBinaryAccessEvent(value)),
};
