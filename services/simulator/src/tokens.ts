// Demo access tokens: JWTs with the claims a bank's IdP puts in, signed HS256 with the demo bank's published key so
// the demo bank API (bank-api.ts) can verify the tokens the simulator hands its customers and attackers. One jti per
// token; the session id survives refreshes. The key is public on purpose: this is a demo, never a real IdP.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Rng } from './random.js';

export interface DemoClaims {
  sub: string;
  jti: string;
  sid: string;
  iat: number;
  exp: number;
  client_id: string;
}

/** The demo IdP's signing key (HS256), shared by the simulator and the demo bank API. */
export const DEMO_SIGNING_KEY = 'vigil-demo-bank-signing-key-not-a-secret';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const HEADER = b64({ alg: 'HS256', typ: 'JWT', kid: 'demo' });
const sign = (input: string) => createHmac('sha256', DEMO_SIGNING_KEY).update(input).digest('base64url');

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
  // Drawn and discarded: the signature used to be random, and a seed keeps the traffic (and the figures measured on
  // it) it had before tokens were signed.
  rng.hex(43);
  const body = `${HEADER}.${b64(claims)}`;
  return { token: `${body}.${sign(body)}`, claims };
}

/** The claims of a demo token whose signature checks out, else undefined (expiry is the caller's to judge). */
export function verifyDemoToken(token: string): DemoClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  const expected = Buffer.from(sign(`${header}.${payload}`));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as DemoClaims;
    return typeof claims.sub === 'string' && typeof claims.exp === 'number' ? claims : undefined;
  } catch {
    return undefined;
  }
}
