// KeyedState (slots in typed-array columns) against a plain model of its rules: two recency lists as arrays, event-time
// TTL, the key cap and the byte budget. Random operations, with checkpoints restored into a fresh store along the way
// (restore must carry on exactly, freed slots reused), compare keys in recency order, values and eviction counts.
import { grown } from '@vigil/core';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { slotTime } from '../features/feature.js';
import { GROWTH, KEY_OVERHEAD, KeyIndex, keyBytes, RECENCY_BYTES } from './key-index.js';
import { KeyedState } from './keyed-state.js';
import { encodeRecord, readRecord } from './record-header.js';
import { StateBudget } from './state-budget.js';
import { encodeState } from './state-codec.js';

interface ModelEntry {
  n: number;
  lastSeen: number;
  seq: number;
}

/** The rules of keyed-state.ts, written plainly. */
class Model {
  entries = new Map<string, ModelEntry>();
  once: string[] = [];
  again: string[] = [];
  seq = 0;
  used = 0;
  evicted = { ttl: 0, cap: 0, budget: 0 };

  constructor(
    readonly ttl: number,
    readonly maxKeys: number,
    readonly entryBytes: number,
    readonly limit: number,
  ) {}

  private remove(key: string) {
    this.entries.delete(key);
    for (const list of [this.once, this.again]) if (list.includes(key)) list.splice(list.indexOf(key), 1);
    this.used -= this.entryBytes;
  }

  private evictFirst(keep: string | undefined): boolean {
    const onceHead = this.once[0];
    const candidate = onceHead !== undefined && onceHead !== keep ? onceHead : this.again[0];
    if (candidate === undefined || candidate === keep) return false;
    this.remove(candidate);
    return true;
  }

  get(key: string, now: number, init: number): ModelEntry {
    let e = this.entries.get(key);
    if (e && now - e.lastSeen > this.ttl) {
      this.remove(key);
      this.evicted.ttl++;
      e = undefined;
    }
    if (e) {
      for (const list of [this.once, this.again]) if (list.includes(key)) list.splice(list.indexOf(key), 1);
      this.again.push(key);
    } else {
      if (this.entries.size >= this.maxKeys && this.evictFirst(undefined)) this.evicted.cap++;
      e = { n: init, lastSeen: now, seq: 0 };
      this.entries.set(key, e);
      this.once.push(key);
      this.used += this.entryBytes;
      let freed = 0;
      while (this.used > this.limit && freed < 2 * this.entryBytes && this.evictFirst(key)) {
        freed += this.entryBytes;
        this.evicted.budget++;
      }
    }
    e.lastSeen = Math.max(e.lastSeen, now);
    e.seq = ++this.seq;
    for (const list of [this.once, this.again])
      for (let i = 0; i < 2; i++) {
        const head = list[0];
        if (head === undefined || now - (this.entries.get(head) as ModelEntry).lastSeen <= this.ttl) break;
        this.remove(head);
        this.evicted.ttl++;
      }
    return e;
  }

  keys(): string[] {
    const seqOf = (k: string) => (this.entries.get(k) as ModelEntry).seq;
    return [...this.once, ...this.again].sort((a, b) => seqOf(a) - seqOf(b));
  }
}

const TTL = 100;
const KEYS = Array.from({ length: 12 }, (_, i) => `k${String(i).padStart(2, '0')}`);
const op = fc.oneof(
  fc.record({
    kind: fc.constant('get' as const),
    key: fc.constantFrom(...KEYS),
    dt: fc.integer({ min: -20, max: 60 }),
  }),
  fc.record({ kind: fc.constant('peek' as const), key: fc.constantFrom(...KEYS), dt: fc.constant(0) }),
  fc.record({ kind: fc.constant('restore' as const), key: fc.constant(''), dt: fc.constant(0) }),
);

/**
 * Restores a changelog as a key's group is restored: every other record lies in one shared buffer, read in place by
 * its span (owned); the rest are handed over alone, to be copied.
 */
function restoreShared<S>(store: KeyedState<S>, changelog: Map<string, Buffer | null>) {
  const parts: Buffer[] = [];
  const spans = new Map<string, [number, number]>();
  let at = 0;
  [...changelog].forEach(([key, value], k) => {
    if (value === null || k % 2 === 1) return;
    const pad = Buffer.alloc(1 + (k % 3), 0xee);
    parts.push(pad, value);
    spans.set(key, [at + pad.length, at + pad.length + value.length]);
    at += pad.length + value.length;
  });
  const shared = Buffer.concat([...parts, Buffer.alloc(2, 0xee)]);
  for (const [key, value] of changelog) {
    const span = spans.get(key);
    if (span) store.restoreEntry(key, shared, true, span[0], span[1]);
    else store.restoreEntry(key, value);
  }
  store.finishRestore();
}

