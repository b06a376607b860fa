// Every feature family with explicit event times: first events, gaps longer than the TTL, late events, IPs without
// geo, IPv6, zero-variance amounts, a payee seen once long ago, same-country carrier hops.
import { createHash } from 'node:crypto';
import { packEntries } from '@vigil/connectors';
import { type AccessEvent, principalKey } from '@vigil/events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FeatureExtractor } from './extractor.js';
import { TenantLogins, UserLogins } from './features/auth.js';
import { chosenHash } from './features/chosen-hash.js';
import { clientHash, KnownDevices } from './features/device.js';
import { Enumeration } from './features/enumeration.js';
import type { FeatureFamily } from './features/feature.js';
import { GeoJump } from './features/geo.js';
import { IpActivity } from './features/ip.js';
import { TokenConsistency, tokenKey } from './features/token.js';
import {
  type Activity,
  activityHours,
  addActivity,
  countActivity,
  TransactionDeviation,
} from './features/transaction.js';
import { Velocity } from './features/velocity.js';
import type { GeoLookup, GeoPoint } from './geo/lookup.js';
import { KeyGroups } from './state/key-group.js';
import { keyBytes } from './state/key-index.js';
import { KeyedState } from './state/keyed-state.js';
import { readRecord } from './state/record-header.js';
import { SlidingCounts } from './state/sliding-count.js';
import { decodeState, encodeState } from './state/state-codec.js';

const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);
const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;

function ev(over: Partial<AccessEvent> & { ts: number }): AccessEvent {
  return {
    request_id: `r-${over.ts}`,
    gateway: 'canonical',
    method: 'GET',
    path: '/v1/accounts/1',
    route: '/v1/accounts/{id}',
    object_ids: ['1'],
    query_keys: [],
    status: 200,
    client_ip: '81.2.69.142',
    principal: { sub: 'alice', client_ip: over.client_ip ?? '81.2.69.142' },
    ...over,
  };
}

/** Runs a family over events; returns each event's features by name. */
function run(family: FeatureFamily, events: AccessEvent[]): Record<string, number>[] {
  return events.map((e) => {
    const out = new Float64Array(family.features.names.length);
    family.update(e, out, 0, principalKey(e));
    return Object.fromEntries(family.features.names.map((n, i) => [n, out[i] as number]));
  });
}
const last = <T>(xs: T[]) => xs[xs.length - 1] as T;

describe('KeyedState', () => {
  it('expires a key after its TTL of event time and evicts the least recently seen past the cap', () => {
    const s = new KeyedState<{ n: number }>({ ttlMs: 10 * S, maxKeys: 2 });
    s.get('a', T0, () => ({ n: 1 })).n++;
    expect(s.get('a', T0 + 5 * S, () => ({ n: 1 })).n).toBe(2);
    expect(s.get('a', T0 + 16 * S, () => ({ n: 1 })).n).toBe(1);
    s.get('b', T0 + 17 * S, () => ({ n: 1 }));
    s.get('a', T0 + 18 * S, () => ({ n: 1 }));
    s.get('c', T0 + 19 * S, () => ({ n: 1 }));
    expect([...s.keys()]).toEqual(['a', 'c']);
    expect(s.evictedByCap).toBe(1);
  });
});

describe('SlidingCounts', () => {
  it('counts per window and forgets what fell out, also after a gap longer than every window', () => {
    const c = new SlidingCounts([10 * S, MIN]);
    c.add(T0);
    c.add(T0 + 5 * S);
    expect([c.count(0, T0 + 5 * S), c.count(1, T0 + 5 * S)]).toEqual([2, 2]);
    expect([c.count(0, T0 + 30 * S), c.count(1, T0 + 30 * S)]).toEqual([0, 2]);
    expect(c.count(1, T0 + 10 * MIN)).toBe(0);
  });
});

