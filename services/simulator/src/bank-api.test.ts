// The demo bank API on a real loopback socket: logins, token checks, account ownership (BOLA answers 403), payments;
// and the driver: a simulated morning sent over HTTP gets the answers the simulation logged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateBank } from './bank.js';
import { type BankApi, demoPassword, startBankApi } from './bank-api.js';
import { customerIds } from './customers.js';
import { drive } from './drive.js';
import { seeded } from './random.js';
import { fakeGeo } from './testing.js';
import { issueToken, verifyDemoToken } from './tokens.js';
import type { SimRequest } from './traffic.js';

const CUSTOMERS = 300;

describe('the demo bank API', () => {
  let api: BankApi;
  let base: string;
  let clock = Date.UTC(2026, 10, 28, 9);
  beforeAll(async () => {
    api = await startBankApi({ customers: CUSTOMERS, now: () => clock });
    base = `http://127.0.0.1:${api.port}`;
  });
  afterAll(() => api.close());

  const login = (username: string, password: string) =>
    fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username, password }).toString(),
    });
  const get = async (path: string, token?: string) => {
    const res = await fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('logs a customer in with the right password only, without telling unknown users apart', async () => {
    const { username, sub } = customerIds(7);
    const ok = await login(username, demoPassword(username));
    expect(ok.status).toBe(200);
    const token = ((await ok.json()) as { access_token: string }).access_token;
    expect(verifyDemoToken(token)?.sub).toBe(sub);
    const wrong = await login(username, 'hunter2');
    const unknown = await login('nobody@example.com', demoPassword('nobody@example.com'));
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(await wrong.json()).toEqual(await unknown.json());
  });

  it("serves a customer's own accounts, refuses another's (403), and knows no others (404)", async () => {
    const me = customerIds(7);
    const { token } = issueToken(seeded(1), me.sub, clock, { ttlS: 900 });
    expect((await get(`/v1/accounts/${me.account}`, token)).status).toBe(200);
    const page = await get(`/v1/accounts/${me.account}/transactions?page=2`, token);
    expect(page.status).toBe(200);
    expect((page.body.transactions as unknown[]).length).toBe(20);
    expect((await get(`/v1/accounts/${customerIds(8).account}`, token)).status).toBe(403);
    expect((await get(`/v1/accounts/${customerIds(CUSTOMERS + 5).account}`, token)).status).toBe(404);
    expect((await get('/v1/accounts', token)).body.accounts).toHaveLength(2);
  });

  it('refuses forged, expired and missing tokens', async () => {
    const me = customerIds(3);
    const { token } = issueToken(seeded(2), me.sub, clock, { ttlS: 900 });
    const [head, payload] = token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, sub: customerIds(4).sub })).toString('base64url');
    const forged = `${head}.${forgedPayload}.${token.split('.')[2]}`;
    expect((await get(`/v1/accounts/${customerIds(4).account}`, forged)).status).toBe(401);
    expect((await get('/v1/accounts')).status).toBe(401);
    clock += 901_000;
    expect((await get(`/v1/accounts/${me.account}`, token)).status).toBe(401);
  });

  it(
    'renews a session with the refresh grant (same sid, new jti) ' + 'and takes payments from own accounts only',
    async () => {
      const me = customerIds(11);
      const old = issueToken(seeded(3), me.sub, clock - 3_600_000, { ttlS: 900 });
      const res = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=refresh_token&refresh_token=${old.token}`,
      });
      const fresh = ((await res.json()) as { access_token: string }).access_token;
      expect(verifyDemoToken(fresh)).toMatchObject({ sub: me.sub, sid: old.claims.sid });
      expect(verifyDemoToken(fresh)?.jti).not.toBe(old.claims.jti);
      const pay = (account: string, amount: number) =>
        fetch(`${base}/v1/payments`, {
          method: 'POST',
          headers: { authorization: `Bearer ${fresh}`, 'content-type': 'application/json' },
          body: JSON.stringify({ account_id: account, payee_id: 'payee-1', amount, currency: 'GBP' }),
        }).then((r) => r.status);
      expect(await pay(me.account, 42.5)).toBe(201);
      expect(await pay(customerIds(12).account, 42.5)).toBe(403);
      expect(await pay(me.account, -1)).toBe(400);
    },
  );
});

describe('driving simulated traffic over HTTP', () => {
  it('a simulated morning sent to the API gets the answers the simulation logged', async () => {
    // A fixed morning, sent far faster than real time; the API's clock stays at its start, so every token is live
    // when it arrives, as at real speed.
    const start = Date.UTC(2026, 10, 3, 7);
    const api = await startBankApi({ customers: 400, now: () => start });
    const requests: SimRequest[] = [];
    for (const r of generateBank({ seed: 9, customers: 400, start, geo: fakeGeo })) {
      if (r.ts >= start + 4 * 3_600_000) break;
      requests.push(r);
    }
    try {
      const report = await drive(requests, {
        target: `http://127.0.0.1:${api.port}`,
        speed: 1_000_000,
        maxInFlight: 16,
      });
      expect(report.sent).toBe(requests.length);
      expect(requests.length).toBeGreaterThan(100);
      expect(report.statuses[0]).toBeUndefined();
      // Logins (the right password or a typo), refreshes, reads, payments: all as simulated but the simulation's
      // rare stale-link 404s, which the API (knowing no closed accounts) answers 200.
      const stale = requests.filter((r) => r.status === 404).length;
      expect(report.asSimulated).toBe(requests.length - stale);
      expect(requests.some((r) => r.grantType === 'refresh_token') && requests.some((r) => r.status === 401)).toBe(
        true,
      );
    } finally {
      await api.close();
    }
  });
});