describe('KeyedState', () => {
  it('follows its rules (recency lists, TTL, key cap, byte budget) and restores exactly, slots reused', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(op, { maxLength: 120 }),
        (maxKeys, budgetEntries, ops) => {
          const make = (budget: StateBudget) => {
            const s = new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys, sizeOf: () => 10 });
            s.useBudget(budget);
            s.trackChanges();
            return s;
          };
          const probe = new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys, sizeOf: () => 10 });
          probe.get(KEYS[0] as string, 0, () => ({ n: 0 }));
          const entryBytes = probe.bytes;
          const limit = entryBytes * budgetEntries;
          let budget = new StateBudget(limit);
          let store = make(budget);
          const model = new Model(TTL, maxKeys, entryBytes, limit);
          const changelog = new Map<string, Buffer | null>();
          const counted = { ttl: 0, cap: 0, budget: 0 };
          let now = 1000;
          ops.forEach((o, i) => {
            now += o.dt;
            if (o.kind === 'get') {
              store.get(o.key, now, () => ({ n: i })).n += 1000;
              model.get(o.key, now, i).n += 1000;
            } else if (o.kind === 'peek') {
              const seen = store.peek(o.key, now);
              const e = model.entries.get(o.key);
              expect(seen?.n).toBe(e && now - e.lastSeen <= TTL ? e.n : undefined);
            } else {
              for (const [key, value] of store.drainChanges()) changelog.set(key, value);
              counted.ttl += store.evictedByTtl;
              counted.cap += store.evictedByCap;
              counted.budget += store.evictedByBudget;
              budget = new StateBudget(limit);
              store = make(budget);
              for (const [key, value] of changelog) store.restoreEntry(key, value);
              store.finishRestore();
            }
            expect([...store.keys()]).toEqual(model.keys());
            expect([...store.values()].map((v) => v.n)).toEqual(
              model.keys().map((k) => (model.entries.get(k) as ModelEntry).n),
            );
            expect(store.size).toBe(model.entries.size);
            expect(budget.used).toBe(model.used);
            expect(store.bytes).toBe(model.used);
            expect({
              ttl: counted.ttl + store.evictedByTtl,
              cap: counted.cap + store.evictedByCap,
              budget: counted.budget + store.evictedByBudget,
            }).toEqual(model.evicted);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('carries on after a restore exactly as a store that never stopped, when states change size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.array(op, { maxLength: 150 }), (budgetEntries, ops) => {
        // An entry is charged as its state stood before the event's update (one event late): a restore that
        // estimated again instead of charging what the record says would leave the budget elsewhere.
        const make = (budget: StateBudget) => {
          const s = new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys: 100, sizeOf: (v) => 10 + (v.n % 7) * 9 });
          s.useBudget(budget);
          s.trackChanges();
          return s;
        };
        const limit = 260 * budgetEntries;
        const steadyBudget = new StateBudget(limit);
        const steady = make(steadyBudget);
        let budget = new StateBudget(limit);
        let restored = make(budget);
        const changelog = new Map<string, Buffer | null>();
        let evicted = 0;
        let now = 1000;
        ops.forEach((o, i) => {
          now += o.dt;
          if (o.kind === 'get') {
            steady.get(o.key, now, () => ({ n: i })).n += i;
            restored.get(o.key, now, () => ({ n: i })).n += i;
          } else if (o.kind === 'peek') {
            expect(restored.peek(o.key, now)?.n).toBe(steady.peek(o.key, now)?.n);
          } else {
            for (const [key, value] of restored.drainChanges()) changelog.set(key, value);
            evicted += restored.evictedByBudget + restored.evictedByTtl + restored.evictedByCap;
            budget = new StateBudget(limit);
            restored = make(budget);
            restoreShared(restored, changelog);
            // A key not used since the restore gives back its record as it was written.
            for (const [key, value] of changelog) expect(restored.encoded(key)).toEqual(value);
          }
          expect([...restored.keys()]).toEqual([...steady.keys()]);
          expect(budget.used).toBe(steadyBudget.used);
          expect(evicted + restored.evictedByBudget + restored.evictedByTtl + restored.evictedByCap).toBe(
            steady.evictedByBudget + steady.evictedByTtl + steady.evictedByCap,
          );
        });
        expect([...restored.values()].map((v) => v.n)).toEqual([...steady.values()].map((v) => v.n));
      }),
      { numRuns: 300 },
    );
  });

  it('restores records in place from shared buffers across growth, repeats, deletes and reused slots', () => {
    const make = () => new KeyedState<{ n: number }>({ ttlMs: 10_000, maxKeys: 1000, sizeOf: (v) => 40 + v.n });
    const writer = make();
    writer.trackChanges();
    for (let i = 0; i < 40; i++) writer.get(`key${i}`, i, () => ({ n: i }));
    const records = new Map(writer.drainChanges() as [string, Buffer][]);
    // Two groups' buffers, as a restore gets them, each record at an offset: the columns grow (16 slots at first)
    // while records wait in them.
    const restored = make();
    const put = (keys: string[], at: number) => {
      const shared = Buffer.concat([Buffer.alloc(at, 0xee), ...keys.map((k) => records.get(k) as Buffer)]);
      for (const k of keys) {
        const value = records.get(k) as Buffer;
        restored.restoreEntry(k, shared, true, at, at + value.length);
        at += value.length;
      }
    };
    const keys = [...records.keys()];
    put(keys.slice(0, 25), 3);
    put(keys.slice(25), 1);
    // key3 restored again (a newer record: the same bytes), key7 deleted and key40 taking its slot.
    put(['key3'], 5);
    restored.restoreEntry('key7', null);
    restored.restoreEntry('key40', Buffer.from(records.get('key8') as Buffer));
    restored.finishRestore();
    const expected = keys.filter((k) => k !== 'key7');
    expect(new Set(restored.keys())).toEqual(new Set([...expected, 'key40']));
    for (const k of expected) expect(restored.encoded(k), k).toEqual(records.get(k));
    // Half used (decoded), the rest still give their records; then every value is what was written.
    for (let i = 0; i < 40; i += 2) if (i !== 7) expect(restored.get(`key${i}`, 100, () => ({ n: -1 })).n).toBe(i);
    for (let i = 1; i < 40; i += 2) if (i !== 7) expect(restored.encoded(`key${i}`)).toEqual(records.get(`key${i}`));
    for (let i = 1; i < 40; i += 2) if (i !== 7) expect(restored.get(`key${i}`, 100, () => ({ n: -1 })).n).toBe(i);
    expect(restored.get('key40', 100, () => ({ n: -1 })).n).toBe(8);
    // Charged as recorded: key7's 47 bytes of state gone, key40 charged as key8's record says (48; same key length).
    expect(restored.bytes).toBe(writer.bytes + 1);
  });

  it('estimates again what a record says it was charged when no entry can be charged that (a damaged record)', () => {
    const make = () => new KeyedState<{ n: number }>({ ttlMs: 10_000, maxKeys: 100, sizeOf: (v) => 40 + v.n });
    const writer = make();
    writer.trackChanges();
    for (let i = 0; i < 4; i++) writer.get(`key${i}`, i, () => ({ n: i }));
    const records = writer.drainChanges() as [string, Buffer][];
    // key1..key3 get a charge no entry has, in the fixed header (a double); key4 in the compact one (a varint).
    [Number.NaN, -1, 2 ** 32].forEach((bad, i) => {
      const [key, record] = records[i + 1] as [string, Buffer];
      const { lastSeen, seq, returning, state } = readRecord(record);
      records[i + 1] = [key, fixedRecord(state, lastSeen, seq, returning, bad)];
    });
    writer.get('key4', 4, () => ({ n: 4 }));
    const [key4, record4] = (writer.drainChanges() as [string, Buffer][])[0] as [string, Buffer];
    const r4 = readRecord(record4);
    records.push([key4, encodeRecord(r4.state, r4.lastSeen, r4.seq, r4.returning, 2 ** 32 + 5)]);
    const restored = make();
    for (const [key, value] of records) restored.restoreEntry(key, value);
    restored.finishRestore();
    expect(restored.bytes).toBe(writer.bytes);
    expect([...restored.values()].map((v) => v.n)).toEqual([0, 1, 2, 3, 4]);
  });

  it('restores recency order from sequence numbers of any spread: radix-sorted, packed for a native sort or compared', () => {
    // Whole and close (radix-sorted), past 32 bits apart (packed with the slot), far apart (past 53 bits packed:
    // compared), fractional (compared).
    for (const seqs of [
      [7, 3, 5, 4, 6],
      [2 ** 40, 1, 2 ** 33, 3, 2],
      [2 ** 52, 1, 2 ** 40, 3, 2],
      [1.5, 0.5, 3.25, 2, 9],
    ]) {
      const s = new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys: 10 });
      seqs.forEach((q, n) => {
        s.restoreEntry(`k${n}`, encodeState({ l: 1, q, s: { n } }));
      });
      s.finishRestore();
      const byRecency = seqs.map((q, n) => [q, n]).sort((a, b) => (a[0] as number) - (b[0] as number));
      expect([...s.values()].map((v) => v.n)).toEqual(byRecency.map(([, n]) => n));
    }
  });

  it('restores records written before the fixed header (the generic codec), estimating what they are charged', () => {
    const s = new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys: 10, sizeOf: (v) => v.n });
    s.restoreEntry('old', encodeState({ l: 5, q: 2, s: { n: 40 }, r: false }));
    s.restoreEntry('older', encodeState({ l: 4, q: 1, s: { n: 30 } }));
    s.finishRestore();
    expect([...s.keys()]).toEqual(['older', 'old']);
    const fresh = new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys: 10, sizeOf: (v) => v.n });
    fresh.get('older', 4, () => ({ n: 30 }));
    fresh.get('old', 5, () => ({ n: 40 }));
    expect(s.bytes).toBe(fresh.bytes);
    // 'older' had no list recorded (before the two lists): it is taken as returning, so 'old' is evicted first.
    const capped = new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys: 2 });
    capped.restoreEntry('old', encodeState({ l: 5, q: 2, s: { n: 40 }, r: false }));
    capped.restoreEntry('older', encodeState({ l: 4, q: 1, s: { n: 30 } }));
    capped.finishRestore();
    capped.get('new', 6, () => ({ n: 0 }));
    expect([...capped.keys()]).toEqual(['older', 'new']);
  });

  it('remembers a key it did not find only until the key is added, and a key it found only until it is released', () => {
    const index = new KeyIndex();
    expect(index.slotOf('a')).toBeUndefined();
    const a = index.acquire('a');
    expect(index.slotOf('a')).toBe(a);
    expect(index.slotOf('b')).toBeUndefined();
    const b = index.acquire('b');
    expect([index.slotOf('b'), index.slotOf('a'), index.slotOf('b')]).toEqual([b, a, b]);
    index.release(b);
    expect(index.slotOf('b')).toBeUndefined();
    expect(index.slotOf('a')).toBe(a);
  });

  it("writes the state's charge; reads a fixed header's as stores wrote it before the KeyIndex (103 bytes of entry, the key)", () => {
    const key = 'sub:principal-1';
    const whole = 103 + 16 + 8 * Math.ceil(key.length / 8) + 32;
    const index = new KeyIndex();
    const make = () => {
      const s = new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys: 10, sizeOf: (v) => 40 + v.n });
      s.shareKeys(index);
      return s;
    };
    const writer = make();
    writer.trackChanges();
    writer.get(key, 5, () => ({ n: 7 }));
    const record = (writer.drainChanges()[0] as [string, Buffer])[1];
    const written = readRecord(record, key);
    expect(record[0]).toBe(0xc6);
    expect(written.charged).toBe(47);
    // The same state in a fixed header (an earlier version's record), and in the compact one: charged 47 here either
    // way, beside the index's part.
    const fixed = fixedRecord(written.state, written.lastSeen, written.seq, written.returning, whole + 47);
    for (const form of [fixed, record]) {
      const restored = new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys: 10, sizeOf: (v) => 40 + v.n });
      restored.shareKeys(new KeyIndex());
      restored.restoreEntry(key, Buffer.from(form));
      restored.finishRestore();
      expect(restored.bytes).toBe(47);
      expect(restored.get(key, 6, () => ({ n: -1 })).n).toBe(7);
    }
  });

  it('restores an empty changelog as an empty store, and a key deleted in the changelog as absent', () => {
    const s = new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys: 10 });
    s.get('a', 0, () => ({ n: 1 }));
    s.finishRestore();
    expect([...s.keys()]).toEqual([]);
    const t = new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys: 10 });
    t.trackChanges();
    t.get('a', 0, () => ({ n: 1 }));
    t.get('b', 1, () => ({ n: 2 }));
    const records = t.drainChanges();
    const u = new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys: 10 });
    for (const [key, value] of [...records, ['a', null] as [string, null]]) u.restoreEntry(key, value);
    u.finishRestore();
    expect([...u.keys()]).toEqual(['b']);
    expect(u.get('b', 2, () => ({ n: -1 })).n).toBe(2);
  });
});

