// The same decision HAProxy's ACLs make, as a function of vigil's store: is this request's token revoked, must it
// step up, is its IP or username throttled? It backs the revoker's check endpoint — an Envoy ext_authz HTTP service
// (and anything else that can ask before forwarding). The token's claims are decoded, not verified (the gateway or
// the backend verifies); its fingerprint is computed with the detector's pepper, so only fingerprints meet the store.
import { decodeJwtClaims, fingerprint, type Pepper } from '@vigil/events';
import { type Enforcement, enforcementId } from './enforcement.js';

export interface CheckInput {
  authorization?: string;
  clientIp?: string;
  username?: string;
}

export interface CheckResult {
  status: 200 | 401 | 429;
  headers: Record<string, string>;
  body: string;
}

const OK: CheckResult = { status: 200, headers: {}, body: '' };

export function checkRequest(
  lookup: (id: string) => Enforcement | undefined,
  input: CheckInput,
  options: { pepper?: Pepper; now: number },
): CheckResult {
  const live = (kind: Enforcement['kind'], value: string | undefined) => {
    if (value === undefined || value === '') return undefined;
    const e = lookup(enforcementId(kind, value));
    return e && e.expires_at > options.now ? e : undefined;
  };
  const token = /^Bearer\s+(\S+)$/i.exec(input.authorization ?? '')?.[1];
  if (token) {
    const claims = decodeJwtClaims(token);
    // Each list is looked up once (the fingerprint is an HMAC: not computed twice per request).
    const sub = live('sub', claims.sub);
    const jti = live('jti', claims.jti);
    const fp = options.pepper !== undefined ? live('fingerprint', fingerprint(options.pepper, token)) : undefined;
    const before = (e: Enforcement | undefined) =>
      e?.not_before !== undefined && claims.iat !== undefined && claims.iat < e.not_before;
    const revoked = (sub?.action === 'revoke' && before(sub)) || jti?.action === 'revoke' || fp?.action === 'revoke';
    if (revoked) {
      return {
        status: 401,
        headers: {
          'www-authenticate': 'Bearer error="invalid_token", error_description="The access token was revoked"',
        },
        body: '{"error":"invalid_token"}',
      };
    }
    const stepUp = (sub?.action === 'step_up' && before(sub)) || jti?.action === 'step_up' || fp?.action === 'step_up';
    if (stepUp) {
      return {
        status: 401,
        headers: {
          'www-authenticate':
            'Bearer error="insufficient_user_authentication", error_description="A fresh authentication is required"',
        },
        body: '{"error":"insufficient_user_authentication"}',
      };
    }
  }
  if (live('ip', input.clientIp) || live('username', input.username)) {
    return { status: 429, headers: { 'retry-after': '60' }, body: '{"error":"too_many_requests"}' };
  }
  return OK;
}
