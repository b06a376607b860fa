// A token as vigil knows it, shared by the edge that parses logs (@vigil/adapters) and the enforcement that checks
// requests against revocations (@vigil/enforcement): its fingerprint — the only form in which a credential leaves the
// adapter; versioned so a pepper can be rotated — and the claims of a bearer JWT, read without verifying it (the
// gateway already decided whether to accept the token; vigil only needs to know whose it claims to be; an opaque token
// yields no claims).
import { createHmac } from 'node:crypto';

export interface Pepper {
  /** Version written into the fingerprint ("v1:…"); bump it when the pepper rotates. */
  readonly version: number;
  readonly secret: string;
}

export function fingerprint(pepper: Pepper, credential: string): string {
  return `v${pepper.version}:${createHmac('sha256', pepper.secret).update(credential).digest('hex')}`;
}

export interface TokenClaims {
  sub?: string;
  jti?: string;
  sid?: string;
  iat?: number;
  exp?: number;
  client_id?: string;
}

const MAX_TOKEN_LENGTH = 16 * 1024;

export function decodeJwtClaims(token: string): TokenClaims {
  if (token.length > MAX_TOKEN_LENGTH) return {};
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (first <= 0 || second < 0) return {};
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8'));
  } catch {
    return {};
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return {};
  const c = payload as Record<string, unknown>;
  const claims: TokenClaims = {};
  const sub = claimString(c.sub);
  if (sub !== undefined) claims.sub = sub;
  const jti = claimString(c.jti);
  if (jti !== undefined) claims.jti = jti;
  const sid = claimString(c.sid);
  if (sid !== undefined) claims.sid = sid;
  const iat = claimSeconds(c.iat);
  if (iat !== undefined) claims.iat = iat;
  const exp = claimSeconds(c.exp);
  if (exp !== undefined) claims.exp = exp;
  const clientId = claimString(c.client_id) ?? claimString(c.azp);
  if (clientId !== undefined) claims.client_id = clientId;
  return claims;
}

function claimString(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= 512 ? v : undefined;
}

function claimSeconds(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < 1e11 ? Math.floor(v) : undefined;
}