/**
 * The rules of stores sharing a KeyIndex (key-index.ts), written plainly: one recency order for a key whichever store
 * used it, each store its own TTL and cap, a key evicted from every store at once, and expiry at the cold end of the
 * lists stopping at a key some store still holds unexpired.
 */
class SharedModel {
  once: string[] = [];
  again: string[] = [];
  seqOf = new Map<string, number>();
  seq = 0;
  /** The sequence number at the end of the last event (a settled index's). */
  eventStart = 0;
  held: Map<string, { n: number; lastSeen: number }>[];
  evicted: { ttl: number; cap: number }[];

  constructor(
    readonly rules: { ttlMs: number; maxKeys: number }[],
    readonly settled: boolean,
  ) {
    this.held = rules.map(() => new Map());
    this.evicted = rules.map(() => ({ ttl: 0, cap: 0 }));
  }

  private linked(key: string) {
    return this.seqOf.has(key);
  }

  private unlink(key: string) {
    for (const list of [this.once, this.again]) if (list.includes(key)) list.splice(list.indexOf(key), 1);
  }

  private drop(store: number, key: string) {
    this.held[store]?.delete(key);
    if (this.held.some((h) => h.has(key))) return;
    this.unlink(key);
    this.seqOf.delete(key);
  }

  private use(key: string) {
    if (!this.linked(key)) this.once.push(key);
    else if (!this.settled || (this.seqOf.get(key) as number) <= this.eventStart) {
      this.unlink(key);
      this.again.push(key);
    } else return;
    this.seqOf.set(key, ++this.seq);
  }