describe('Velocity', () => {
  it('starts from the population prior and rises with a burst', () => {
    const v = new Velocity();
    const first = run(v, [ev({ ts: T0 })])[0];
    expect(first?.req_1m_log).toBeCloseTo(Math.log1p(1));
    expect(first?.rate_ratio_1m).toBeCloseTo(Math.log2(1 / ((0 + 20) / 69)));
    const burst = run(
      v,
      Array.from({ length: 50 }, (_, i) => ev({ ts: T0 + 1000 + i * 200 })),
    );
    // The burst spans 1.0–10.8 s; the 10 s window (1 s buckets) no longer holds the first request at 0 s.
    expect(last(burst).req_10s_log).toBeCloseTo(Math.log1p(50));
    expect(last(burst).rate_ratio_1m).toBeGreaterThan(5);
  });

  it('counts active minutes: a paced script fills the hour, a person’s sessions do not', () => {
    // One request every 50 s for an hour: 60 minutes of the clock, most with a request.
    const paced = run(
      new Velocity(),
      Array.from({ length: 72 }, (_, i) => ev({ ts: T0 + i * 50 * S })),
    );
    expect(last(paced).active_minutes_1h).toBeGreaterThanOrEqual(48);
    // Three sessions of twelve requests, 15 s apart, in the hour: a few minutes each.
    const person = run(
      new Velocity(),
      [0, 20, 45].flatMap((m) => Array.from({ length: 12 }, (_, i) => ev({ ts: T0 + m * MIN + i * 15 * S }))),
    );
    expect(last(person).active_minutes_1h).toBeLessThanOrEqual(12);
    expect(last(person).req_1h_log).toBeCloseTo(Math.log1p(36));
  });

  it('counts a late event at the key’s newest time instead of rewriting the past', () => {
    const v = new Velocity();
    run(v, [ev({ ts: T0 + 2 * H })]);
    const late = run(v, [ev({ ts: T0 })])[0];
    expect(late?.req_10s_log).toBeCloseTo(Math.log1p(2));
  });

  it("remembers the principal's own busiest minute of earlier days, not today's, for weeks", () => {
    const v = new Velocity();
    // A payroll run: 90 payments in one minute.
    const run1 = run(
      v,
      Array.from({ length: 90 }, (_, i) => ev({ ts: T0 + i * 600 })),
    );
    expect(last(run1).req_1m_own_peak_log).toBe(0); // today's burst does not vouch for itself
    // The next day the habit is yesterday's peak; a week later, decayed 2 % a day; the rates' own TTL has passed.
    expect(run(v, [ev({ ts: T0 + D })])[0]?.req_1m_own_peak_log).toBeCloseTo(Math.log1p(90 * 0.98));
    expect(run(v, [ev({ ts: T0 + 8 * D })])[0]?.req_1m_own_peak_log).toBeCloseTo(Math.log1p(90 * 0.98 ** 8));
    // After 35 quiet days it is forgotten.
    expect(run(v, [ev({ ts: T0 + 44 * D })])[0]?.req_1m_own_peak_log).toBe(0);
  });

  it('forgets a principal after a gap longer than its TTL', () => {
    const v = new Velocity();
    run(
      v,
      Array.from({ length: 30 }, (_, i) => ev({ ts: T0 + i * S })),
    );
    expect(run(v, [ev({ ts: T0 + 2 * D })])[0]?.req_1h_log).toBeCloseTo(Math.log1p(1));
  });
});

describe('Enumeration', () => {
  it('sees a fast sequential walk over other customers’ accounts', () => {
    const f = new Enumeration();
    const walk = run(
      f,
      Array.from({ length: 40 }, (_, i) =>
        ev({
          ts: T0 + i * 500,
          path: `/v1/accounts/${1000 + i}`,
          object_ids: [String(1000 + i)],
          status: i % 3 === 0 ? 200 : 403,
        }),
      ),
    );
    expect(last(walk).distinct_objects_10m_log).toBeCloseTo(Math.log1p(40));
    expect(last(walk).sequential_ids_10m_log).toBeCloseTo(Math.log1p(39));
    expect(last(walk).denied_share_10m).toBeCloseTo(26 / 40);
    expect(last(walk).novel_object_share_1h).toBe(1);
    expect(last(walk).denied_1h_log).toBeCloseTo(Math.log1p(26));
  });

  it('sees a low-and-slow walk (one new object a minute for an hour) but not a customer re-reading their own', () => {
    const slow = run(
      new Enumeration(),
      Array.from({ length: 60 }, (_, i) => ev({ ts: T0 + i * MIN, object_ids: [`acc-${i * 7919}`] })),
    );
    expect(last(slow).distinct_objects_1h_log).toBeCloseTo(Math.log1p(60));
    expect(last(slow).novel_object_share_1h).toBe(1);
    const own = run(
      new Enumeration(),
      Array.from({ length: 60 }, (_, i) => ev({ ts: T0 + i * MIN, object_ids: [i % 2 ? 'acc-a' : 'acc-b'] })),
    );
    expect(last(own).novel_object_share_1h).toBeCloseTo(2 / 60);
  });

  it('measures schema rejections (400, 405, 422)', () => {
    const r = run(
      new Enumeration(),
      [400, 405, 422, 200].map((status, i) => ev({ ts: T0 + i * S, status })),
    );
    expect(last(r).schema_reject_share_10m).toBeCloseTo(0.75);
  });
});

