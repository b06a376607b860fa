// A first, small traffic model of the demo bank API: customers with bearer tokens reading their accounts, listing
// transactions and making payments, plus logins. Deterministic from its seed and start time. (The full simulator —
// diurnal rhythm, travel, carriers, labelled attacks — grows from this in the end-to-end issue.)
import { type Rng, seeded } from './random.js';

export interface SimRequest {
  ts: number;
  requestId: string;
  method: string;
  uri: string;
  status: number;
  clientIp: string;
  userAgent: string;
  latencyMs: number;
  bytesIn: number;
  bytesOut: number;
  /** The raw bearer token as a gateway would see it; writers decide whether the log carries it. */
  token?: string;
  claims?: { sub: string; jti: string; sid: string; iat: number; exp: number; client_id: string };
  loginUsername?: string;
  tx?: { amount: number; currency: string; payee_id: string; account_id: string };
}

interface Customer {
  sub: string;
  username: string;
  accountId: string;
  ip: string;
  userAgent: string;
  payees: string[];
  habitualAmount: number;
  token: string;
  claims: NonNullable<SimRequest['claims']>;
}

const AGENTS = ['VigilBank/5.2 (iPhone; iOS 18.1)', 'VigilBank/5.2 (Android 15)', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0'];

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

function issueToken(rng: Rng, sub: string, ts: number): { token: string; claims: NonNullable<SimRequest['claims']> } {
  const iat = Math.floor(ts / 1000);
  const claims = { sub, jti: rng.hex(16), sid: rng.hex(12), iat, exp: iat + 3600, client_id: 'vigil-bank-app' };
  // Demo tokens are unsigned look-alikes: the gateway, not vigil, verifies real ones.
  return { token: `${b64({ alg: 'RS256', typ: 'JWT', kid: 'demo' })}.${b64(claims)}.${rng.hex(43)}`, claims };
}

export interface TrafficOptions {
  seed: number;
  customers: number;
  start: number;
  /** Mean gap between requests across all customers, ms. */
  meanGapMs: number;
}

export function* generateTraffic(options: TrafficOptions): Generator<SimRequest> {
  const rng = seeded(options.seed);
  const customers: Customer[] = [];
  for (let i = 0; i < options.customers; i++) {
    const sub = `cust-${(100000 + i).toString(36)}`;
    const { token, claims } = issueToken(rng, sub, options.start);
    customers.push({
      sub,
      username: `user${i}@example.com`,
      accountId: String(40000000 + i * 7),
      ip: `198.51.${100 + (i % 50)}.${1 + (i % 250)}`,
      userAgent: rng.pick(AGENTS),
      payees: Array.from({ length: 3 }, () => `payee-${rng.hex(6)}`),
      habitualAmount: 20 + rng.int(0, 400),
      token,
      claims,
    });
  }
  let ts = options.start;
  let n = 0;
  for (;;) {
    ts += Math.max(1, Math.round(-Math.log(1 - rng.next()) * options.meanGapMs));
    const c = rng.pick(customers);
    const roll = rng.next();
    const base = {
      ts,
      requestId: `${rng.hex(8)}-${(n++).toString(16)}`,
      clientIp: c.ip,
      userAgent: c.userAgent,
      latencyMs: rng.int(5, 120),
      bytesIn: rng.int(80, 600),
    };
    if (roll < 0.02) {
      const fresh = issueToken(rng, c.sub, ts);
      c.token = fresh.token;
      c.claims = fresh.claims;
      yield { ...base, method: 'POST', uri: '/oauth/token', status: rng.chance(0.05) ? 401 : 200, bytesOut: 900, loginUsername: c.username };
    } else if (roll < 0.5) {
      yield { ...base, method: 'GET', uri: `/v1/accounts/${c.accountId}`, status: 200, bytesOut: rng.int(300, 800), token: c.token, claims: c.claims };
    } else if (roll < 0.9) {
      const page = rng.int(1, 3);
      yield {
        ...base,
        method: 'GET',
        uri: `/v1/accounts/${c.accountId}/transactions?page=${page}`,
        status: 200,
        bytesOut: rng.int(2000, 9000),
        token: c.token,
        claims: c.claims,
      };
    } else {
      const amount = Math.round(c.habitualAmount * (0.5 + rng.next()) * 100) / 100;
      yield {
        ...base,
        method: 'POST',
        uri: '/v1/payments',
        status: 201,
        bytesOut: 250,
        token: c.token,
        claims: c.claims,
        tx: { amount, currency: 'EUR', payee_id: rng.pick(c.payees), account_id: c.accountId },
      };
    }
  }
}
