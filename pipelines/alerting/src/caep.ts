// CAEP session-revoked events (OpenID Shared Signals: CAEP 1.0 over SSF 1.0), pushed as Security Event Tokens
// (RFC 8417) with RFC 8935 push delivery: POST, content type application/secevent+jwt, 202 Accepted. On every
// revocation of a subject or a session, the configured receivers (the IdP, other relying parties) learn that the
// session is over. Signed with the configured private key (RS256, ES256 or EdDSA, by key type); without one the SET is
// unsecured (alg "none"), which only a receiver on a trusted channel should accept.
import { createPrivateKey, type KeyObject, randomUUID, sign } from 'node:crypto';

export const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';

export interface CaepOptions {
  /** This vigil deployment as the SET's issuer. */
  issuer: string;
  audience: string;
  /** Issuer of the subjects' tokens (the IdP): subjects are then iss_sub identifiers, else opaque. */
  subjectIssuer?: string;
  /** PEM private key. */
  privateKeyPem?: string;
  keyId?: string;
}

export interface RevokedSubject {
  kind: string;
  value: string;
  enforced_at?: number;
  request_id: string;
  reasons: string[];
}

const b64url = (x: string | Buffer) => Buffer.from(x).toString('base64url');

function algOf(key: KeyObject): string {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec') return 'ES256';
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  throw new Error(`unsupported CAEP signing key type ${key.asymmetricKeyType}: use RSA, EC P-256 or Ed25519`);
}

/** The SET for one revoked subject or session; undefined for other kinds (a token or an IP is not a session). */
export function sessionRevokedSet(r: RevokedSubject, o: CaepOptions, nowMs: number): string | undefined {
  if (r.kind !== 'sub' && r.kind !== 'session') return undefined;
  const subId =
    r.kind === 'session'
      ? { format: 'opaque', id: r.value }
      : o.subjectIssuer
        ? { format: 'iss_sub', iss: o.subjectIssuer, sub: r.value }
        : { format: 'opaque', id: r.value };
  const claims = {
    iss: o.issuer,
    aud: o.audience,
    iat: Math.floor(nowMs / 1000),
    jti: randomUUID(),
    sub_id: subId,
    events: {
      [SESSION_REVOKED]: {
        event_timestamp: Math.floor((r.enforced_at ?? nowMs) / 1000),
        initiating_entity: 'policy',
        reason_admin: {
          en:
            `vigil revoked the ${r.kind === 'sub' ? 'subject’s sessions' : 'session'} ` +
            `(decision ${r.request_id}: ${r.reasons.slice(0, 3).join(', ')})`,
        },
      },
    },
  };
  const key = o.privateKeyPem ? createPrivateKey(o.privateKeyPem) : undefined;
  const alg = key ? algOf(key) : 'none';
  const header = { alg, typ: 'secevent+jwt', ...(o.keyId ? { kid: o.keyId } : {}) };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  if (!key) return `${input}.`;
  const signature =
    alg === 'EdDSA'
      ? sign(null, Buffer.from(input), key)
      : sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${b64url(signature)}`;
}
