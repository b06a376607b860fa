// Demo access tokens: unsigned JWT look-alikes with the claims a bank's IdP puts in (the gateway, not vigil, verifies
// real ones). One jti per token; the session id survives refreshes.
import type { Rng } from './random.js';

export interface DemoClaims {
  sub: string;
  jti: string;
  sid: string;
  iat: number;
  exp: number;
  client_id: string;
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

export function issueToken(
  rng: Rng,
  sub: string,
  ts: number,
  options: { clientId?: string; sid?: string; ttlS?: number } = {},
): { token: string; claims: DemoClaims } {
  const iat = Math.floor(ts / 1000);
  const claims = {
    sub,
    jti: rng.hex(16),
    sid: options.sid ?? rng.hex(12),
    iat,
    exp: iat + (options.ttlS ?? 3600),
    client_id: options.clientId ?? 'vigil-bank-app',
  };
  return { token: `${b64({ alg: 'RS256', typ: 'JWT', kid: 'demo' })}.${b64(claims)}.${rng.hex(43)}`, claims };
}