describe('logins: IpActivity, UserLogins, TenantLogins', () => {
  const login = (ts: number, ip: string, username: string, status: number) =>
    ev({
      ts,
      client_ip: ip,
      method: 'POST',
      path: '/oauth/token',
      route: '/oauth/token',
      object_ids: [],
      status,
      login: { username },
      principal: { username, client_ip: ip },
    });
  const families = () => new FeatureExtractor([new IpActivity(), new UserLogins(), new TenantLogins()]);
  const runOne = (x: FeatureExtractor, events: AccessEvent[]) =>
    events.map((e) => {
      const v = x.extract(e);
      return Object.fromEntries(x.names.map((n, i) => [n, v[i] as number]));
    });

  it('forgives one mistyped password: a typo then a success reads as a plain login, a second failure counts', () => {
    const x = families();
    const typo = runOne(x, [login(T0, '198.51.100.7', 'carol', 401), login(T0 + 8 * S, '198.51.100.7', 'carol', 200)]);
    expect(typo.map((r) => [r.user_failed_logins_1h_log, r.success_after_failures_log, r.login_success])).toEqual([
      [0, 0, 0],
      [0, 0, 1],
    ]);
    const twice = runOne(x, [
      login(T0 + 60 * S, '198.51.100.7', 'dave', 401),
      login(T0 + 61 * S, '198.51.100.7', 'dave', 401),
      login(T0 + 70 * S, '198.51.100.7', 'dave', 200),
    ]);
    expect(twice[1]?.user_failed_logins_1h_log).toBeCloseTo(Math.log1p(1));
    expect(twice[2]?.success_after_failures_log).toBeCloseTo(Math.log1p(1));
  });

  it('sees concentrated stuffing from one IP and the success that follows on a cracked account', () => {
    const x = families();
    const tries = runOne(
      x,
      Array.from({ length: 20 }, (_, i) => login(T0 + i * S, '203.0.113.9', `user${i}`, 401)),
    );
    expect(last(tries).ip_failed_logins_10m_log).toBeCloseTo(Math.log1p(19)); // the first failure forgiven (a typo)
    expect(last(tries).ip_distinct_usernames_10m_log).toBeCloseTo(Math.log1p(20));
    runOne(x, [login(T0 + 30 * S, '203.0.113.9', 'user3', 401), login(T0 + 31 * S, '203.0.113.9', 'user3', 401)]);
    const cracked = runOne(x, [login(T0 + 40 * S, '198.51.100.1', 'user3', 200)])[0];
    // Three failures before the success, the first forgiven (a typo).
    expect(cracked?.success_after_failures_log).toBeCloseTo(Math.log1p(2));
    expect(runOne(x, [login(T0 + 41 * S, '198.51.100.2', 'bob', 200)])[0]?.success_after_failures_log).toBe(0);
    // A request that is not a login reads its IP's login counts but creates no login state.
    const browse = runOne(x, [
      ev({ ts: T0 + 42 * S, client_ip: '203.0.113.9' }),
      ev({ ts: T0 + 43 * S, client_ip: '192.0.2.77' }),
    ]);
    expect(browse[0]?.ip_failed_logins_10m_log).toBeCloseTo(Math.log1p(21));
    expect(browse[1]?.ip_failed_logins_10m_log).toBe(0);
    expect(browse[1]?.tenant_failure_ratio_1m).toBe(0);
    expect(browse[1]?.ip_route_req_1m_log).toBeCloseTo(Math.log1p(1));
  });

  it('sees distributed stuffing only tenant-wide', () => {
    const x = families();
    runOne(
      x,
      Array.from({ length: 60 }, (_, i) => login(T0 + i * MIN, `198.51.100.${i}`, `u${i}`, i % 10 === 0 ? 401 : 200)),
    );
    const spray = runOne(
      x,
      Array.from({ length: 100 }, (_, i) => login(T0 + H + i * 300, `192.0.2.${i}`, `victim${i}`, 401)),
    );
    // One failure per address, the one a typo would be: nothing on the IP side.
    expect(last(spray).ip_failed_logins_10m_log).toBe(0);
    expect(last(spray).tenant_failure_ratio_1m).toBeGreaterThan(4);
    // The quiet minutes after the wave (its failures still in the hour's baseline) are not a signal.
    const after = runOne(x, [login(T0 + H + 40 * MIN, '198.51.100.7', 'u7', 200)])[0];
    expect(after?.tenant_failure_ratio_1m).toBe(0);
  });

  it('keeps a long, slow wave a surge to its end: the baseline does not learn the wave', () => {
    const x = families();
    // An hour of ordinary logins, one failure in ten minutes; then 20 minutes of one failure every 6 s.
    runOne(
      x,
      Array.from({ length: 60 }, (_, i) => login(T0 + i * MIN, `198.51.100.${i}`, `u${i}`, i % 10 === 0 ? 401 : 200)),
    );
    const wave = runOne(
      x,
      Array.from({ length: 200 }, (_, i) => login(T0 + H + i * 6 * S, `192.0.2.${i % 250}`, `victim${i}`, 401)),
    );
    const early = wave[20]?.tenant_failure_ratio_1m as number;
    const late = last(wave).tenant_failure_ratio_1m;
    expect(early).toBeGreaterThan(2.5);
    // Each of the wave's minutes teaches the baseline at most one bit above it: 20 minutes in, the ratio has lost
    // little (an hour's plain average lost ~1.5 bits, and the cracked logins late in a wave read as ordinary).
    expect(late).toBeGreaterThan(early - 0.6);
    // A change that lasts is learned: hours of the same rate read as the tenant's new normal.
    const hours = runOne(
      x,
      Array.from({ length: 1800 }, (_, i) => login(T0 + H + 20 * MIN + i * 6 * S, `192.0.2.${i % 250}`, `w${i}`, 401)),
    );
    expect(last(hours).tenant_failure_ratio_1m).toBeLessThan(1);
  });

  it('counts scraping of one route from one address', () => {
    const r = run(
      new IpActivity(),
      Array.from({ length: 30 }, (_, i) => ev({ ts: T0 + i * S, object_ids: [String(i)] })),
    );
    expect(last(r).ip_route_req_1m_log).toBeCloseTo(Math.log1p(30));
  });
});

class TableGeo implements GeoLookup {
  constructor(private readonly table: Record<string, GeoPoint>) {}
  lookup(ip: string) {
    return this.table[ip];
  }
}
const geo = new TableGeo({
  '81.2.69.142': { country: 'GB', city: 'London', lat: 51.5072, lon: -0.1276 },
  '2.125.160.216': { country: 'GB', city: 'Manchester', lat: 53.4808, lon: -2.2426 },
  '2a02:8070::1': { country: 'AU', city: 'Sydney', lat: -33.8688, lon: 151.2093 },
  '8.8.8.8': { country: 'US', city: '', lat: 37.751, lon: -97.822 },
});

