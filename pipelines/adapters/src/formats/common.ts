// Building blocks the format mappers share: lenient field readers for what gateways really write (numbers as
// strings, "-" for empty), zod issue → reason code, and the assembly of the canonical event.
import type { AccessEvent, Login, Principal, ReasonCode, TokenClaims, Transaction } from '@vigil/events';
import { z } from 'zod';
import type { AdapterOptions, MapResult } from '../adapter.js';
import { credentialFromAuthorization } from '../secrets/credentials.js';

/** nginx writes "-" (escape=default) or "" (escape=json) for an unset variable; HAProxy writes "-" too. */
const isUnset = (v: unknown) => v === null || v === undefined || v === '' || v === '-';

// The readers below are single zod transforms that check the value and report an issue themselves. The obvious
// z.preprocess(…, z.string().optional()) is a pipe of two schemas, and a pipe allocates per field and record: with
// ~25 such fields in a Kong record, zod was 45 % of what replay allocated and 9 % of its time (measured).

type Read<T> = T | undefined | typeof INVALID | typeof TOO_LONG;
const INVALID = Symbol('invalid');
const TOO_LONG = Symbol('too long');
const MAX_ID = 512;
const NUMERIC = /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/;

/** A transform that reads a value or, when `read` says INVALID, reports it as not of the type `expected`. */
function check<T>(expected: 'string' | 'number' | 'record', read: (v: unknown) => Read<T>) {
  return z.transform((v: unknown, ctx): T | undefined => {
    const out = read(v);
    if (out === INVALID) ctx.issues.push({ code: 'invalid_type', expected, input: v });
    else if (out === TOO_LONG) ctx.issues.push({ code: 'too_big', origin: 'string', maximum: MAX_ID, input: v });
    else return out;
    return z.NEVER;
  });
}

/** An optional field read by `read` (a missing key stays missing: `read` never sees undefined). */
const reader = <T>(expected: 'string' | 'number' | 'record', read: (v: unknown) => Read<T>) =>
  check(expected, read).optional();

/** A number, or a string holding one (" 200", "0.000"); unset values read as absent. */
export const looseNumber = reader<number>('number', (v) => {
  if (isUnset(v)) return undefined;
  const n = typeof v === 'string' && NUMERIC.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : INVALID;
});
export const looseString = reader<string>('string', (v) =>
  isUnset(v) ? undefined : typeof v === 'string' ? v : INVALID,
);
/** A string or number id (Kong and Envoy write both); kept as text, at most 512 characters. */
export const looseId = reader<string>('string', (v) => {
  if (isUnset(v)) return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : INVALID;
  if (typeof v !== 'string') return INVALID;
  return v.length <= MAX_ID ? v : TOO_LONG;
});
/** Any object; maps over headers/querystrings are read by name, never copied (a z.record copies every key). */
export const looseRecord = reader<Record<string, unknown>>('record', (v) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : INVALID,
);
/** Required timestamp field in any shape parseTimestamp understands. */
export const timestampField = check<number | string>('number', (v) =>
  typeof v === 'number' || typeof v === 'string' ? v : INVALID,
);

/** The value at a zod issue path, to tell a missing field from a mistyped one. */
function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let v = input;
  for (const key of path) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

export function zodFailure(
  error: z.ZodError,
  input: unknown,
  prefix?: string,
): { ok: false; reason: ReasonCode; detail: string } {
  const issue = error.issues[0];
  if (!issue) return { ok: false, reason: 'invalid_field', detail: 'record does not match the format' };
  const path = [...(prefix === undefined ? [] : [prefix]), ...issue.path.map(String)].join('.') || '(record)';
  // The detail names a path and an expectation only: never a value, which could be a credential.
  const value = valueAt(input, issue.path);
  if (value === undefined || value === null) {
    return { ok: false, reason: 'missing_field', detail: `${path}: required` };
  }
  const expected = issue.code === 'invalid_type' ? `expected ${issue.expected}` : issue.code;
  return { ok: false, reason: 'invalid_field', detail: `${path}: ${expected}` };
}

/** Case-insensitive header lookup; first value when a header was logged as an array. */
export function header(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() !== name) continue;
    const v = headers[key];
    const first = Array.isArray(v) ? v[0] : v;
    return typeof first === 'string' ? first : undefined;
  }
  return undefined;
}

