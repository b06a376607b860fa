// What a dead letter keeps of the record it stands for. Safe by construction rather than by a list of secret names
// (x-api-key, ocp-apim-subscription-key, X-Amz-Signature, passphrase, private_key … there is always one more): the
// record's structure stays, a short list of fields vigil allows by name keeps its value when the value also has the
// shape that field should have (a method, a status, a size, a time, an address, a protocol), URIs are reduced to
// their route template, and every other value becomes its type, length and HMAC fingerprint. The fingerprint uses
// the deployment's pepper, so an operator can still match a dead-lettered value against one they hold, and nobody
// without the pepper can recover it. Iterative throughout: the record can be as deep as the adapter allows.
import { createHmac } from 'node:crypto';
import type { Pepper, RedactedOriginal, RedactedValue } from '@vigil/events';
import { FORBIDDEN_KEYS, jsonDepth } from '../json-limits.js';
import { looksLikeId, type RouteTemplater } from '../route/template.js';

export interface RedactOptions {
  pepper: Pepper;
  routes: RouteTemplater;
  maxRecordBytes: number;
  maxDepth: number;
  /** Values (strings, numbers, keys) kept or fingerprinted before the whole record is fingerprinted instead. */
  maxValues?: number;
}

const METHOD =
  /^(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|CONNECT|PROPFIND|PROPPATCH|MKCOL|COPY|MOVE|LOCK|UNLOCK|QUERY)$/;
const STATUS = /^[1-5]\d{2}$/;
const DIGITS = /^\d{1,15}$/;
/** ISO 8601 and epoch forms: digits first, then only date and time punctuation (no letters but T and Z). */
const TIME_TEXT = /^\d[\dTZ:.+\-/ ]{3,39}$/;
/** nginx's $time_local, "10/Oct/2000:13:55:36 -0700". */
const TIME_LOCAL = /^\d{2}\/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}$/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?$/;
const IPV6 = /^\[?[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?:%[0-9A-Za-z]{1,16})?\]?(?::\d{1,5})?$/;
const PROTOCOL = /^(?:HTTP\/[0-9.]{1,3}|https?|h2c?|h3|grpc|ws|wss)$/i;
/**
 * A path segment kept in a template: a word (letters, _ and -), a version marker, or the templater's placeholder.
 * Credentials carry digits or punctuation; a word-only password used as a path segment is the one shape kept.
 */
const SAFE_SEGMENT = /^(?:[A-Za-z][A-Za-z_-]{0,31}|v\d{1,2}|\{[A-Za-z0-9_]{1,40}\})$/;
/** A key kept as written (letters and punctuation only); anything else (a token used as a query key, say) is
 * fingerprinted like a value — a header name with a digit (x-b3-traceid) included. */
const SAFE_KEY = /^[A-Za-z_@:][A-Za-z_.@:-]{0,47}$/;

type Kind = 'method' | 'status' | 'size' | 'time' | 'address' | 'protocol' | 'route';

/** Fields kept by name (lower-cased), each with the shapes its value may have to be kept. */
const ALLOWED: Record<string, Kind[]> = Object.create(null);
const allow = (kind: Kind, names: string[]) => {
  for (const n of names) ALLOWED[n] = [...(ALLOWED[n] ?? []), kind];
};
allow('method', ['method', 'request_method', 'http_method', ':method']);
allow('status', ['status', 'upstream_status', 'response_code', 'status_code']);
allow('size', [
  'size',
  'bytes_sent',
  'body_bytes_sent',
  'request_length',
  'bytes_received',
  'request_size',
  'response_size',
  'content-length',
  'bytes_read',
  'bytes_uploaded',
  'bytes_downloaded',
]);
allow('time', [
  'started_at',
  'start_time',
  'timestamp',
  '@timestamp',
  'time',
  'ts',
  'time_local',
  'time_iso8601',
  'msec',
  'request_time',
  'upstream_response_time',
  'upstream_connect_time',
  'duration',
  'kong',
  'proxy',
  'receive',
  'latency_ms',
  // Kong's latencies.request; a number is a duration there, a string is nginx's request line (below).
  'request',
]);
allow('address', [
  'client_ip',
  'remote_addr',
  'realip_remote_addr',
  'upstream_addr',
  'server_addr',
  'downstream_remote_address',
  'downstream_local_address',
  'downstream_direct_remote_address',
  'upstream_host',
  'upstream_local_address',
  'x-forwarded-for',
  'x-real-ip',
  'ip',
]);
allow('protocol', ['protocol', 'scheme', 'server_protocol']);
// `request` is Kong's request object (walked like any object) but nginx's request line when it is a string.
allow('route', ['uri', 'url', 'request_uri', 'path', 'upstream_uri', 'request', ':path', 'x-envoy-original-path']);