describe('KnownDevices', () => {
  it(
    'knows the last four clients of a principal: a first request and a new client are not known, ' +
      'a returning one is',
    () => {
      const phone = 'BankApp/5.2 (iPhone)';
      const agents = [phone, phone, 'python-requests/2.31', phone, 'Firefox/128', 'Chrome/126', 'Edge/126', phone];
      const r = run(
        new KnownDevices(),
        agents.map((user_agent, i) => ev({ ts: T0 + i * MIN, user_agent })),
      );
      expect(r.map((x) => x.agent_known)).toEqual([0, 1, 0, 1, 0, 0, 0, 1]);
      // A fifth client pushes out the least recently used one.
      const five = run(
        new KnownDevices(),
        ['a', 'b', 'c', 'd', 'e', 'a', 'e'].map((user_agent, i) => ev({ ts: T0 + i * MIN, user_agent })),
      );
      expect(five.map((x) => x.agent_known)).toEqual([0, 0, 0, 0, 0, 0, 1]);
    },
  );

  it('tells clients apart by their TLS client certificate too, and forgets a principal after 30 days', () => {
    const d = new KnownDevices();
    const r = run(d, [
      ev({ ts: T0, user_agent: 'x', tls_client_fingerprint: 'cert-1' }),
      ev({ ts: T0 + MIN, user_agent: 'x', tls_client_fingerprint: 'cert-2' }),
      ev({ ts: T0 + 2 * MIN, user_agent: 'x', tls_client_fingerprint: 'cert-1' }),
      ev({ ts: T0 + 2 * MIN + 31 * D, user_agent: 'x', tls_client_fingerprint: 'cert-1' }),
    ]);
    expect(r.map((x) => x.agent_known)).toEqual([0, 0, 1, 0]);
  });

  it("does not know a user agent crafted to match a known client's 32-bit FNV-1a (as it did before the chosen hashes)", () => {
    const browser = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0';
    const tls = 'ja4:t13d1516h2_8daaf6152771_02713d6af862';
    const crafted = fnvMatch(browser, 'python-requests/2.31 ');
    expect(crafted).not.toBe(browser);
    expect(clientHash(crafted, tls)).toBe(clientHash(browser, tls));
    const r = run(new KnownDevices(), [
      ev({ ts: T0, user_agent: browser, tls_client_fingerprint: tls }),
      ev({ ts: T0 + MIN, user_agent: crafted, tls_client_fingerprint: tls }),
      ev({ ts: T0 + 2 * MIN, user_agent: browser, tls_client_fingerprint: tls }),
    ]);
    expect(r.map((x) => x.agent_known)).toEqual([0, 0, 1]);
  });
});

/**
 * A user agent `prefix` + two UTF-16 code units whose clientHash (32-bit FNV-1a) equals `agent`'s with any one TLS
 * fingerprint: FNV-1a's last two steps are solved for them (a multiply by an odd prime is invertible modulo 2^32), a
 * search of 2^16.
 */
function fnvMatch(agent: string, prefix: string): string {
  const P = 0x01000193;
  // P's inverse modulo 2^32, by Newton's iteration (each step doubles the bits that are right).
  let inv = P;
  for (let i = 0; i < 5; i++) inv = Math.imul(inv, 2 - Math.imul(P, inv));
  const fnv = (h: number, s: string) => {
    let x = h;
    for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), P);
    return x;
  };
  // clientHash(ua, tls) is fnv over the user agent, then NUL, then tls: equal user agent states give equal hashes.
  const target = fnv(0x811c9dc5, agent);
  const before = fnv(0x811c9dc5, prefix);
  const wanted = Math.imul(target, inv); // the state before the last step, xor the last code unit
  for (let a = 0; a < 0x10000; a++) {
    const mid = Math.imul(before ^ a, P);
    if (mid >>> 16 === wanted >>> 16) return prefix + String.fromCharCode(a, (mid ^ wanted) & 0xffff);
  }
  throw new Error('no two code units match (try another prefix)');
}

describe('GeoJump', () => {
  it('reads impossible travel (London → Sydney in 10 minutes, IPv6) as a huge speed and a country change', () => {
    const r = run(new GeoJump(geo), [ev({ ts: T0 }), ev({ ts: T0 + 10 * MIN, client_ip: '2a02:8070::1' })]);
    expect(r[0]).toEqual({
      geo_known: 1,
      geo_country_changed: 0,
      geo_distance_km_log: 0,
      geo_speed_kmh_log: 0,
      geo_country_new: 0,
    });
    expect(r[1]?.geo_country_changed).toBe(1);
    expect(Math.expm1(r[1]?.geo_speed_kmh_log ?? 0)).toBeGreaterThan(90_000);
  });

  it('does not alarm on a same-country carrier hop (London → Manchester in 5 minutes)', () => {
    const r = run(new GeoJump(geo), [ev({ ts: T0 }), ev({ ts: T0 + 5 * MIN, client_ip: '2.125.160.216' })]);
    expect(r[1]).toEqual({
      geo_known: 1,
      geo_country_changed: 0,
      geo_distance_km_log: 0,
      geo_speed_kmh_log: 0,
      geo_country_new: 0,
    });
  });

  it('treats an unknown IP as unknown, never as (0, 0), and a country-only IP as a country without distance', () => {
    const f = new GeoJump(geo);
    const r = run(f, [
      ev({ ts: T0 }),
      ev({ ts: T0 + MIN, client_ip: '10.1.2.3' }),
      ev({ ts: T0 + 2 * MIN, client_ip: '8.8.8.8' }),
    ]);
    expect(r[1]).toEqual({
      geo_known: 0,
      geo_country_changed: 0,
      geo_distance_km_log: 0,
      geo_speed_kmh_log: 0,
      geo_country_new: 0,
    });
    expect(r[2]).toEqual({
      geo_known: 1,
      geo_country_changed: 1,
      geo_distance_km_log: 0,
      geo_speed_kmh_log: 0,
      geo_country_new: 1,
    });
  });

  it(
    'marks a country new only the first time the principal is seen there ' + '(a VPN user going back to a usual exit)',
    () => {
      const sydney = '2a02:8070::1';
      const r = run(new GeoJump(geo), [
        ev({ ts: T0 }),
        ev({ ts: T0 + 10 * MIN, client_ip: sydney }),
        ev({ ts: T0 + 20 * MIN }),
        ev({ ts: T0 + 30 * MIN, client_ip: sydney }),
      ]);
      expect(r.map((x) => [x.geo_country_changed, x.geo_country_new])).toEqual([
        [0, 0],
        [1, 1],
        [1, 0],
        [1, 0],
      ]);
    },
  );
});

