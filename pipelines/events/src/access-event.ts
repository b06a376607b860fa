// The canonical access event: what every gateway adapter produces and every later stage reads.
// Nothing in it may hold a raw token, password or Authorization header — only fingerprints and decoded claims.
import { z } from 'zod';

export const GATEWAY_FORMATS = ['canonical', 'kong', 'envoy', 'haproxy', 'nginx'] as const;
export type GatewayFormat = (typeof GATEWAY_FORMATS)[number];

/**
 * Every identifier known for the request's caller. A principal is keyed by the first of sub, token fingerprint,
 * username, client IP.
 */
export const principalSchema = z
  .strictObject({
    sub: z.string().min(1).optional().describe('Subject claim of the bearer token (decoded, not verified).'),
    jti: z.string().min(1).optional().describe('Token id claim.'),
    sid: z.string().min(1).optional().describe('Session id claim.'),
    iat: z.number().int().optional().describe('Issued-at claim, epoch seconds.'),
    exp: z.number().int().optional().describe('Expiry claim, epoch seconds.'),
    client_id: z.string().min(1).optional().describe('OAuth client id (client_id or azp claim).'),
    consumer_id: z.string().min(1).optional().describe('Gateway consumer id (Kong consumer.id).'),
    credential_id: z.string().min(1).optional().describe('Gateway credential id (Kong authenticated_entity.id).'),
    username: z.string().min(1).optional().describe('Username: gateway consumer name or the login attempt’s username.'),
    token_fingerprint: z
      .string()
      .regex(/^v\d+:[0-9a-f]{64}$/)
      .optional()
      .describe('"v1:" + HMAC-SHA256(pepper, token), hex.'),
    client_ip: z.string().min(1).optional().describe('Client address as the gateway saw it.'),
  })
  .describe('Identifiers of the caller.');
export type Principal = z.infer<typeof principalSchema>;

export const transactionSchema = z.strictObject({
  amount: z.number().finite().describe('Payment amount in the currency’s major unit.'),
  currency: z.string().min(1).max(8).optional(),
  payee_id: z.string().min(1).optional(),
  account_id: z.string().min(1).optional(),
});
export type Transaction = z.infer<typeof transactionSchema>;

export const loginSchema = z.strictObject({
  username: z.string().min(1).optional(),
  grant_type: z.string().min(1).optional(),
  client_id: z.string().min(1).optional(),
});
export type Login = z.infer<typeof loginSchema>;

export const accessEventSchema = z.strictObject({
  ts: z.number().int().nonnegative().describe('Event time: when the gateway received the request, epoch ms.'),
  request_id: z.string().min(1).max(256),
  gateway: z.enum(GATEWAY_FORMATS).describe('The log format the event was parsed from.'),
  method: z.string().min(1).max(16),
  path: z.string().min(1).max(8192).describe('Request path without the query string.'),
  route: z.string().min(1).max(8192).describe('Route template, e.g. /v1/accounts/{id}.'),
  object_ids: z.array(z.string().max(256)).max(64).describe('Object ids addressed by the path, in order.'),
  query_keys: z.array(z.string().max(256)).max(64).describe('Names of query parameters (values are not kept).'),
  status: z.number().int().min(0).max(999),
  latency_ms: z.number().nonnegative().optional(),
  bytes_in: z.number().int().nonnegative().optional(),
  bytes_out: z.number().int().nonnegative().optional(),
  client_ip: z.string().min(1).max(64),
  user_agent: z.string().max(1024).optional(),
  host: z.string().max(512).optional(),
  service: z.string().max(256).optional().describe('Gateway service or upstream cluster name.'),
  tls_client_fingerprint: z.string().max(256).optional().describe('Client certificate thumbprint, when logged.'),
  principal: principalSchema,
  login: loginSchema.optional(),
  tx: transactionSchema.optional(),
});
export type AccessEvent = z.infer<typeof accessEventSchema>;

export type PrincipalKeyKind = 'sub' | 'fp' | 'user' | 'ip';

/**
 * The key that owns a principal's state: the first of sub, token fingerprint, username, client IP (the brief's order).
 * Prefixed by kind so a username can never collide with a sub of the same text.
 */
export function principalKey(event: Pick<AccessEvent, 'principal' | 'client_ip'>): string {
  const p = event.principal;
  if (p.sub !== undefined) return `sub:${p.sub}`;
  if (p.token_fingerprint !== undefined) return `fp:${p.token_fingerprint}`;
  if (p.username !== undefined) return `user:${p.username}`;
  return `ip:${p.client_ip ?? event.client_ip}`;
}
