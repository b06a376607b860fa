// nginx `log_format … escape=json` records. Field names follow nginx's variables ($remote_addr → remote_addr), as
// every published JSON format does; values are strings ("-" or "" when unset), some formats write numbers.
// Time: time_iso8601, @timestamp, timestamp, time_local or msec. Request: request ("GET /p?q HTTP/1.1") or
// request_method + request_uri.
import { z } from 'zod';
import type { FormatMapper } from '../../adapter.js';
import { parseTimestamp } from '../../time.js';
import { buildEvent, customFieldShapes, fromRequestLine, looseNumber, looseString, zodFailure } from '../common.js';

const nginxRecord = z.object({
  time_iso8601: looseString,
  '@timestamp': looseString,
  timestamp: looseString,
  time_local: looseString,
  msec: z.union([z.number(), z.string()]).optional(),
  remote_addr: z.string(),
  request: looseString,
  request_method: looseString,
  request_uri: looseString,
  status: looseNumber,
  request_time: looseNumber,
  request_length: looseNumber,
  body_bytes_sent: looseNumber,
  bytes_sent: looseNumber,
  bytes: looseNumber,
  request_id: looseString,
  http_user_agent: looseString,
  agent: looseString,
  host: looseString,
  http_host: looseString,
  http_authorization: looseString,
  ssl_client_fingerprint: looseString,
  upstream_addr: looseString,
  remote_user: looseString,
  ...customFieldShapes(),
});

export const mapNginx: FormatMapper = (record, options, fallbackId) => {
  const parsed = nginxRecord.safeParse(record);
  if (!parsed.success) return zodFailure(parsed.error, record);
  const r = parsed.data;
  const time = r.time_iso8601 ?? r['@timestamp'] ?? r.timestamp ?? r.msec ?? r.time_local;
  if (time === undefined) return { ok: false, reason: 'missing_field', detail: 'time_iso8601: required (or msec)' };
  const { method, uri } = fromRequestLine(r.request, r.request_method, r.request_uri);
  if (method === undefined || uri === undefined) {
    return { ok: false, reason: 'missing_field', detail: 'request: required (or request_method and request_uri)' };
  }
  if (r.status === undefined) return { ok: false, reason: 'missing_field', detail: 'status: required' };
  const requestTime = r.request_time;
  return buildEvent(
    'nginx',
    {
      ts: parseTimestamp(time),
      requestId: r.request_id,
      method,
      uri,
      status: r.status,
      clientIp: r.remote_addr,
      latencyMs: requestTime === undefined ? undefined : requestTime * 1000,
      bytesIn: r.request_length,
      bytesOut: r.bytes_sent ?? r.body_bytes_sent ?? r.bytes,
      userAgent: r.http_user_agent ?? r.agent,
      host: r.host ?? r.http_host,
      tlsClientFingerprint: r.ssl_client_fingerprint,
      credentials: [r.http_authorization],
      claims: r.auth,
      // $remote_user is the HTTP Basic user name: an identity, not a secret.
      login: { username: r.username ?? r.remote_user },
      tx: r.tx,
    },
    options,
    fallbackId,
  );
};