/** Splits "/a/b?x=1&y" into the path and the names of its query parameters. Values are dropped: they may be tokens. */
export function splitUri(uri: string): { path: string; queryKeys: string[]; query: URLSearchParams | undefined } {
  let rest = uri;
  // Absolute-form request targets ("http://host/path") keep only the path.
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length) || '/';
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  if (q < 0) return { path: rest || '/', queryKeys: [], query: undefined };
  const query = new URLSearchParams(rest.slice(q + 1));
  const keys = [...new Set(query.keys())].slice(0, 64).map((k) => k.slice(0, 256));
  return { path: rest.slice(0, q) || '/', queryKeys: keys, query };
}

/** Query parameters that carry credentials: fingerprinted like a bearer token, never kept. */
const QUERY_CREDENTIALS = ['access_token', 'id_token', 'token', 'api_key', 'apikey'];

export function queryCredential(query: URLSearchParams | Record<string, unknown> | undefined): string | undefined {
  if (!query) return undefined;
  for (const name of QUERY_CREDENTIALS) {
    const v = query instanceof URLSearchParams ? query.get(name) : query[name];
    if (typeof v === 'string' && v.length > 0) return v;
  }
  return undefined;
}

/** Claims the gateway logged itself (the recommended set-up): a flat object of sub/jti/…/token_fingerprint. */
export const gatewayClaimsSchema = z
  .object({
    sub: looseId,
    jti: looseId,
    sid: looseId,
    iat: looseNumber,
    exp: looseNumber,
    client_id: looseId,
    azp: looseId,
    // HAProxy's template writes "v1:-" when the request carried no token.
    token_fingerprint: reader<string>('string', (v) => {
      if (isUnset(v) || (typeof v === 'string' && /^v\d+:-?$/.test(v))) return undefined;
      return typeof v === 'string' && /^v\d+:[0-9a-f]{64}$/.test(v) ? v : INVALID;
    }),
  })
  .optional();
export type GatewayClaims = z.infer<typeof gatewayClaimsSchema>;

export const txSchema = z
  .object({
    amount: looseNumber,
    currency: looseString,
    payee_id: looseId,
    account_id: looseId,
  })
  .optional();

export interface EventDraft {
  ts: number | undefined;
  requestId: string | undefined;
  method: string;
  uri: string;
  status: number;
  clientIp: string;
  latencyMs?: number | undefined;
  bytesIn?: number | undefined;
  bytesOut?: number | undefined;
  userAgent?: string | undefined;
  host?: string | undefined;
  service?: string | undefined;
  tlsClientFingerprint?: string | undefined;
  /**
   * Raw credentials seen in the record (Authorization header value, API key); fingerprinted here, placeholders such as
   * "REDACTED" ignored.
   */
  credentials: (string | undefined)[];
  claims?: GatewayClaims;
  principal?: Omit<Principal, 'client_ip'>;
  login?: Login | undefined;
  tx?: z.infer<typeof txSchema>;
}

const stripPort = (address: string) => {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) return bracketed[1] ?? address;
  // One colon: IPv4 with a port. Several: a bare IPv6 address, which has no port to strip.
  const colon = address.indexOf(':');
  return colon > 0 && colon === address.lastIndexOf(':') ? address.slice(0, colon) : address;
};

/** Assembles and checks the canonical event; the last step of every format mapper. */
export function buildEvent(
  format: AccessEvent['gateway'],
  draft: EventDraft,
  options: AdapterOptions,
  fallbackId: () => string,
): MapResult {
  if (draft.ts === undefined) return invalid('timestamp: unrecognised format');
  const clientIp = stripPort(draft.clientIp.trim());
  const problem = fieldProblem(draft, clientIp);
  if (problem !== undefined) return invalid(problem);
  const { path, queryKeys, query } = splitUri(draft.uri);
  if (path.length > 8192) return invalid('path: longer than 8192 characters');
  const { route, objectIds } = options.routes.match(path);

  const principal = assemblePrincipal(draft, query, clientIp, options);

  const event: AccessEvent = {
    ts: draft.ts,
    request_id: (draft.requestId ?? '').slice(0, 256) || fallbackId(),
    gateway: format,
    method: draft.method.toUpperCase(),
    path,
    route,
    object_ids: objectIds.slice(0, 64),
    query_keys: queryKeys,
    status: draft.status,
    client_ip: clientIp,
    principal,
  };
  addOptionalFields(event, draft);
  return { ok: true, event };
}

const invalid = (detail: string): MapResult => ({ ok: false, reason: 'invalid_field', detail });

/** What is wrong with the draft's address, method or status, if anything. */
function fieldProblem(draft: EventDraft, clientIp: string): string | undefined {
  if (clientIp === '' || clientIp.length > 64) return 'client address: empty or too long';
  if (!/^[A-Z]{1,16}$/i.test(draft.method)) return 'method: not an HTTP method';
  if (!Number.isInteger(draft.status) || draft.status < 0 || draft.status > 999) return 'status: not an HTTP status';
  return undefined;
}

