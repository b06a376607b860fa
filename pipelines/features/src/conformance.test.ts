// One conformance suite, run against every feature family the standard extractor holds (River's estimator checks,
// for features; the models have theirs in models/bundle). A new family passes it by being added to
// FeatureExtractor.standard, or to EXTRA below. Each family, over a varied stream — principals of every key kind,
// logins that fail and succeed, payments, enumeration, IPv6, an address no GeoIP database knows, events without
// their optional fields, late events, and a second day:
// - writes only its own positions of the vector, every value finite;
// - leaves the event as it was (events are frozen: a write throws);
// - gives the same values from a fresh instance (determinism);
// - gives the same values after a checkpoint is drained mid-stream and restored into a fresh instance;
// - declares a stable id, unique names, JSON-serialisable params;
// - keeps to each feature's declared encoding (a flag is 0 or 1, a share within [0, 1], a log1p never negative), and
//   varies each feature over the stream (a declared feature that no code writes stays 0).
import { type AccessEvent, principalKey } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import { decodeFeature, FEATURE_DECLARATIONS } from './declarations.js';
import { FeatureExtractor } from './extractor.js';
import { declareFeatures, type Encoding } from './features/declare.js';
import type { FeatureFamily } from './features/feature.js';
import type { GeoLookup, GeoPoint } from './geo/lookup.js';

const T0 = Date.UTC(2026, 10, 2, 8);
const CITIES: Record<string, GeoPoint> = {
  '81.2.69.142': { country: 'GB', city: 'London', lat: 51.5072, lon: -0.1276 },
  '2.125.160.216': { country: 'GB', city: 'Manchester', lat: 53.4808, lon: -2.2426 },
  '2a02:8070::1': { country: 'AU', city: 'Sydney', lat: -33.8688, lon: 151.2093 },
  '8.8.8.8': { country: 'US', city: '', lat: 37.751, lon: -97.822 },
};
const geo: GeoLookup = { lookup: (ip) => CITIES[ip] };
const ADDRESSES = [...Object.keys(CITIES), '10.0.0.7', '198.51.100.23'];

/** Families beside the standard ones that must pass too (none yet: a family under development goes here). */
const EXTRA: (() => FeatureFamily)[] = [];

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** A seeded stream touching every family's paths: see the head of the file. */
function stream(n: number, seed: number): AccessEvent[] {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
  const events: AccessEvent[] = [];
  let ts = T0;
  for (let i = 0; i < n; i++) {
    ts += Math.floor(rand() * 40_000);
    // Halfway, the next day: features of a principal's own earlier days (habits, rhythm) need one.
    if (i === n >> 1) ts += 24 * 3_600_000;
    const ip = pick(ADDRESSES);
    const who = Math.floor(rand() * 12);
    // A late event now and then: up to five minutes behind the newest.
    const at = rand() < 0.08 ? ts - Math.floor(rand() * 300_000) : ts;
    const kind = pick(['sub', 'sub', 'sub', 'token', 'login', 'anonymous'] as const);
    const id = String(40_000 + Math.floor(rand() * 30));
    const base: AccessEvent = {
      ts: at,
      request_id: `r-${i}`,
      gateway: 'canonical',
      method: 'GET',
      path: `/v1/accounts/${id}`,
      route: '/v1/accounts/{id}',
      object_ids: [id],
      query_keys: rand() < 0.2 ? ['page'] : [],
      status: pick([200, 200, 200, 403, 404, 400]),
      client_ip: ip,
      principal: { client_ip: ip },
    };
    if (rand() < 0.3) base.user_agent = pick(['VigilBank/5.2 (Android 15)', 'python-requests/2.32', '']);
    events.push(deepFreeze(asKind(base, kind, who, rand)));
  }
  return events;
}

/** The event as a principal of `kind` sends it: a customer's session (paying, now and then), a bare token, a login. */
function asKind(base: AccessEvent, kind: string, who: number, rand: () => number): AccessEvent {
  const ip = base.client_ip;
  if (kind === 'token') base.principal = { token_fingerprint: `v1:${who.toString(16).padStart(64, '0')}` };
  if (kind === 'login') {
    const username = `user-${who}@mail.example`;
    Object.assign(base, { method: 'POST', path: '/oauth/token', route: '/oauth/token', object_ids: [] });
    base.status = rand() < 0.6 ? 401 : 200;
    base.principal = { username, client_ip: ip };
    base.login = { username, grant_type: 'password' };
  }
  if (kind !== 'sub') return base;
  base.principal = { sub: `customer-${who}`, client_id: rand() < 0.5 ? 'app' : 'web', client_ip: ip };
  if (rand() >= 0.25) return base;
  Object.assign(base, { method: 'POST', path: '/v1/payments', route: '/v1/payments', object_ids: [], status: 201 });
  base.tx = {
    amount: Math.round(5 + rand() * 900),
    ...(rand() < 0.8 ? { payee_id: `payee-${Math.floor(rand() * 6)}` } : {}),
    ...(rand() < 0.5 ? { account_id: `acct-${who}` } : {}),
    ...(rand() < 0.5 ? { currency: 'EUR' } : {}),
  };
  return base;
}

