// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.
// <body>" with the receiver's secret ("whsec_" + base64 of the key bytes), sent as "v1,<base64>" in webhook-signature.
// During a rotation a receiver has two secrets: the message carries one signature per secret, space-separated, and
// the receiver accepts any. The timestamp is Unix seconds; receivers reject stale ones (replay protection).
import { createHmac, timingSafeEqual } from 'node:crypto';

export function secretKey(secret: string): Buffer {
  if (!secret.startsWith('whsec_'))
    throw new Error(
      'a Standard Webhooks secret starts with "whsec_" followed by base64 ' +
        '— generate one with `echo whsec_$(openssl rand -base64 32)`',
    );
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  if (key.length < 24) throw new Error('the webhook secret is too short: use at least 24 random bytes');
  return key;
}

export function sign(secrets: string[], id: string, timestampS: number, body: string): string {
  return secrets
    .map((s) => `v1,${createHmac('sha256', secretKey(s)).update(`${id}.${timestampS}.${body}`).digest('base64')}`)
    .join(' ');
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export function signedHeaders(secrets: string[], id: string, timestampS: number, body: string): SignedHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampS),
    'webhook-signature': sign(secrets, id, timestampS, body),
  };
}

/**
 * Verifies a delivery (used by vigil's own label callback): any signature matching any secret, timestamp within
 * tolerance.
 */
export function verify(
  secrets: string[],
  headers: Partial<SignedHeaders>,
  body: string,
  nowS: number,
  toleranceS = 300,
): boolean {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sigs = headers['webhook-signature'];
  if (!id || !ts || !sigs || !/^\d+$/.test(ts) || Math.abs(nowS - Number(ts)) > toleranceS) return false;
  const expected = secrets.map((s) => createHmac('sha256', secretKey(s)).update(`${id}.${ts}.${body}`).digest());
  return sigs.split(' ').some((entry) => {
    const [version, b64] = entry.split(',');
    if (version !== 'v1' || !b64) return false;
    const got = Buffer.from(b64, 'base64');
    return expected.some((e) => e.length === got.length && timingSafeEqual(e, got));
  });
}
