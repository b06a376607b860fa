// Kong's log serializer (http-log, kafka-log, file-log, tcp-log…), from 0.x to 3.x: started_at in ms, client_ip,
// request{id, method, uri|url|request_uri, size, querystring, headers}, response{status, size}, latencies,
// authenticated_entity, consumer, route, service. Custom fields (custom_fields_by_lua) add `auth` (claims the
// gateway decoded and fingerprinted itself), the transaction field (default `tx`) and the login fields
// request.body_username / body_grant_type / body_client_id.
import { z } from 'zod';
import type { FormatMapper } from '../../adapter.js';
import { parseTimestamp } from '../../time.js';
import {
  buildEvent,
  gatewayClaimsSchema,
  header,
  looseId,
  looseNumber,
  looseRecord,
  looseString,
  timestampField,
  txSchema,
  zodFailure,
} from '../common.js';

const kongRecord = z.object({
  started_at: timestampField,
  client_ip: z.string(),
  request: z.object({
    id: looseId,
    method: z.string(),
    uri: looseString,
    url: looseString,
    request_uri: looseString,
    size: looseNumber,
    querystring: looseRecord.or(z.string()).optional(),
    headers: looseRecord,
    body_username: looseString,
    body_grant_type: looseString,
    body_client_id: looseString,
  }),
  response: z.object({
    status: looseNumber,
    size: looseNumber,
    headers: looseRecord,
  }),
  latencies: z.object({ request: looseNumber }).optional(),
  authenticated_entity: z.object({ id: looseId, consumer_id: looseId, key: looseString }).nullish(),
  consumer: z.object({ id: looseId, username: looseString, custom_id: looseId }).nullish(),
  route: z.object({ name: looseString, id: looseId }).nullish(),
  service: z.object({ name: looseString, id: looseId }).nullish(),
  api: z.object({ name: looseString }).nullish(),
  auth: gatewayClaimsSchema,
  tls: z.object({ client_fingerprint: looseString }).nullish(),
});

export const mapKong: FormatMapper = (record, options, fallbackId) => {
  const parsed = kongRecord.safeParse(record);
  if (!parsed.success) return zodFailure(parsed.error, record);
  const r = parsed.data;
  const req = r.request;
  const uri = req.uri ?? req.url ?? req.request_uri;
  if (uri === undefined)
    return { ok: false, reason: 'missing_field', detail: 'request.uri: required (or request.url)' };
  const status = r.response.status;
  if (status === undefined) return { ok: false, reason: 'missing_field', detail: 'response.status: required' };
  const querystring = typeof req.querystring === 'object' ? req.querystring : undefined;
  const usernameFromQuery = querystring?.username;
  const txRaw = record[options.txField];
  const tx = txSchema.safeParse(txRaw);
  // A malformed transaction is an error, not an absent one: dropping it would hide a payment from the features.
  if (!tx.success) return zodFailure(tx.error, txRaw, options.txField);
  const entity = r.authenticated_entity ?? undefined;
  const consumer = r.consumer ?? undefined;
  const bodyUsername = req.body_username ?? (typeof usernameFromQuery === 'string' ? usernameFromQuery : undefined);
  return buildEvent(
    'kong',
    {
      ts: parseTimestamp(r.started_at),
      requestId: req.id ?? header(r.response.headers, 'x-kong-request-id') ?? header(req.headers, 'x-request-id'),
      method: req.method,
      uri,
      status,
      clientIp: r.client_ip,
      latencyMs: r.latencies?.request,
      bytesIn: req.size,
      bytesOut: r.response.size,
      userAgent: header(req.headers, 'user-agent'),
      host: header(req.headers, 'host'),
      service: r.service?.name ?? r.api?.name ?? undefined,
      tlsClientFingerprint: r.tls?.client_fingerprint,
      // Kong ≤ 0.5 logged key-auth API keys as authenticated_entity.key; 3.x redacts Authorization to "REDACTED".
      credentials: [
        header(req.headers, 'authorization'),
        header(req.headers, 'apikey'),
        header(req.headers, 'x-api-key'),
        entity?.key,
      ],
      claims: r.auth,
      principal: {
        consumer_id: consumer?.id ?? entity?.consumer_id,
        credential_id: entity?.id,
        username: consumer?.username ?? undefined,
      },
      login: { username: bodyUsername, grant_type: req.body_grant_type, client_id: req.body_client_id },
      tx: tx.data,
    },
    options,
    fallbackId,
  );
};