const families = (): FeatureFamily[] => [...FeatureExtractor.standard(geo).families, ...EXTRA.map((make) => make())];

/** The family's values for every event, written into a vector filled with a sentinel around its positions. */
function run(family: FeatureFamily, events: AccessEvent[]): number[][] {
  const offset = 3;
  const width = family.features.names.length;
  return events.map((event) => {
    const out = new Float64Array(width + 2 * offset).fill(-7.25);
    family.update(event, out, offset, principalKey(event));
    for (let i = 0; i < out.length; i++) {
      if (i >= offset && i < offset + width) continue;
      if (out[i] !== -7.25) throw new Error(`${family.id} wrote position ${i - offset} outside its ${width} positions`);
    }
    return [...out.subarray(offset, offset + width)];
  });
}

/** Whether a value can be of its declared encoding. */
function fits(encoding: Encoding, x: number): boolean {
  if (encoding === 'flag') return x === 0 || x === 1;
  if (encoding === 'share') return x >= 0 && x <= 1;
  if (encoding === 'log1p') return x >= 0;
  return true;
}

const fresh = (id: string) => families().find((f) => f.id === id) as FeatureFamily;

describe.each(families().map((f) => [f.id]))('feature family %s', (id) => {
  const events = stream(600, 17);

  it('declares a stable id, unique names and JSON-serialisable params', () => {
    const f = fresh(id);
    expect(f.id).toMatch(/^[A-Za-z][A-Za-z0-9]*$/);
    expect(new Set(f.features.names).size).toBe(f.features.names.length);
    expect(f.features.names.length).toBeGreaterThan(0);
    expect(JSON.parse(JSON.stringify(f.params))).toEqual(f.params);
  });

  it('writes only its own positions, finite values, and leaves the (frozen) events as they were', () => {
    const before = JSON.stringify(events);
    const values = run(fresh(id), events);
    for (const [i, v] of values.entries()) {
      for (const [j, x] of v.entries()) {
        if (!Number.isFinite(x)) throw new Error(`${id}: ${fresh(id).features.names[j]} is ${x} for event ${i}`);
      }
    }
    expect(JSON.stringify(events)).toBe(before);
  });

  it('keeps every feature within its declared encoding and varies each over the stream', () => {
    const f = fresh(id);
    const values = run(f, events);
    f.features.list.forEach((declared, j) => {
      const column = values.map((v) => v[j] as number);
      const where = `${id}: ${declared.name} (${declared.encoding})`;
      expect(declared.means.length, where).toBeGreaterThan(10);
      expect(declared.window.length, where).toBeGreaterThan(0);
      expect(new Set(column).size, `${where} never varies`).toBeGreaterThan(1);
      const bad = column.find((x) => !fits(declared.encoding, x));
      expect(bad, `${where} holds ${bad}`).toBeUndefined();
    });
  });

  it('gives the same values from a fresh instance', () => {
    expect(run(fresh(id), events)).toEqual(run(fresh(id), events));
  });

  it('gives the same values after a checkpoint is restored into a fresh instance', () => {
    const whole = run(fresh(id), events);
    const first = fresh(id);
    for (const store of Object.values(first.stores)) store.trackChanges();
    run(first, events.slice(0, 350));
    const restored = fresh(id);
    for (const [name, store] of Object.entries(first.stores)) {
      const target = restored.stores[name];
      if (!target) throw new Error(`${id}: a fresh instance has no store ${name}`);
      for (const [key, value] of store.drainChanges()) target.restoreEntry(key, value);
      target.finishRestore();
    }
    expect(run(restored, events.slice(350))).toEqual(whole.slice(350));
  });
});

describe('feature declarations', () => {
  it('declare every feature of the standard schema, in its order, and nothing else', () => {
    const schema = FeatureExtractor.standard(geo).schema;
    expect([...FEATURE_DECLARATIONS.keys()]).toEqual(schema.names);
  });

  it('refuse a name declared twice', () => {
    const twice = { name: 'x_log', encoding: 'log1p', window: '1 h', means: 'log1p(x) — twice' } as const;
    expect(() => declareFeatures([twice, twice])).toThrow(/'x_log' is declared twice/);
  });

  it('undo their encodings for a reader', () => {
    expect(decodeFeature('req_1m_log', Math.log1p(37))).toBeCloseTo(37, 9);
    expect(decodeFeature('rate_ratio_1m', Math.log2(0.25))).toBeCloseTo(0.25, 9);
    expect(decodeFeature('tx_risk_1h', 7.5)).toBe(7.5);
  });
});
