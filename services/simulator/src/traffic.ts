// Steady load for tests and speed benchmarks: the demo bank's customers picked at random at a fixed mean rate, each
// request one of the API's calls (login, account read, transaction list, payment), from documentation-range
// addresses GeoIP does not place. Deterministic from its seed and start time. Realistic behaviour — homes, diurnal
// sessions, travel, carriers, payroll — is the bank simulator's (bank.ts), which the demo, the default bundle and
// the quality benchmark use.
import { customerIds } from './customers.js';
import { seeded } from './random.js';
import { type DemoClaims, issueToken } from './tokens.js';

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
  claims?: DemoClaims;
  /** The OAuth grant of a token request (password when loginUsername is set; refresh_token renews a session). */
  grantType?: 'password' | 'refresh_token';
  loginUsername?: string;
  /** Simulation metadata, never rendered: whose request this is (attacks pick victims by it). */
  who?: { sub: string; username: string; account: string };
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

const AGENTS = [
  'VigilBank/5.2 (iPhone; iOS 18.1)',
  'VigilBank/5.2 (Android 15)',
  'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0',
];

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
    const { sub, username, account } = customerIds(i);
    const { token, claims } = issueToken(rng, sub, options.start);
    customers.push({
      sub,
      username,
      accountId: account,
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
      who: { sub: c.sub, username: c.username, account: c.accountId },
      latencyMs: rng.int(5, 120),
      bytesIn: rng.int(80, 600),
    };
    if (roll < 0.02) {
      const fresh = issueToken(rng, c.sub, ts);
      c.token = fresh.token;
      c.claims = fresh.claims;
      yield {
        ...base,
        method: 'POST',
        uri: '/oauth/token',
        status: rng.chance(0.05) ? 401 : 200,
        bytesOut: 900,
        grantType: 'password',
        loginUsername: c.username,
      };
    } else if (roll < 0.5) {
      yield {
        ...base,
        method: 'GET',
        uri: `/v1/accounts/${c.accountId}`,
        status: 200,
        bytesOut: rng.int(300, 800),
        token: c.token,
        claims: c.claims,
      };
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