describe('TokenConsistency', () => {
  const fp = `v1:${'b'.repeat(64)}`;
  const use = (ts: number, ip: string, ua: string) =>
    ev({ ts, client_ip: ip, user_agent: ua, principal: { sub: 'alice', token_fingerprint: fp, client_ip: ip } });
  it('flags one token used from another agent and network within minutes, not hours apart', () => {
    const r = run(new TokenConsistency(), [
      use(T0, '81.2.69.142', 'app/1'),
      use(T0 + 2 * MIN, '81.2.69.7', 'app/1'),
      use(T0 + 3 * MIN, '203.0.113.5', 'curl/8'),
    ]);
    expect(r.map((x) => [x.token_agent_changed_10m, x.token_network_changed_10m])).toEqual([
      [0, 0],
      [0, 0],
      [1, 1],
    ]);
    expect(r[2]?.token_networks_1h_log).toBeCloseTo(Math.log1p(2));
    const later = run(new TokenConsistency(), [
      use(T0, '81.2.69.142', 'app/1'),
      use(T0 + 3 * H, '203.0.113.5', 'curl/8'),
    ]);
    expect(later[1]?.token_agent_changed_10m).toBe(0);
  });
});

describe('chosenHash', () => {
  it("is SHA-1's first 53 bits: an integer a double holds exactly", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const d = createHash('sha1').update(s, 'utf8').digest();
        const h = chosenHash(s);
        expect(Number.isSafeInteger(h)).toBe(true);
        expect(BigInt(h)).toBe(d.readBigUInt64BE(0) >> 11n);
      }),
    );
  });
});

describe('tokenKey', () => {
  const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
  it("is `~` and a fingerprint's first 72 bits in base64url: 13 characters", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99 }), hex64, (version, hex) => {
        const key = tokenKey(`v${version}:${hex}`);
        expect(key).toHaveLength(13);
        expect(key[0]).toBe('~');
        expect(Buffer.from(key.slice(1), 'base64url').toString('hex')).toBe(hex.slice(0, 18));
      }),
    );
  });

  it('keeps anything not shaped as a fingerprint as it is', () => {
    const hex = 'ab'.repeat(32);
    for (const id of ['jti-1', hex, `:${hex}`, `v1:${hex.toUpperCase()}`, `v1:${hex.slice(0, 17)}g${hex.slice(18)}`])
      expect(tokenKey(id)).toBe(id);
  });
});

