// HAProxy JSON logs written by the log-format docs/gateways.md gives (HAProxy 2.x: strings escaped with json(utf8s)),
// and by HAProxy 3.x log profiles (`%{+json}o` with named items). Time: `ts` (epoch ms, from date(0,ms)) or the
// accept date (%tr / request_date, "06/Feb/2009:12:14:14.655"). The request line or method + uri.
import { z } from 'zod';
import type { FormatMapper } from '../../adapter.js';
import { parseTimestamp } from '../../time.js';
import { buildEvent, customFieldShapes, fromRequestLine, looseNumber, looseString, zodFailure } from '../common.js';

const haproxyRecord = z.object({
  ts: z.union([z.number(), z.string()]).optional(),
  request_date: looseString,
  accept_date: looseString,
  client_ip: z.string(),
  method: looseString,
  uri: looseString,
  request_line: looseString,
  status: looseNumber,
  status_code: looseNumber,
  ta_ms: looseNumber,
  bytes_read: looseNumber,
  bytes_uploaded: looseNumber,
  request_id: looseString,
  user_agent: looseString,
  host: looseString,
  backend: looseString,
  backend_name: looseString,
  authorization: looseString,
  ssl_c_sha256: looseString,
  ...customFieldShapes(),
});

export const mapHaproxy: FormatMapper = (record, options, fallbackId) => {
  const parsed = haproxyRecord.safeParse(record);
  if (!parsed.success) return zodFailure(parsed.error, record);
  const r = parsed.data;
  const time = r.ts ?? r.request_date ?? r.accept_date;
  if (time === undefined) return { ok: false, reason: 'missing_field', detail: 'ts: required (or request_date)' };
  const { method, uri } = fromRequestLine(r.request_line, r.method, r.uri);
  // HAProxy logs "<BADREQ>" for a request it could not parse: no method, nothing to key on.
  if (method === undefined || uri === undefined || uri === '<BADREQ>') {
    return { ok: false, reason: 'missing_field', detail: 'method and uri: required (or request_line)' };
  }
  const status = r.status ?? r.status_code;
  if (status === undefined) return { ok: false, reason: 'missing_field', detail: 'status: required' };
  return buildEvent(
    'haproxy',
    {
      ts: parseTimestamp(time),
      requestId: r.request_id,
      method,
      uri,
      // HAProxy writes -1 when the connection closed before a response.
      status: Math.max(status, 0),
      clientIp: r.client_ip,
      latencyMs: r.ta_ms,
      bytesIn: r.bytes_uploaded,
      bytesOut: r.bytes_read,
      userAgent: r.user_agent,
      host: r.host,
      service: r.backend ?? r.backend_name,
      tlsClientFingerprint: r.ssl_c_sha256,
      credentials: [r.authorization],
      claims: r.auth,
      login: { username: r.username },
      tx: r.tx,
    },
    options,
    fallbackId,
  );
};