  get(store: number, key: string, now: number, init: number) {
    const rules = this.rules[store] as { ttlMs: number; maxKeys: number };
    const held = this.held[store] as Map<string, { n: number; lastSeen: number }>;
    let e = held.get(key);
    if (e && now - e.lastSeen > rules.ttlMs) {
      this.drop(store, key);
      (this.evicted[store] as { ttl: number }).ttl++;
      e = undefined;
    }
    if (!e) {
      // One of this store's keys goes: the first to go in the shared order (passing over `key`, which another store
      // may hold), and on until one that this store held has gone.
      const size = held.size;
      while (size >= rules.maxKeys && held.size === size) {
        const first = [...this.once, ...this.again].find((k) => k !== key);
        if (first === undefined) break;
        this.held.forEach((h, i) => {
          if (!h.has(first)) return;
          this.drop(i, first);
          (this.evicted[i] as { cap: number }).cap++;
        });
      }
      e = { n: init, lastSeen: now };
      held.set(key, e);
    }
    this.use(key);
    e.lastSeen = Math.max(e.lastSeen, now);
    if (!this.settled) this.expire(now);
    return e;
  }

  settle(now: number) {
    this.eventStart = this.seq;
    this.expire(now);
  }

  private expire(now: number) {
    for (const list of [this.once, this.again])
      for (let i = 0; i < 2; i++) {
        const head = list[0];
        if (head === undefined) break;
        let kept = false;
        this.held.forEach((h, store) => {
          const e = h.get(head);
          if (!e) return;
          if (now - e.lastSeen <= (this.rules[store] as { ttlMs: number }).ttlMs) kept = true;
          else {
            this.drop(store, head);
            (this.evicted[store] as { ttl: number }).ttl++;
          }
        });
        if (kept) break;
      }
  }

  /** The store's keys, least recently used first. */
  keys(store: number): string[] {
    const seqOf = (k: string) => this.seqOf.get(k) as number;
    return [...this.once, ...this.again].filter((k) => this.held[store]?.has(k)).sort((a, b) => seqOf(a) - seqOf(b));
  }
}