describe('TransactionDeviation', () => {
  const pay = (ts: number, amount: number, payee = 'p-1') =>
    ev({
      ts,
      method: 'POST',
      route: '/v1/payments',
      object_ids: [],
      tx: { amount, currency: 'EUR', payee_id: payee, account_id: 'acc-1' },
    });

  it('keeps zero-variance amounts calm and flags a large one', () => {
    const f = new TransactionDeviation();
    run(
      f,
      Array.from({ length: 30 }, (_, i) => pay(T0 + i * D, 100)),
    );
    const small = run(f, [pay(T0 + 31 * D, 101)])[0];
    // Calm: well under the deviation's floor (the prior, two payments' worth of 30, still pulls the mean by ~4 %).
    expect(Math.abs(small?.tx_amount_z ?? 99)).toBeLessThan(0.25);
    const large = run(f, [pay(T0 + 32 * D, 5000)])[0];
    expect(large?.tx_amount_z).toBeGreaterThan(10);
    expect(large?.tx_ratio_to_max_log2).toBeCloseTo(Math.log2(50), 1);
  });

  it('treats a payee seen once long ago as new, a recent one as known', () => {
    const f = new TransactionDeviation();
    run(f, [pay(T0, 50, 'old'), pay(T0 + D, 50, 'recent')]);
    const r = run(f, [pay(T0 + 200 * D, 50, 'old'), pay(T0 + 201 * D, 50, 'recent'), pay(T0 + 202 * D, 50, 'recent')]);
    expect(r.map((x) => x.tx_new_payee)).toEqual([1, 1, 0]);
  });

  it('flags the conjunction: a new payee, an unusual amount and an unusual hour together', () => {
    const f = new TransactionDeviation();
    run(
      f,
      Array.from({ length: 40 }, (_, i) => pay(T0 + i * D + (i % 3) * MIN, 80 + (i % 5))),
    );
    const fraud = run(f, [pay(T0 + 41 * D + 18 * H, 2500, 'mule-9')])[0];
    expect(fraud?.tx_new_payee).toBe(1);
    expect(fraud?.tx_hour_unusual).toBeGreaterThan(0.9);
    expect(fraud?.tx_conjunction).toBeGreaterThan(5);
    expect(run(f, [pay(T0 + 42 * D, 82)])[0]?.tx_conjunction).toBe(0);
  });

  it(
    "adds up a drain's risk over new payees, weighs novelty by the account's own new-payee rate, and " +
      'lets it decay',
    () => {
      // A customer paying three habitual payees ~80 a day for 30 days, in the morning.
      const habitual = new TransactionDeviation();
      run(
        habitual,
        Array.from({ length: 30 }, (_, i) => pay(T0 + i * D, 80 + (i % 5), `p-${i % 3}`)),
      );
      // A known payee adds nothing, at any amount; three new payees in minutes, each ~10× the usual, add up.
      expect(run(habitual, [pay(T0 + 30 * D, 400, 'p-1')])[0]?.tx_risk_1h).toBe(0);
      const drain = run(habitual, [
        pay(T0 + 31 * D, 900, 'mule-1'),
        pay(T0 + 31 * D + 20_000, 800, 'mule-2'),
        pay(T0 + 31 * D + 40_000, 950, 'mule-3'),
      ]);
      const risks = drain.map((r) => r.tx_risk_1h as number);
      expect(risks[1]).toBeGreaterThan(risks[0] as number);
      expect(risks[2]).toBeGreaterThan(risks[1] as number);
      expect(risks[2]).toBeGreaterThan(12);
      // Three hours later most of it is gone (one-hour time constant): a known payee's payment carries only the rest.
      const later = run(habitual, [pay(T0 + 31 * D + 3 * H, 82, 'p-0')])[0]?.tx_risk_1h as number;
      expect(later).toBeCloseTo((risks[2] as number) * Math.exp(-(3 * H - 40_000) / H), 9);

      // An account that pays a new payee in every other payment finds one unsurprising.
      const agency = new TransactionDeviation();
      run(
        agency,
        Array.from({ length: 30 }, (_, i) => pay(T0 + i * D, 80 + (i % 5), i % 2 ? `temp-${i}` : 'p-0')),
      );
      const oneMore = run(agency, [pay(T0 + 30 * D, 85, 'temp-new')])[0]?.tx_risk_1h as number;
      const oneNewForHabitual = run(habitual, [pay(T0 + 40 * D, 85, 'new-shop-2')])[0]?.tx_risk_1h as number;
      expect(oneMore).toBeLessThan(1);
      expect(oneNewForHabitual).toBeGreaterThan(1.5);
    },
  );

  it("reads a quiet account's payment hour against the principal's activity hours until it has its own", () => {
    const f = new TransactionDeviation();
    // A week of mornings (09:00–09:20 UTC) reading the account, no payment.
    run(
      f,
      Array.from({ length: 7 * 5 }, (_, i) => ev({ ts: T0 + Math.floor(i / 5) * D + (i % 5) * 4 * MIN })),
    );
    const night = run(f, [pay(T0 + 7 * D + 18 * H, 60, 'new-1')])[0];
    expect(night?.tx_hour_unusual).toBeGreaterThan(0.9);
    const morning = run(f, [pay(T0 + 8 * D + 5 * MIN, 60, 'new-2')])[0];
    expect(morning?.tx_hour_unusual).toBeLessThan(0.2);
  });

  it('writes zeros for requests without a transaction', () => {
    expect(Object.values(run(new TransactionDeviation(), [ev({ ts: T0 })])[0] ?? {})).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
  });

  it("counts an account's payments before its current burst (an hour apart at most, within its first hour)", () => {
    const f = new TransactionDeviation();
    const history = (rows: Record<string, number>[]) =>
      rows.map((r) => Math.round(Math.expm1(r.tx_history_log as number)));
    expect(
      history(
        run(f, [pay(T0, 40, 'shop'), pay(T0 + 2 * H, 2000, 'staff-1'), pay(T0 + 2 * H + 50 * MIN, 2100, 'staff-2')]),
      ),
    ).toEqual([0, 1, 1]);
    // 50 minutes after the one before but 100 after the burst's first: a burst lasts an hour at most, so a steady
    // payer's day is many bursts; an hour's pause starts the next one too.
    expect(history(run(f, [pay(T0 + 3 * H + 40 * MIN, 2000, 'staff-3'), pay(T0 + D, 2000, 'staff-1')]))).toEqual([
      3, 4,
    ]);
  });

  it("reads a burst's pace as its shortest gap so far, from its second payment on", () => {
    const f = new TransactionDeviation();
    const gaps = (rows: Record<string, number>[]) =>
      rows.map((r) => Math.round(Math.expm1(r.tx_burst_gap_s_log as number) * 10) / 10);
    // A supplier payment, then half an hour later a payroll file paying one employee every 0.8 s: a batch all along.
    const payroll = [
      pay(T0, 900, 'supplier'),
      ...[0, 1, 2, 3].map((i) => pay(T0 + 30 * MIN + i * 800, 2000, `s-${i}`)),
    ];
    expect(gaps(run(f, payroll))).toEqual([3600, 1800, 0.8, 0.8, 0.8]);
    // Payments typed in by hand, 12 s and 40 s apart, after an hour's pause (a new burst: the old pace is gone).
    const typed = [0, 12, 52].map((s) => pay(T0 + 3 * H + s * 1000, 300, `p-${s}`));
    expect(gaps(run(f, typed))).toEqual([3600, 12, 12]);
  });

  it('knows a rhythm only once the principal has been seen for a day', () => {
    const f = new TransactionDeviation();
    const known = (rows: Record<string, number>[]) => rows.map((r) => r.tx_rhythm_known);
    expect(known(run(f, [ev({ ts: T0 }), pay(T0 + 20 * H, 40, 'a')]))).toEqual([0, 0]);
    expect(known(run(f, [pay(T0 + D, 40, 'b')]))).toEqual([1]);
  });

  it("weighs a payment's hour as a surprise in nats, read with its neighbours and at the hour its burst began", () => {
    const f = new TransactionDeviation();
    // Three weeks of payments to one payee at 10:00 UTC.
    run(
      f,
      Array.from({ length: 21 }, (_, d) => pay(T0 + d * D + 10 * H, 40, 'rent')),
    );
    // A new payee at the usual amount: at 11:00 the neighbouring hour vouches for it; at 03:00 nothing does.
    const at = (day: number, hour: number) => run(f, [pay(T0 + day * D + hour * H, 40, `new-${day}`)])[0];
    const near = at(21, 11);
    const night = at(23, 3);
    expect(near?.tx_hour_unusual).toBeLessThan(0.55); // half as usual as 10:00 itself
    expect(night?.tx_hour_unusual).toBeGreaterThan(0.9);
    expect((night?.tx_risk_1h as number) - (near?.tx_risk_1h as number)).toBeGreaterThan(1.5);
  });

  it('keeps the hour a burst began at: its own payments do not make a night burst look usual', () => {
    const f = new TransactionDeviation();
    // Three weeks of one daytime payment a day, then a burst at night.
    run(
      f,
      Array.from({ length: 21 }, (_, d) => pay(T0 + d * D + 10 * H, 40, 'rent')),
    );
    const night = run(
      f,
      [0, 1, 2, 3, 4, 5].map((i) => pay(T0 + 21 * D + 3 * H + i * MIN, 300, `new-${i}`)),
    );
    expect(night[0]?.tx_burst_hour_unusual).toBeGreaterThan(0.9);
    expect(night.every((r) => r.tx_burst_hour_unusual === night[0]?.tx_burst_hour_unusual)).toBe(true);
  });
});

