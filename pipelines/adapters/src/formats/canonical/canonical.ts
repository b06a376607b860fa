// vigil's own JSON: the canonical access event (see @vigil/events) as input, for shippers that transform logs
// themselves and for the simulator. `path` may carry a query string; a raw `authorization` value is accepted and
// fingerprinted like any gateway's. Parsing an event that vigil wrote gives back the same event.
import { z } from 'zod';
import type { FormatMapper } from '../../adapter.js';
import { parseTimestamp } from '../../time.js';
import {
  buildEvent,
  gatewayClaimsSchema,
  looseId,
  looseNumber,
  looseString,
  timestampField,
  txSchema,
  zodFailure,
} from '../common.js';

const canonicalRecord = z.object({
  ts: timestampField,
  request_id: looseId,
  method: z.string(),
  path: z.string(),
  status: z.number(),
  client_ip: z.string(),
  latency_ms: looseNumber,
  bytes_in: looseNumber,
  bytes_out: looseNumber,
  user_agent: looseString,
  host: looseString,
  service: looseString,
  tls_client_fingerprint: looseString,
  authorization: looseString,
  principal: gatewayClaimsSchema
    .unwrap()
    .extend({ consumer_id: looseId, credential_id: looseId, username: looseString })
    .optional(),
  login: z.object({ username: looseString, grant_type: looseString, client_id: looseString }).optional(),
  tx: txSchema,
});

export const mapCanonical: FormatMapper = (record, options, fallbackId) => {
  const parsed = canonicalRecord.safeParse(record);
  if (!parsed.success) return zodFailure(parsed.error, record);
  const r = parsed.data;
  const p = r.principal ?? {};
  return buildEvent(
    'canonical',
    {
      ts: parseTimestamp(r.ts),
      requestId: r.request_id,
      method: r.method,
      uri: r.path,
      status: r.status,
      clientIp: r.client_ip,
      latencyMs: r.latency_ms,
      bytesIn: r.bytes_in,
      bytesOut: r.bytes_out,
      userAgent: r.user_agent,
      host: r.host,
      service: r.service,
      tlsClientFingerprint: r.tls_client_fingerprint,
      credentials: [r.authorization],
      claims: {
        sub: p.sub,
        jti: p.jti,
        sid: p.sid,
        iat: p.iat,
        exp: p.exp,
        client_id: p.client_id,
        token_fingerprint: p.token_fingerprint,
      },
      principal: { consumer_id: p.consumer_id, credential_id: p.credential_id, username: p.username },
      login: r.login,
      tx: r.tx,
    },
    options,
    fallbackId,
  );
};