/** State columns of two doubles a slot: a number and a time (when it was written, or, Clocked, last seen). */
class Numbers {
  n = new Float64Array(0);
  at = new Float64Array(0);
  readonly slotBytes = 16;
  grow(slots: number) {
    this.n = grown(this.n, slots);
    this.at = grown(this.at, slots);
  }
  write(slot: number, state: { n: number; at: number }) {
    this.n[slot] = state.n;
    this.at[slot] = state.at;
  }
  read(slot: number) {
    return { n: this.n[slot] as number, at: this.at[slot] as number };
  }
}

/** Numbers whose time is the key's clock, moved forward by the family after slot() (StateColumns.clock). */
class Clocked extends Numbers {
  get clock() {
    return this.at;
  }
}

describe('KeyedState sharing a KeyIndex', () => {
  const RULES = [
    { ttlMs: 100, maxKeys: 10 },
    { ttlMs: 50, maxKeys: 4 },
    { ttlMs: 200, maxKeys: 6 },
  ];
  const sharedOp = fc.oneof(
    fc.record({
      kind: fc.constant('get' as const),
      store: fc.integer({ min: 0, max: RULES.length - 1 }),
      key: fc.constantFrom(...KEYS),
      dt: fc.integer({ min: -20, max: 60 }),
    }),
    // store 1: into the live stores (each clears itself at its first record); 0: into fresh ones.
    fc.record({
      kind: fc.constant('restore' as const),
      store: fc.integer({ min: 0, max: 1 }),
      key: fc.constantFrom(...KEYS),
      dt: fc.constant(0),
    }),
  );
  type Store = KeyedState<{ n: number }>;
  const makeStores = (index?: KeyIndex, budget?: StateBudget): Store[] =>
    RULES.map((rules) => {
      const s = new KeyedState<{ n: number }>({ ...rules, sizeOf: (v) => 10 + (v.n % 5) });
      if (index) s.shareKeys(index);
      if (budget) s.useBudget(budget);
      s.trackChanges();
      return s;
    });
  /**
   * Drains each store's changes into its log, then restores the logs into `into` key by key across the stores, as
   * FeatureExtractor.restore applies a key's group; `again`'s records are applied twice, and a delete of a key no log
   * holds comes first (nothing may change by either).
   */
  const restoreAll = (stores: Store[], logs: Map<string, Buffer | null>[], again: string) => {
    // Logged as an extractor logs a key group: a key any store changed is written from every store (encoded(), with
    // the key's place as the index has it now). Logs of each store's own changes alone would keep, for a store that
    // holds a key it has not used since another store did, a place that is no longer the key's.
    const changed = new Set<string>();
    for (const s of stores) for (const [key] of s.drainChanges()) changed.add(key);
    for (const key of changed)
      stores.forEach((s, i) => {
        logs[i]?.set(key, s.encoded(key));
      });
    return (into: Store[]) => {
      for (const s of into) s.restoreEntry('never-held', null);
      const keys = new Set(logs.flatMap((log) => [...log.keys()]));
      for (const key of [...keys, ...(keys.has(again) ? [again] : [])])
        into.forEach((s, i) => {
          const log = logs[i] as Map<string, Buffer | null>;
          if (log.has(key)) s.restoreEntry(key, log.get(key) as Buffer | null);
        });
      for (const s of into) s.finishRestore();
      return into;
    };
  };

  it.each([
    ['each use an event, charged at once', false],
    ['settled after each operation, as an extractor does', true],
  ])(
    'keeps one recency order for a key across the stores, evicts it from all of them, and restores exactly (%s)',
    (_, settled) => {
      fc.assert(
        fc.property(fc.array(sharedOp, { maxLength: 150 }), (ops) => {
          let index = new KeyIndex(settled);
          // A budget that never fills: every charge is counted, nothing is evicted by it.
          let budget = new StateBudget(1e9);
          let shared = makeStores(index, budget);
          const model = new SharedModel(RULES, settled);
          const logs = RULES.map(() => new Map<string, Buffer | null>());
          let now = 1000;
          ops.forEach((o, i) => {
            now += o.dt;
            if (o.kind === 'get') {
              (shared[o.store] as Store).get(o.key, now, () => ({ n: i })).n += i;
              model.get(o.store, o.key, now, i).n += i;
              if (settled) {
                index.settle();
                model.settle(now);
              }
            } else {
              const counted = shared.map((s) => ({ ttl: s.evictedByTtl, cap: s.evictedByCap }));
              if (o.store === 0) {
                index = new KeyIndex(settled);
                budget = new StateBudget(1e9);
              }
              shared = restoreAll(shared, logs, o.key)(o.store === 0 ? makeStores(index, budget) : shared);
              // Fresh stores count from 0: the model's counts carry on.
              if (o.store === 0)
                counted.forEach((c, j) => {
                  const m = model.evicted[j] as { ttl: number; cap: number };
                  m.ttl -= c.ttl;
                  m.cap -= c.cap;
                });
              index.sync();
            }
            shared.forEach((s, j) => {
              expect([...s.keys()]).toEqual(model.keys(j));
              const held = model.held[j] as Map<string, { n: number }>;
              expect([...s.values()].map((v) => v.n)).toEqual(model.keys(j).map((k) => held.get(k)?.n));
              expect({ ttl: s.evictedByTtl, cap: s.evictedByCap }).toEqual(model.evicted[j]);
            });
            const held = new Set(shared.flatMap((s) => [...s.keys()]));
            expect(index.size).toBe(held.size);
            expect(budget.used).toBe(shared.reduce((sum, s) => sum + s.bytes, index.bytes));
          });
          // Every key expires from every store: the index lets each go, and holds (and charges) only the last one,
          // less than three stores with their own keys charge for it (the key, its Map entry and its place counted
          // once).
          now += 1000;
          for (let round = 0; round < KEYS.length; round++) {
            for (const s of shared) s.get('last', now, () => ({ n: 0 }));
            if (settled) index.settle();
          }
          expect(index.size).toBe(1);
          index.settle();
          const alone = new KeyIndex();
          for (const s of makeStores(alone)) s.get('last', now, () => ({ n: 0 }));
          expect(index.bytes).toBe(alone.bytes);
          const own3 = makeStores();
          for (const s of own3) s.get('last', now, () => ({ n: 0 }));
          const charged = (stores: Store[], keys: number) => stores.reduce((sum, s) => sum + s.bytes, keys);
          expect(charged(shared, index.bytes)).toBeLessThan(charged(own3, 0));
          expect(budget.used).toBe(charged(shared, index.bytes));
        }),
        { numRuns: 200 },
      );
    },
  );

  it('keeps the budget: a shared index charges new keys after the event and evicts whole keys, least recent first', () => {
    // States of different sizes, as the families' are; settled after each event (an extractor's index) or charged at
    // once: the charges add up either way, and every store holds the same keys, the most recent ones.
    for (const settled of [true, false]) {
      const index = new KeyIndex(settled);
      const budget = new StateBudget(60_000);
      const stores = [90, 30, 10].map((size) => {
        const s = new KeyedState<{ n: number }>({ ttlMs: 10_000, maxKeys: 10_000, sizeOf: () => size });
        s.shareKeys(index);
        s.useBudget(budget);
        return s;
      });
      for (let i = 0; i < 2000; i++) {
        for (const s of stores) s.get(`k${i}`, i, () => ({ n: i }));
        if (settled) index.settle();
        expect(budget.used).toBe(stores.reduce((sum, s) => sum + s.bytes, index.bytes));
      }
      expect(budget.used).toBeLessThanOrEqual(budget.limitBytes + 1000);
      const kept = [...(stores[0] as KeyedState<{ n: number }>).keys()];
      expect(kept.length).toBeGreaterThan(100);
      expect(kept).toEqual(Array.from({ length: kept.length }, (_, j) => `k${2000 - kept.length + j}`));
      for (const s of stores) expect([...s.keys()]).toEqual(kept);
      expect(index.size).toBe(kept.length);
      // One store dropped: the others' keys stay charged; the last one gives the index's charge back.
      (stores[0] as KeyedState<{ n: number }>).release();
      expect(budget.used).toBe(stores.slice(1).reduce((sum, s) => sum + s.bytes, index.bytes));
      for (const s of stores.slice(1)) s.release();
      expect(budget.used).toBe(0);
    }
  });

  it("settles: the new keys' part is made room for by evicting whole keys, never the event's own", () => {
    const index = new KeyIndex(true);
    const budget = new StateBudget(10_000);
    const stores = [1, 2, 3].map(() => {
      const s = new KeyedState<{ n: number }>({ ttlMs: 10_000, maxKeys: 10_000, sizeOf: () => 1 });
      s.shareKeys(index);
      s.useBudget(budget);
      return s;
    });
    const settles = vi.spyOn(index, 'evictFirst');
    for (let i = 0; i < 1000; i++) {
      for (const s of stores) s.get(`key-${i}`, i, () => ({ n: i }));
      index.settle();
      expect(budget.used).toBe(stores.reduce((sum, s) => sum + s.bytes, index.bytes));
      for (const s of stores) expect(s.peek(`key-${i}`, i)?.n).toBe(i);
    }
    // The stores' own evictions make room for a byte each; the keys' part (hundreds of bytes) is settle's.
    expect(settles.mock.calls.length).toBeGreaterThan(500);
    expect(budget.used).toBeLessThanOrEqual(budget.limitBytes);
    for (const s of stores) expect(s.size).toBe(index.size);
  });

  it("a principal's entries go together: one returning key outlasts keys seen once, in every store", () => {
    // The 2Q rule over the shared order: a key used in two events is in `again`, and a wave of one-event keys churns
    // among itself, in every store, whichever store the returning key was last used by.
    const index = new KeyIndex(true);
    const stores = RULES.map(() => {
      const s = new KeyedState<{ n: number }>({ ttlMs: 1e9, maxKeys: 5, sizeOf: () => 1 });
      s.shareKeys(index);
      return s;
    });
    for (const s of stores) s.get('customer', 0, () => ({ n: 0 }));
    index.settle();
    (stores[1] as Store).get('customer', 1, () => ({ n: 0 }));
    index.settle();
    for (let i = 0; i < 50; i++) {
      for (const s of stores) s.get(`wave-${i}`, 2 + i, () => ({ n: i }));
      index.settle();
    }
    // Least recently used first: the customer, then the wave's last four (in `once`, evicted before the customer).
    for (const s of stores) expect([...s.keys()]).toEqual(['customer', 'wave-46', 'wave-47', 'wave-48', 'wave-49']);
    // Used by one store in the second event: a store that did not use it then still holds it, with its own state.
    expect((stores[0] as Store).peek('customer', 60)?.n).toBe(0);
  });

  it("writes a restored record it has not used with its key's place as it is now: another store used the key since", () => {
    type S = KeyedState<{ n: number }>;
    const make = (index: KeyIndex, ttlMs: number, maxKeys = 10): S => {
      const s = new KeyedState<{ n: number }>({ ttlMs, maxKeys, sizeOf: () => 1 });
      s.shareKeys(index);
      s.trackChanges();
      return s;
    };
    // A short-lived store and a long-lived one (a principal's velocity and its activity hours).
    const index = new KeyIndex(true);
    const [short, long] = [make(index, 10), make(index, 1000)] as [S, S];
    for (const s of [short, long]) s.get('k', 0, () => ({ n: 1 }));
    index.settle();
    const logs = [short.drainChanges(), long.drainChanges()];
    const restoredIndex = new KeyIndex(true);
    const restored = [make(restoredIndex, 10), make(restoredIndex, 1000)] as [S, S];
    restored.forEach((s, i) => {
      for (const [key, record] of logs[i] ?? []) s.restoreEntry(key, record);
    });
    for (const s of restored) s.finishRestore();
    // A later event uses the key through the short-lived store only: the key is returning now, in both.
    restored[0].get('k', 5, () => ({ n: 0 }));
    restoredIndex.settle();
    const record = restored[1].encoded('k') as Buffer;
    expect(readRecord(record).returning).toBe(true);
    expect(readRecord(record).seq).toBe(readRecord(restored[0].encoded('k') as Buffer).seq);
    // Restored from the long-lived store's record alone (the short-lived entry gone by its TTL), the key is still
    // returning: a key seen once goes before it.
    const alone = make(new KeyIndex(true), 1000, 2);
    alone.restoreEntry('k', record);
    alone.finishRestore();
    alone.get('w', 20, () => ({ n: 0 }));
    alone.get('x', 21, () => ({ n: 0 }));
    expect([...alone.keys()]).toEqual(['k', 'x']);
  });

  it('a store about to take again a key other stores hold evicts the key after it, not past `once`', () => {
    // The key at the head of `once` is held by the long-lived store alone; the short-lived one is at its cap and
    // takes it again: the next key seen once goes, not the returning customer.
    const index = new KeyIndex(true);
    const make = (ttlMs: number, maxKeys: number) => {
      const s = new KeyedState<{ n: number }>({ ttlMs, maxKeys, sizeOf: () => 1 });
      s.shareKeys(index);
      return s;
    };
    const [short, long] = [make(10, 3), make(1000, 100)];
    for (const s of [short, long]) s.get('customer', 0, () => ({ n: 0 }));
    index.settle();
    for (const s of [short, long]) s.get('customer', 1, () => ({ n: 0 }));
    index.settle();
    long.get('k', 100, () => ({ n: 0 }));
    index.settle();
    for (let i = 0; i < 3; i++) {
      short.get(`w${i}`, 101 + i, () => ({ n: i }));
      index.settle();
    }
    // 'k' is at the head of `once`; the short-lived store holds w0..w2 (its cap) and takes 'k'.
    short.get('k', 110, () => ({ n: 0 }));
    index.settle();
    expect(short.size).toBe(3);
    expect([...short.keys()]).toEqual(['w1', 'w2', 'k']);
    expect(short.evictedByCap).toBe(1);
  });

  it("charges a store's state columns through the index, for every key the index holds, held by the store or not", () => {
    // A store of objects and a store of one-number columns share an index; the columns store takes every other key.
    // Two doubles a slot: a number and when it was written.
    const index = new KeyIndex(true);
    const budget = new StateBudget(1e9);
    const objects = new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys: 1000, sizeOf: () => 40 });
    const columns = new Numbers();
    const numbers = new KeyedState<{ n: number; at: number }>({ ttlMs: TTL, maxKeys: 1000, columns });
    for (const store of [objects, numbers]) {
      store.shareKeys(index);
      store.useBudget(budget);
    }
    for (let i = 0; i < 100; i++) {
      objects.get(`k${i}`, i, () => ({ n: i }));
      if (i % 2 === 0) {
        // The slot first: taking it may grow the columns (a new array).
        const slot = numbers.slot(`k${i}`, i, () => ({ n: 0, at: i }));
        columns.n[slot] = i;
      }
      index.settle();
    }
    // Each key: its own part and place in the lists, a slot's bookkeeping in each store, and 16 bytes of columns (GROWTH
    // slots a key at the most) in the second, whether it holds the key or not. Its states in columns are charged
    // nothing more.
    expect(numbers.slotBytes).toBe(objects.slotBytes - 12 + Math.ceil(16 * GROWTH));
    expect(numbers.bytes).toBe(0);
    expect(index.bytes).toBe(
      [...objects.keys()].reduce(
        (n, key) => n + KEY_OVERHEAD + RECENCY_BYTES + keyBytes(key) + objects.slotBytes + numbers.slotBytes,
        0,
      ),
    );
    expect(budget.used).toBe(objects.bytes + index.bytes);
    expect([...numbers.values()]).toEqual(Array.from({ length: 50 }, (_, i) => ({ n: 2 * i, at: 2 * i })));
    // Restored, the records' charge of 0 is taken as it is: nothing is decoded until a key is used.
    const restoredColumns = new Numbers();
    const restored = new KeyedState<{ n: number; at: number }>({ ttlMs: TTL, maxKeys: 1000, columns: restoredColumns });
    const writes = vi.spyOn(restoredColumns, 'write');
    for (const key of [...numbers.keys()]) restored.restoreEntry(key, numbers.encoded(key));
    restored.finishRestore();
    expect(writes).not.toHaveBeenCalled();
    const slot = restored.slot('k4', 100, () => ({ n: -1, at: -1 }));
    expect(writes).toHaveBeenCalledTimes(1);
    expect(restoredColumns.n[slot]).toBe(4);
  });

  it("reads its columns' clock as the keys' last-seen time: no column of its own, the same TTL and restore", () => {
    const make = (columns: Clocked) => {
      const s = new KeyedState<{ n: number; at: number }>({ ttlMs: TTL, maxKeys: 1000, columns });
      s.trackChanges();
      return s;
    };
    const columns = new Clocked();
    const store = make(columns);
    const use = (s: KeyedState<{ n: number; at: number }>, c: Clocked, key: string, now: number) => {
      const slot = s.slot(key, now, () => ({ n: 0, at: now }));
      slotTime(c.at, slot, now);
      c.n[slot] = (c.n[slot] as number) + 1;
    };
    // Beside a store of the same columns without the clock: 8 bytes a slot less, at GROWTH slots a key.
    const plain = new KeyedState<{ n: number; at: number }>({ ttlMs: TTL, maxKeys: 1000, columns: new Numbers() });
    expect(plain.slotBytes - store.slotBytes).toBe(Math.ceil(16 * GROWTH) - Math.ceil(8 * GROWTH));
    // Growth past the first slots (the columns' arrays are new ones): the store reads the new clock.
    for (let i = 0; i < 40; i++) use(store, columns, `k${i}`, 10 * i);
    use(store, columns, 'k0', 395);
    // Last seen at 390 and 395: k39 and k0 stay past the TTL of the rest (100) at 485 (a use expires a few at a time).
    for (let i = 0; i < 25; i++) use(store, columns, 'late', 485);
    expect([...store.keys()]).toEqual(['k39', 'k0', 'late']);
    const record = store.encoded('k0') as Buffer;
    expect(readRecord(record).lastSeen).toBe(395);
    // Restored, the header's time is the clock, before the state is decoded.
    const restoredColumns = new Clocked();
    const restored = make(restoredColumns);
    for (const key of store.keys()) restored.restoreEntry(key, store.encoded(key));
    restored.finishRestore();
    expect([...restoredColumns.at.subarray(0, 3)].sort((a, b) => a - b)).toEqual([390, 395, 485]);
    use(restored, restoredColumns, 'k39', 489);
    expect(restoredColumns.n[restored.slot('k39', 489, () => ({ n: -1, at: 0 }))]).toBe(2);
    // k0 (395) is past the TTL at 496: its next use makes it new, counted.
    use(restored, restoredColumns, 'k0', 496);
    expect(restored.evictedByTtl).toBe(1);
    expect(restoredColumns.n[restored.slot('k0', 496, () => ({ n: -1, at: 0 }))]).toBe(1);
  });

  it("keeps a clock no earlier than the record's header when it decodes the state (a record whose two disagree)", () => {
    const columns = new Clocked();
    const store = new KeyedState<{ n: number; at: number }>({ ttlMs: TTL, maxKeys: 10, columns });
    store.slot('k', 395, () => ({ n: 1, at: 395 }));
    // The header says 450, the state 395: the key is within its TTL at 540 by the header, which restore went by.
    const { seq, returning, charged, state } = readRecord(store.encoded('k') as Buffer);
    const record = encodeRecord(state, 450, seq, returning, charged);
    const restoredColumns = new Clocked();
    const restored = new KeyedState<{ n: number; at: number }>({ ttlMs: TTL, maxKeys: 10, columns: restoredColumns });
    restored.restoreEntry('k', record);
    restored.finishRestore();
    const slot = restored.slot('k', 540, () => ({ n: -1, at: 540 }));
    expect([...restored.keys()]).toEqual(['k']);
    expect(restored.evictedByTtl).toBe(0);
    expect(restoredColumns.n[slot]).toBe(1);
    expect(restoredColumns.at[slot]).toBe(450);
  });

  it('can be shared only while empty', () => {
    const s = new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys: 10 });
    s.get('a', 0, () => ({ n: 1 }));
    expect(() => s.shareKeys(new KeyIndex())).toThrow(/only while it is empty/);
    const index = new KeyIndex();
    new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys: 10 }).shareKeys(index);
    index.acquire('a');
    expect(() => new KeyedState<{ n: number }>({ ttlMs: TTL, maxKeys: 10 }).shareKeys(index)).toThrow(
      /before the index holds any key/,
    );
  });
});

/** A record in the fixed header's form (what vigil wrote before the compact header): record-header.ts. */
function fixedRecord(state: unknown, lastSeen: number, seq: number, returning: boolean, charge: number): Buffer {
  const header = Buffer.alloc(26);
  header.writeUInt8(0xc5, 0);
  header.writeDoubleLE(lastSeen, 1);
  header.writeDoubleLE(seq, 9);
  header.writeUInt8(returning ? 1 : 0, 17);
  header.writeDoubleLE(charge, 18);
  return encodeState(state, header);
}