/** 300 events of 40 principals; a writer that has seen the first 200, and its changelog records of them. */
function checkpointed() {
  const events = Array.from({ length: 300 }, (_, i) =>
    ev({ ts: T0 + i * 900, principal: { sub: `u${i % 40}` }, client_ip: i % 3 ? '81.2.69.142' : '2a02:8070::1' }),
  );
  const writer = FeatureExtractor.standard(geo);
  writer.trackChanges();
  for (const e of events.slice(0, 200)) writer.extract(e);
  const changes = writer.drainChanges().filter((c): c is [string, Buffer] => c[1] !== null);
  return { events, writer, changes };
}

describe('FeatureExtractor', () => {
  it('gives the same vectors for the same events and states its schema with a stable hash', () => {
    const events = Array.from({ length: 200 }, (_, i) =>
      ev({ ts: T0 + i * 700, object_ids: [String(i % 17)], client_ip: i % 50 === 0 ? '2a02:8070::1' : '81.2.69.142' }),
    );
    const a = FeatureExtractor.standard(geo);
    const b = FeatureExtractor.standard(geo);
    expect(events.map((e) => [...a.extract(e)])).toEqual(events.map((e) => [...b.extract(e)]));
    expect(a.schema.hash).toBe(b.schema.hash);
    expect(a.schema.names).toHaveLength(a.extract(events[0] as AccessEvent).length);
    const other = new FeatureExtractor([
      new Velocity({ maxKeys: 10, priorPerMinute: 3, priorWeightMinutes: 10, peakDecayPerDay: 0.98, habitTtlDays: 35 }),
    ]);
    expect(other.schema.hash).not.toBe(new FeatureExtractor([new Velocity()]).schema.hash);
    for (const e of events) for (const x of a.extract(e)) expect(Number.isFinite(x)).toBe(true);
  });

  it('restores groups lying in a larger buffer (a changelog segment) as copies, and goes on as the writer would', () => {
    const { events, writer, changes } = checkpointed();
    // Every group a view of one buffer larger than a restore's slab, overwritten once restored.
    const whole = Buffer.alloc(256 * 1024);
    let at = 0;
    const views = changes.map(([key, value]): [string, Buffer] => {
      value.copy(whole, at);
      at += value.length;
      return [key, whole.subarray(at - value.length, at)];
    });
    const restored = FeatureExtractor.standard(geo);
    restored.restore(views);
    whole.fill(0);
    for (const [key, value] of changes) expect(restored.encoded(key)).toEqual(value);
    for (const e of events.slice(200)) expect([...restored.extract(e)]).toEqual([...writer.extract(e)]);
  });

  it('restores a changelog of the forms before the compact ones (packed groups, fixed headers) and goes on the same', () => {
    const { events, writer, changes } = checkpointed();
    const prefixes = writer.families.flatMap((f) => Object.keys(f.stores).map((name) => `${f.id}/${name}/`));
    const groups = new KeyGroups(prefixes);
    // Each group as vigil wrote it before: its stores named by prefix (packEntries), each entry behind the fixed
    // header, charged with the entry's overhead and key, and its state with no times written back from the header.
    const before = changes.map(([key, group]): [string, Buffer] => {
      const entries: { key: Buffer; value: Buffer }[] = [];
      groups.forEachEntry(group, (store, at, end) => {
        const r = readRecord(group.subarray(at, end));
        const charge = r.charged + 103 + keyBytes(key.slice(1));
        const header = Buffer.alloc(26);
        header.writeUInt8(0xc5, 0);
        header.writeDoubleLE(r.lastSeen, 1);
        header.writeDoubleLE(r.seq, 9);
        header.writeUInt8(r.returning ? 1 : 0, 17);
        header.writeDoubleLE(charge, 18);
        entries.push({ key: Buffer.from(prefixes[store] as string), value: encodeState(r.state, header) });
      });
      return [key, packEntries(entries)];
    });
    const compact = changes.reduce((n, [, v]) => n + v.length, 0);
    expect(compact).toBeLessThan(0.6 * before.reduce((n, [, v]) => n + v.length, 0));
    const restored = FeatureExtractor.standard(geo);
    restored.restore(before);
    expect(restored.stateStats()).toEqual(writer.stateStats());
    for (const e of events.slice(200)) expect([...restored.extract(e)]).toEqual([...writer.extract(e)]);
  });
});