/** The path of a URI or request target reduced to a template whose every segment is a word or a placeholder. */
export function routeTemplate(uri: string, routes: RouteTemplater): string {
  let path = uri;
  const scheme = path.indexOf('://');
  if (scheme >= 0) {
    const slash = path.indexOf('/', scheme + 3);
    path = slash < 0 ? '/' : path.slice(slash);
  }
  const cut = path.search(/[?#;]/);
  if (cut >= 0) path = path.slice(0, cut);
  if (!path.startsWith('/')) return '{redacted}';
  const { route } = routes.match(path);
  return route
    .split('/')
    .map((s) => (s === '' || SAFE_SEGMENT.test(s) ? s : looksLikeId(s) ? '{id}' : '{redacted}'))
    .join('/');
}

function keepAs(kinds: Kind[], value: string | number, routes: RouteTemplater): string | number | undefined {
  for (const kind of kinds) {
    const kept = keep(kind, value, routes);
    if (kept !== undefined) return kept;
  }
  return undefined;
}

function keep(kind: Kind, value: string | number, routes: RouteTemplater): string | number | undefined {
  return typeof value === 'number' ? keepNumber(kind, value) : keepText(kind, value, routes);
}

/** A number is kept as a status, a size or a time, when it is one. */
function keepNumber(kind: Kind, value: number): number | undefined {
  if (!Number.isFinite(value)) return undefined;
  if (kind === 'status') return Number.isInteger(value) && value >= 100 && value < 600 ? value : undefined;
  return kind === 'size' || kind === 'time' ? value : undefined;
}

/** A string is kept when it has the shape of its kind (a route as its template). */
function keepText(kind: Kind, value: string, routes: RouteTemplater): string | undefined {
  switch (kind) {
    case 'method':
      return METHOD.test(value) ? value : undefined;
    case 'status':
      return STATUS.test(value) ? value : undefined;
    case 'size':
      return DIGITS.test(value) ? value : undefined;
    case 'time':
      return TIME_TEXT.test(value) || TIME_LOCAL.test(value) ? value : undefined;
    case 'address': {
      const parts = value.split(/,\s*/);
      return parts.length <= 8 && parts.every((p) => IPV4.test(p) || IPV6.test(p)) ? value : undefined;
    }
    case 'protocol':
      return PROTOCOL.test(value) ? value : undefined;
    case 'route': {
      // nginx's request line: "GET /path?query HTTP/1.1".
      const line = value.split(' ');
      if (line.length === 3 && METHOD.test(line[0] ?? '') && PROTOCOL.test(line[2] ?? ''))
        return `${line[0]} ${routeTemplate(line[1] ?? '', routes)} ${line[2]}`;
      return routeTemplate(value, routes);
    }
  }
}

/** Redacts one input record; never throws. */
export function redactOriginal(input: Uint8Array | string, options: RedactOptions): RedactedOriginal {
  const bytes =
    typeof input === 'string'
      ? Buffer.from(input, 'utf8')
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const hmac = (data: string | Buffer) =>
    `v${options.pepper.version}:${createHmac('sha256', options.pepper.secret).update(data).digest('hex')}`;
  const whole = (): Extract<RedactedOriginal, { redacted: 'text' }> => ({
    redacted: 'text',
    length: bytes.length,
    hmac: hmac(bytes),
  });
  const parsed = parseWithin(bytes, options);
  if (parsed === undefined) return whole();
  const value = redactJson(parsed.value, options, hmac);
  return value === TRUNCATED ? { ...whole(), truncated: true } : { redacted: 'json', value };
}

/** The record's JSON when it is within the limits and parses; undefined when only a digest of the whole can be kept. */
function parseWithin(bytes: Buffer, options: RedactOptions): { value: unknown } | undefined {
  if (bytes.length > options.maxRecordBytes) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  if (jsonDepth(text, options.maxDepth) > options.maxDepth) return undefined;
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

const TRUNCATED = Symbol('truncated');

/** One value to copy into its slot of the output, with the kinds its key allows. */
type Work = { value: unknown; kind: Kind[] | undefined; put: (v: unknown) => void };

/**
 * A parsed record with every value not allowed by name and shape replaced by its type, length and HMAC, and unsafe
 * keys by their HMAC; TRUNCATED past `maxValues` values. Iterative: each work item copies one value into its slot of
 * the output, and containers push their children.
 */
function redactJson(
  parsed: unknown,
  options: RedactOptions,
  hmac: (data: string | Buffer) => string,
): unknown | typeof TRUNCATED {
  const leaf = (kind: Kind[] | undefined, v: string | number): unknown => {
    const kept = kind === undefined ? undefined : keepAs(kind, v, options.routes);
    if (kept !== undefined) return kept;
    const text = String(v);
    const redacted: RedactedValue = {
      redacted: typeof v === 'string' ? 'string' : 'number',
      length: text.length,
      hmac: hmac(text),
    };
    return redacted;
  };
  const safeKey = (key: string) =>
    SAFE_KEY.test(key) && !FORBIDDEN_KEYS.has(key) ? key : `~${hmac(key).slice(3, 19)}`;
  let budget = options.maxValues ?? 4096;
  const root: { value?: unknown } = {};
  const stack: Work[] = [{ value: parsed, kind: undefined, put: (v) => (root.value = v) }];
  while (stack.length > 0) {
    const item = stack.pop() as Work;
    const v = item.value;
    if (--budget < 0) return TRUNCATED;
    if (v === null || typeof v === 'boolean') item.put(v);
    else if (typeof v === 'string' || typeof v === 'number') item.put(leaf(item.kind, v));
    else if (typeof v === 'object') pushChildren(item, v, stack, safeKey);
  }
  return root.value;
}

/** Puts an empty copy of a container in the item's slot and pushes its children, to fill it in input order. */
function pushChildren(item: Work, v: object, stack: Work[], safeKey: (key: string) => string): void {
  if (Array.isArray(v)) {
    const out: unknown[] = new Array(v.length);
    item.put(out);
    for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], kind: item.kind, put: (x) => (out[i] = x) });
    return;
  }
  // A null prototype: a "__proto__" key in the input must stay a plain key of the output.
  const out: Record<string, unknown> = Object.create(null);
  item.put(out);
  const entries = Object.keys(v);
  for (let i = entries.length - 1; i >= 0; i--) {
    const key = entries[i] as string;
    const name = safeKey(key);
    stack.push({
      value: (v as Record<string, unknown>)[key],
      kind: ALLOWED[key.toLowerCase()],
      put: (x) => (out[name] = x),
    });
  }
}
