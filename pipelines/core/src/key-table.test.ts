import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyTable, NOT_ASCII } from './key-table.js';

/** The table's contract, as the Maps it replaces kept it: a Map by key and tag, slots from a stack of freed ones. */
class Reference {
  readonly slots = new Map<string, number>();
  private free: number[] = [];
  private next = 0;
  slotOf(key: string, tag: number) {
    return this.slots.get(`${tag}|${key}`) ?? -1;
  }
  add(key: string, tag: number) {
    const slot = this.free.pop() ?? this.next++;
    this.slots.set(`${tag}|${key}`, slot);
    return slot;
  }
  /** The key is found no more; its slot stays given out until freed. */
  detach(key: string, tag: number) {
    const slot = this.slotOf(key, tag);
    this.slots.delete(`${tag}|${key}`);
    return slot;
  }
  freeSlot(slot: number) {
    this.free.push(slot);
  }
}

type Op =
  | { kind: 'add'; key: string; tag: number }
  | { kind: 'find'; key: string; tag: number }
  | { kind: 'remove' | 'detach' | 'release'; pick: number };

/** Applies one op to the table and the reference: `held` keys, `detached` slots. */
function apply(o: Op, table: KeyTable, ref: Reference, held: [string, number][], detached: number[]) {
  if (o.kind === 'find') {
    expect(table.slotOf(o.key, o.tag)).toBe(ref.slotOf(o.key, o.tag));
  } else if (o.kind === 'add') {
    if (ref.slotOf(o.key, o.tag) >= 0) return;
    expect(table.add(o.key, o.tag)).toBe(ref.add(o.key, o.tag));
    held.push([o.key, o.tag]);
  } else if (o.kind === 'release') {
    if (detached.length === 0) return;
    const slot = detached.splice(o.pick % detached.length, 1)[0] as number;
    table.remove(slot);
    ref.freeSlot(slot);
  } else {
    if (held.length === 0) return;
    const [key, tag] = held.splice(o.pick % held.length, 1)[0] as [string, number];
    const slot = ref.detach(key, tag);
    expect(table.keyAt(slot)).toBe(key);
    if (o.kind === 'remove') {
      table.remove(slot);
      ref.freeSlot(slot);
    } else {
      table.detach(slot);
      detached.push(slot);
    }
  }
}

/** Every held key is found, by its string and by its bytes, under its tag only. */
function expectHolds(table: KeyTable, ref: Reference, held: [string, number][]) {
  expect(table.size).toBe(ref.slots.size);
  for (const [key, tag] of held) {
    const slot = ref.slotOf(key, tag);
    expect(table.slotOf(key, tag)).toBe(slot);
    expect(table.tagAt(slot)).toBe(tag);
    if (ref.slotOf(key, 1 - tag) < 0) expect(table.slotOf(key, 1 - tag)).toBe(-1);
    const bytes = Buffer.from(`..${key}`, 'utf8');
    const ascii = [...key].every((c) => c.charCodeAt(0) < 0x80);
    expect(table.slotOfBytes(bytes, 2, bytes.length, tag)).toBe(ascii ? slot : NOT_ASCII);
  }
}

/** Short keys, ASCII or not (fast-check's default strings are printable ASCII only). */
const KEY = fc.oneof(fc.string({ maxLength: 6 }), fc.string({ maxLength: 4, unit: 'binary' }));

const op = fc.oneof(
  fc.record({
    kind: fc.constant('add' as const),
    key: KEY,
    tag: fc.integer({ min: 0, max: 1 }),
  }),
  fc.record({ kind: fc.constantFrom('remove' as const, 'detach' as const, 'release' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('find' as const),
    key: KEY,
    tag: fc.integer({ min: 0, max: 1 }),
  }),
);

describe('KeyTable', () => {
  it('gives and finds the slots a Map and a stack of freed slots give, through growth, deletion, detaching and new seeds', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 400 }),
        fc.integer(),
        fc.integer({ min: 1, max: 200 }),
        (ops, seed, maxProbe) => {
          const table = new KeyTable({ seed, maxProbe });
          const ref = new Reference();
          const held: [string, number][] = [];
          const detached: number[] = [];
          for (const o of ops) apply(o, table, ref, held, detached);
          expectHolds(table, ref, held);
          for (const slot of detached) expect(table.keyAt(slot)).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('draws a new seed when an insert probes too long, and still finds every key', () => {
    // A probe bound of 1 makes any collision count as an attack on the seed.
    const table = new KeyTable({ seed: 7, maxProbe: 1 });
    const keys = Array.from({ length: 5000 }, (_, i) => `10.0.${i >> 8}.${i & 255}|/accounts/{id}`);
    for (const key of keys) table.add(key);
    expect(table.reseeds).toBeGreaterThan(0);
    // At most one new seed per as many adds as keys held: a pass over the keys per doubling, not per add.
    expect(table.reseeds).toBeLessThan(20);
    for (const [i, key] of keys.entries()) expect(table.slotOf(key)).toBe(i);
    const bytes = Buffer.from(keys[4321] as string);
    expect(table.slotOfBytes(bytes, 0, bytes.length)).toBe(4321);
  });

  it('finds nothing for an absent key of the same length; a detached slot is found no more and stays given out', () => {
    const table = new KeyTable({ seed: 1 });
    const slot = table.add('sub:alice');
    const bob = table.add('sub:bob');
    expect(table.slotOf('sub:alicf')).toBe(-1);
    table.detach(slot);
    expect(table.slotOf('sub:alice')).toBe(-1);
    expect(table.keyAt(slot)).toBeUndefined();
    expect(table.size).toBe(1);
    expect(() => table.detach(slot)).toThrow(/no key to detach/);
    // Given out still: a new key takes another slot, the same key included.
    expect(table.add('sub:alice')).toBe(2);
    table.remove(slot);
    expect(() => table.remove(slot)).toThrow(/not given out/);
    expect(table.add('sub:carol')).toBe(slot);
    expect(table.slotOf('sub:bob')).toBe(bob);
  });

  it('reserves room for a restore without changing what it finds', () => {
    const table = new KeyTable({ seed: 3 });
    table.add('a');
    table.reserve(100_000);
    const before = table.bytes;
    for (let i = 0; i < 50_000; i++) table.add(`k${i}`);
    expect(table.bytes - before).toBeLessThan(12 * 50_000 + 1);
    expect(table.slotOf('a')).toBe(0);
    expect(table.slotOf('k49999')).toBe(50_000);
  });
});