describe('feature family identity', () => {
  it('keys the schema hash by the family id (checkpoint keys too), not its class name', () => {
    class RenamedVelocity extends Velocity {}
    const original = new FeatureExtractor([new Velocity()]);
    const renamed = new FeatureExtractor([new RenamedVelocity()]);
    expect(renamed.schema.hash).toBe(original.schema.hash);
    expect(renamed.schema.families[0]?.family).toBe('Velocity');
  });

  it('refuses two families with one id', () => {
    expect(() => new FeatureExtractor([new Velocity(), new Velocity()])).toThrow(
      /two feature families have the id 'Velocity'/,
    );
  });
});

describe('TransactionDeviation activity hours', () => {
  /** The activity hours as they were kept before the one-bin form: always 24 Float32 bins (the code of b789bd3). */
  function denseCount(act: { n: number; scale: number; hours: Float32Array }, hour: number, decay: number) {
    const unusual = unusualHourOf(act.hours, act.n, hour, act.scale);
    act.scale *= decay;
    if (act.scale < 1e-20) {
      for (let h = 0; h < 24; h++) act.hours[h] = (act.hours[h] as number) * act.scale;
      act.scale = 1;
    }
    act.hours[hour] = (act.hours[hour] as number) + 1 / act.scale;
    act.n++;
    return unusual;
  }
  // unusualHour and its smoothing, as at b789bd3.
  const unusualHourOf = (hours: Float32Array, n: number, hour: number, scale: number) => {
    if (n === 0) return 0;
    const smoothed = (h: number) => {
      const at = (k: number) => hours[(h + k + 24) % 24] as number;
      return at(0) + 0.5 * (at(-1) + at(1)) + 0.25 * (at(-2) + at(2));
    };
    let peak = 0;
    for (let h = 0; h < 24; h++) peak = Math.max(peak, smoothed(h));
    return 1 - (smoothed(hour) * scale + 0.5) / (peak * scale + 0.5);
  };

  it('keeps one hour as a bin and two or more as 24: every reading and bin the same bits as 24 bins throughout', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ hour: fc.integer({ min: 0, max: 23 }), checkpoint: fc.boolean() }), { maxLength: 60 }),
        // A fast decay: the bins are renormalised every few requests (scale below 1e-20), as every ~9,000 by default.
        fc.constantFrom(0.995, 1e-3, 1e-7),
        (requests, decay) => {
          const dense = { n: 0, scale: 1, hours: new Float32Array(24) };
          let act: Activity = { last: 0, first: 0, n: 0, scale: 1, hours: undefined, hour: -1, bin: 0 };
          for (const { hour, checkpoint } of requests) {
            // Through the checkpoint codec now and then, as a restore gives the state back.
            if (checkpoint) act = decodeState<Activity>(encodeState(act));
            expect(countActivity(act, hour, decay, true)).toBe(denseCount(dense, hour, decay));
            expect([...activityHours(act)]).toEqual([...dense.hours]);
            expect(act.scale).toBe(dense.scale);
          }
          // The typed array only once two different hours were seen.
          expect(act.hours !== undefined).toBe(new Set(requests.map((r) => r.hour)).size > 1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('adds to the one bin with the same bits as a Float32Array bin, for any weights', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ hour: fc.integer({ min: 0, max: 23 }), weight: fc.double({ min: 1e-3, max: 1e6, noNaN: true }) }),
          { maxLength: 40 },
        ),
        (adds) => {
          const dense = new Float32Array(24);
          const act: Activity = { last: 0, first: 0, n: 0, scale: 1, hours: undefined, hour: -1, bin: 0 };
          for (const { hour, weight } of adds) {
            dense[hour] = (dense[hour] as number) + weight;
            addActivity(act, hour, weight);
            expect([...activityHours(act)]).toEqual([...dense]);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('goes on from state written before the one-bin form (24 bins, no hour or bin)', () => {
    const dense = { n: 0, scale: 1, hours: new Float32Array(24) };
    for (const hour of [3, 3, 9]) denseCount(dense, hour, 0.995);
    const old = decodeState<Activity>(encodeState({ last: 0, first: 0, ...dense, hours: dense.hours.slice() }));
    expect(countActivity(old, 4, 0.995, true)).toBe(denseCount(dense, 4, 0.995));
    expect([...activityHours(old)]).toEqual([...dense.hours]);
  });
});
