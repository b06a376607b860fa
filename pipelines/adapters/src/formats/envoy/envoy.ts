// Envoy's JSON access log (json_format / typed_json_format). Keys are whatever the operator configured, so this
// reads Envoy Gateway's default keys and the names the recommended format in docs/gateways.md uses: start_time, method,
// x-envoy-origin-path|path, response_code, duration, bytes_received, bytes_sent, downstream_remote_address
// (Envoy resolves X-Forwarded-For into it when xff_num_trusted_hops is set), x-request-id, user-agent, :authority,
// upstream_cluster, and optionally authorization (raw), the claim keys of the recommended format, and tx.
import { z } from 'zod';
import type { FormatMapper } from '../../adapter.js';
import { parseTimestamp } from '../../time.js';
import { buildEvent, customFieldShapes, looseNumber, looseString, timestampField, zodFailure } from '../common.js';

const envoyRecord = z.object({
  start_time: timestampField,
  method: z.string(),
  'x-envoy-origin-path': looseString,
  'x-envoy-original-path': looseString,
  path: looseString,
  response_code: looseNumber,
  duration: looseNumber,
  bytes_received: looseNumber,
  bytes_sent: looseNumber,
  downstream_remote_address: looseString,
  client_ip: looseString,
  'x-request-id': looseString,
  request_id: looseString,
  'user-agent': looseString,
  user_agent: looseString,
  ':authority': looseString,
  authority: looseString,
  upstream_cluster: looseString,
  authorization: looseString,
  downstream_peer_fingerprint_256: looseString,
  ...customFieldShapes(),
});

export const mapEnvoy: FormatMapper = (record, options, fallbackId) => {
  const parsed = envoyRecord.safeParse(record);
  if (!parsed.success) return zodFailure(parsed.error, record);
  const r = parsed.data;
  const uri = r['x-envoy-origin-path'] ?? r['x-envoy-original-path'] ?? r.path;
  if (uri === undefined)
    return { ok: false, reason: 'missing_field', detail: 'path: required (x-envoy-origin-path or path)' };
  const clientIp = r.client_ip ?? r.downstream_remote_address;
  if (clientIp === undefined)
    return { ok: false, reason: 'missing_field', detail: 'downstream_remote_address: required' };
  // Envoy logs 0 when no response was sent (the downstream went away); that is still an event.
  const status = r.response_code ?? 0;
  return buildEvent(
    'envoy',
    {
      ts: parseTimestamp(r.start_time),
      requestId: r['x-request-id'] ?? r.request_id,
      method: r.method,
      uri,
      status,
      clientIp,
      latencyMs: r.duration,
      bytesIn: r.bytes_received,
      bytesOut: r.bytes_sent,
      userAgent: r['user-agent'] ?? r.user_agent,
      host: r[':authority'] ?? r.authority,
      service: r.upstream_cluster,
      tlsClientFingerprint: r.downstream_peer_fingerprint_256,
      credentials: [r.authorization],
      claims: r.auth,
      login: { username: r.username },
      tx: r.tx,
    },
    options,
    fallbackId,
  );
};
