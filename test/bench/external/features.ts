// Features for the external sets that are not tabular already.
//
// NAB (univariate series): windowed features in the spirit of vigil's request-velocity family
// (pipelines/features/src/features/velocity.ts: log counts over several windows and the log ratio of the latest
// window to the principal's own recent average). Per record, from that record and earlier ones only (streaming, as
// NAB requires), on ℓ = sign(v)·log(1 + |v|) of the value: the level ℓ; its mean over the last 6 and 36 records;
// the log ratio to the mean of the previous 12 and 144 records (ℓ minus that mean); the change from the previous
// record; and the spread (standard deviation) of the last 12. Windows count records, not minutes: NAB's series are
// sampled every 5, 10, 30 or 60 minutes, so "12 records" is an hour of a 5-minute series.
//
// CSIC 2010 (raw HTTP requests): each request goes through vigil's own canonical adapter (@vigil/adapters), and the
// features use only what the resulting AccessEvent keeps — method, path, route template, object ids, query
// parameter names (values are dropped: they may be tokens) and bytes_in. CSIC has no response, so none of vigil's
// status-based input-misuse features (400/405/422 rejections, 403/404 enumeration) can be computed.
import { adapterFor } from '@vigil/adapters';
import type { AccessEvent } from '@vigil/events';
import type { CsicRequest } from './data.js';

export const NAB_FEATURES = [
  'level',
  'mean_6',
  'mean_36',
  'log_ratio_prev_12',
  'log_ratio_prev_144',
  'change_1',
  'spread_12',
];

export function nabFeatures(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const d = NAB_FEATURES.length;
  const l = Float64Array.from({ length: n }, (_, i) => {
    const v = values[i] as number;
    return Math.sign(v) * Math.log1p(Math.abs(v));
  });
  // Prefix sums of ℓ and ℓ² for window means and spreads.
  const s = new Float64Array(n + 1);
  const s2 = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    s[i + 1] = (s[i] as number) + (l[i] as number);
    s2[i + 1] = (s2[i] as number) + (l[i] as number) ** 2;
  }
  /** Mean of ℓ over records [from, to), from clamped at 0; NaN when empty. */
  const mean = (from: number, to: number) => {
    const a = Math.max(0, from);
    return to > a ? ((s[to] as number) - (s[a] as number)) / (to - a) : Number.NaN;
  };
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const level = l[i] as number;
    const o = i * d;
    out[o] = level;
    out[o + 1] = mean(i - 5, i + 1);
    out[o + 2] = mean(i - 35, i + 1);
    out[o + 3] = i > 0 ? level - mean(i - 12, i) : 0;
    out[o + 4] = i > 0 ? level - mean(i - 144, i) : 0;
    out[o + 5] = i > 0 ? level - (l[i - 1] as number) : 0;
    const a = Math.max(0, i - 11);
    const k = i + 1 - a;
    const m = ((s[i + 1] as number) - (s[a] as number)) / k;
    out[o + 6] = Math.sqrt(Math.max(0, ((s2[i + 1] as number) - (s2[a] as number)) / k - m * m));
  }
  return out;
}

export const CSIC_FEATURES = [
  'method_post',
  'method_other',
  'path_length_log',
  'path_segments',
  'object_ids',
  'path_odd_chars_log',
  'route_train_count_log',
  'query_keys',
  'query_keys_unseen_for_route',
  'bytes_in_log',
];

/**
 * What bytes_in holds depends on the gateway: nginx ($request_length) and Kong (request.size) count the request line,
 * headers and body; Envoy (bytes_received) counts the body only. "request" = request line + body (the headers CSIC
 * kept are the same in every request, a constant left out); "body" = the body only.
 */
export type BytesIn = 'request' | 'body';

/** CSIC requests → vigil AccessEvents through the canonical adapter; requests the adapter refuses are counted. */
export function csicEvents(
  requests: readonly CsicRequest[],
  bytesIn: BytesIn,
): { events: (AccessEvent | undefined)[]; refused: Map<string, number> } {
  const adapter = adapterFor('canonical', {
    pepper: { version: 1, secret: 'bench-pepper-0123456789abcdef0123456789' },
  });
  const t0 = Date.UTC(2010, 10, 25);
  const refused = new Map<string, number>();
  const events = requests.map((r, i) => {
    const record = {
      ts: t0 + i,
      request_id: `csic-${i}`,
      method: r.method,
      path: r.url,
      // CSIC has requests only: no response status was recorded.
      status: 0,
      client_ip: '127.0.0.1',
      bytes_in: bytesIn === 'request' ? `${r.method} ${r.url} HTTP/1.1\r\n`.length + r.contentLength : r.contentLength,
    };
    const [outcome] = adapter.parse(JSON.stringify(record));
    if (outcome?.ok) return outcome.event;
    const reason = outcome ? outcome.reason : 'no outcome';
    refused.set(reason, (refused.get(reason) ?? 0) + 1);
    return undefined;
  });
  return { events, refused };
}

const ODD = /[^A-Za-z0-9/._-]/g;

/** Request-shape features; route frequencies and query-parameter names are learned from the training events. */
export function csicFeatures(events: readonly (AccessEvent | undefined)[], train: readonly boolean[]): Float64Array {
  const routeCount = new Map<string, number>();
  const routeKeys = new Map<string, Set<string>>();
  events.forEach((e, i) => {
    if (!e || !train[i]) return;
    routeCount.set(e.route, (routeCount.get(e.route) ?? 0) + 1);
    const keys = routeKeys.get(e.route) ?? new Set<string>();
    routeKeys.set(e.route, keys);
    for (const k of e.query_keys) keys.add(k);
  });
  const d = CSIC_FEATURES.length;
  const out = new Float64Array(events.length * d);
  events.forEach((e, i) => {
    const o = i * d;
    if (!e) {
      out.fill(Number.NaN, o, o + d);
      return;
    }
    const known = routeKeys.get(e.route);
    out[o] = e.method === 'POST' ? 1 : 0;
    out[o + 1] = e.method !== 'GET' && e.method !== 'POST' ? 1 : 0;
    out[o + 2] = Math.log1p(e.path.length);
    out[o + 3] = e.path.split('/').filter((s) => s.length > 0).length;
    out[o + 4] = e.object_ids.length;
    out[o + 5] = Math.log1p(e.path.match(ODD)?.length ?? 0);
    out[o + 6] = Math.log1p(routeCount.get(e.route) ?? 0);
    out[o + 7] = e.query_keys.length;
    out[o + 8] = e.query_keys.filter((k) => !known?.has(k)).length;
    out[o + 9] = Math.log1p(e.bytes_in ?? 0);
  });
  return out;
}
