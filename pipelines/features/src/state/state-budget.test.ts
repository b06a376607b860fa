import type { AccessEvent } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import { FeatureExtractor } from '../extractor.js';
import type { GeoLookup } from '../geo/lookup.js';
import { KeyedState } from './keyed-state.js';
import { StateBudget } from './state-budget.js';

const T0 = Date.UTC(2026, 10, 2, 9);
const HOUR = 3_600_000;
/** Entries of a known size: the store's overhead plus a one-character key plus sizeOf. */
const store = (budget?: StateBudget) => {
  const s = new KeyedState<{ n: number }>({ ttlMs: HOUR, maxKeys: 1000, sizeOf: () => 99 });
  if (budget) s.useBudget(budget);
  return s;
};
const entryBytes = (() => {
  const s = store();
  s.get('a', T0, () => ({ n: 0 }));
  return s.bytes;
})();

describe('StateBudget', () => {
  it('refuses a budget that is not a positive number of bytes', () => {
    expect(() => new StateBudget(0)).toThrow(/positive/);
    expect(() => new StateBudget(Number.NaN)).toThrow(/positive/);
  });

  it('keeps a store within the budget by evicting its least recently seen keys, counted, and changelogs them', () => {
    const budget = new StateBudget(entryBytes * 10);
    const s = store(budget);
    s.trackChanges();
    for (let i = 0; i < 10; i++) s.get(String.fromCharCode(97 + i), T0 + i, () => ({ n: i }));
    s.drainChanges();
    expect(s.evictedByBudget).toBe(0);
    // 'a' is touched again, so 'b' is the least recently seen when the budget fills.
    s.get('a', T0 + 20, () => ({ n: -1 }));
    for (let i = 0; i < 5; i++) s.get(String.fromCharCode(65 + i), T0 + 30 + i, () => ({ n: i }));
    expect(budget.used).toBeLessThanOrEqual(budget.limitBytes);
    expect(s.evictedByBudget).toBe(5);
    expect(budget.evicted).toBe(5);
    expect([...s.keys()].slice(0, 2)).toEqual(['g', 'h']);
    expect(s.get('a', T0 + 40, () => ({ n: -1 })).n).toBe(0);
    const tombstones = s
      .drainChanges()
      .filter(([, v]) => v === null)
      .map(([k]) => k);
    expect(tombstones.sort()).toEqual(['b', 'c', 'd', 'e', 'f']);
  });

  it('evicts keys seen once before keys with history, however long ago those were seen', () => {
    const budget = new StateBudget(entryBytes * 20);
    const s = store(budget);
    s.trackChanges();
    // Ten customers with history (seen twice), then quiet for half an hour.
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < 10; i++) s.get(`c${i}`, T0 + round * 1000 + i, () => ({ n: i }));
    // A wave of 500 one-request keys.
    for (let i = 0; i < 500; i++) s.get(`w${i}`, T0 + 1_800_000 + i, () => ({ n: -1 }));
    expect(s.evictedByBudget).toBeGreaterThanOrEqual(480);
    for (let i = 0; i < 10; i++) expect(s.get(`c${i}`, T0 + 1_900_000, () => ({ n: -1 })).n).toBe(i);
    // Restored from the changelog, the returning keys stay returning: the next wave still passes them by.
    const restored = store(new StateBudget(entryBytes * 20));
    for (const [k, v] of s.drainChanges()) restored.restoreEntry(k, v);
    restored.finishRestore();
    for (let i = 0; i < 100; i++) restored.get(`v${i}`, T0 + 2_000_000 + i, () => ({ n: -1 }));
    expect([...restored.keys()].filter((k) => k.startsWith('c'))).toHaveLength(10);
  });

  it('makes one store give up its own keys only, never another store’s', () => {
    const budget = new StateBudget(entryBytes * 6);
    const full = store(budget);
    const other = store(budget);
    for (let i = 0; i < 6; i++) full.get(String(i), T0 + i, () => ({ n: i }));
    for (let i = 0; i < 4; i++) other.get(String(i), T0 + 10 + i, () => ({ n: i }));
    expect(full.size).toBe(6);
    expect(full.evictedByBudget).toBe(0);
    // The other store's first key has nothing of its own to evict; later ones each evict twice their size at most.
    expect(other.size).toBeLessThanOrEqual(2);
    expect(budget.used).toBeLessThanOrEqual(budget.limitBytes + entryBytes);
  });

  it('gives the bytes back when a store is released, and charges restored state', () => {
    const budget = new StateBudget(entryBytes * 100);
    const s = store(budget);
    s.trackChanges();
    for (let i = 0; i < 7; i++) s.get(String(i), T0 + i, () => ({ n: i }));
    const records = s.drainChanges();
    expect(budget.used).toBe(7 * entryBytes);
    s.release();
    expect(budget.used).toBe(0);
    const restored = store(budget);
    for (const [k, v] of records) restored.restoreEntry(k, v);
    restored.finishRestore();
    expect(budget.used).toBe(7 * entryBytes);
  });

  it('holds the extractor’s state within the budget on a wave of new principals, and changes nothing under it', () => {
    const geo: GeoLookup = { lookup: () => ({ country: 'GB', city: 'London', lat: 51.5, lon: -0.12 }) };
    const wave = (i: number): AccessEvent => {
      const ip = `45.0.${(i >> 8) & 255}.${i & 255}`;
      return {
        ts: T0 + i * 10,
        request_id: `r-${i}`,
        gateway: 'canonical',
        method: 'GET',
        path: `/v1/accounts/${i}`,
        route: '/v1/accounts/{id}',
        object_ids: [String(i)],
        query_keys: [],
        status: 401,
        client_ip: ip,
        principal: { token_fingerprint: `v1:${i.toString(16).padStart(64, '0')}`, client_ip: ip },
      };
    };
    const plain = FeatureExtractor.standard(geo);
    const roomy = FeatureExtractor.standard(geo, { budget: new StateBudget(2 ** 30) });
    const tightBudget = new StateBudget(2 ** 20);
    const tight = FeatureExtractor.standard(geo, { budget: tightBudget });
    let differs = 0;
    for (let i = 0; i < 4000; i++) {
      const e = wave(i);
      const a = plain.extract(e);
      expect([...roomy.extract(e)]).toEqual([...a]);
      if (tight.extract(e).some((v, j) => v !== a[j])) differs++;
    }
    expect(roomy.stateStats().evictedByBudget).toBe(0);
    const stats = tight.stateStats();
    expect(stats.evictedByBudget).toBeGreaterThan(0);
    expect(tightBudget.used).toBe(stats.bytes);
    expect(stats.bytes).toBeLessThanOrEqual(tightBudget.limitBytes + 4096);
    expect(plain.stateBytes()).toBeGreaterThan(tightBudget.limitBytes * 3);
    // Every key in this wave is new: evicting old ones changes none of its vectors.
    expect(differs).toBe(0);
    // What eviction does change: the first principal, back after it was evicted, starts over (its hour's count is 1).
    const back = { ...wave(0), ts: T0 + 50_000, request_id: 'back' };
    const req1h = plain.names.indexOf('req_1h_log');
    expect(plain.extract(back)[req1h]).toBeCloseTo(Math.log1p(2));
    expect(tight.extract(back)[req1h]).toBeCloseTo(Math.log1p(1));
  });
});