/** The fields a gateway may leave out, each bounded, set only when present (one object shape per present set). */
function addOptionalFields(event: AccessEvent, draft: EventDraft): void {
  if (draft.latencyMs !== undefined && draft.latencyMs >= 0) event.latency_ms = draft.latencyMs;
  if (draft.bytesIn !== undefined && draft.bytesIn >= 0) event.bytes_in = Math.round(draft.bytesIn);
  if (draft.bytesOut !== undefined && draft.bytesOut >= 0) event.bytes_out = Math.round(draft.bytesOut);
  if (draft.userAgent !== undefined) event.user_agent = draft.userAgent.slice(0, 1024);
  if (draft.host !== undefined) event.host = draft.host.slice(0, 512);
  if (draft.service !== undefined) event.service = draft.service.slice(0, 256);
  if (draft.tlsClientFingerprint !== undefined) event.tls_client_fingerprint = draft.tlsClientFingerprint.slice(0, 256);
  const login = draft.login && compact(draft.login);
  if (login && Object.keys(login).length > 0) event.login = login;
  const tx = draft.tx;
  if (tx && tx.amount !== undefined) {
    const t: Transaction = { amount: tx.amount };
    if (tx.currency !== undefined) t.currency = tx.currency.slice(0, 8);
    if (tx.payee_id !== undefined) t.payee_id = tx.payee_id;
    if (tx.account_id !== undefined) t.account_id = tx.account_id;
    event.tx = t;
  }
}

/**
 * The principal with every known identifier. Claims the gateway logged win over decoded ones (the gateway verified
 * the token, vigil only decodes). Keys are set in one fixed order so every event shares one object shape — this
 * runs for every record, and shape churn made it the adapters' hottest line.
 */
function assemblePrincipal(
  draft: EventDraft,
  query: URLSearchParams | undefined,
  clientIp: string,
  options: AdapterOptions,
): Principal {
  const p = draft.principal;
  const c = draft.claims;
  let decoded: TokenClaims | undefined;
  let fingerprinted: string | undefined;
  for (const raw of [...draft.credentials, queryCredential(query)]) {
    const credential = credentialFromAuthorization(raw);
    if (credential === undefined) continue;
    const facts = options.credentials.facts(credential);
    fingerprinted ??= facts.fingerprint;
    decoded ??= facts.claims;
  }
  const iat = c?.iat ?? decoded?.iat;
  const exp = c?.exp ?? decoded?.exp;
  const out: Principal = {};
  setIf(out, 'sub', c?.sub ?? decoded?.sub);
  setIf(out, 'jti', c?.jti ?? decoded?.jti);
  setIf(out, 'sid', c?.sid ?? decoded?.sid);
  setIf(out, 'iat', iat === undefined ? undefined : Math.floor(iat));
  setIf(out, 'exp', exp === undefined ? undefined : Math.floor(exp));
  setIf(out, 'client_id', c?.client_id ?? c?.azp ?? decoded?.client_id);
  setIf(out, 'consumer_id', p?.consumer_id);
  setIf(out, 'credential_id', p?.credential_id);
  setIf(out, 'username', p?.username ?? draft.login?.username);
  setIf(out, 'token_fingerprint', c?.token_fingerprint ?? fingerprinted);
  out.client_ip = clientIp;
  return out;
}

function setIf<K extends keyof Principal>(o: Principal, key: K, value: Principal[K] | undefined): void {
  if (value !== undefined && value !== '') o[key] = value;
}

/** Drops keys whose value is undefined or empty, so events serialise the same whichever path built them. */
export function compact<T extends object>(o: T): T {
  const out = {} as T;
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined && v !== '') (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/**
 * Fields the gateway configs of docs/gateways.md add to any format: claims logged by the gateway, a login username, a
 * payment.
 */
export const customFieldShapes = () => ({
  auth: gatewayClaimsSchema,
  username: looseString,
  tx: txSchema,
});

/** Method and target of a request line ("GET /p?q=1 HTTP/1.1"), filling only what the record lacks. */
export function fromRequestLine(
  line: string | undefined,
  method: string | undefined,
  uri: string | undefined,
): { method: string | undefined; uri: string | undefined } {
  if ((method !== undefined && uri !== undefined) || line === undefined) return { method, uri };
  const [m, u] = line.split(' ');
  return { method: method ?? m, uri: uri ?? u };
}
