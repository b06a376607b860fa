import { describe, expect, it } from 'vitest';
import { RestoredRecords, RestoredRecordsBuilder } from './restored-records.js';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('RestoredRecords', () => {
  const tuples: [string, Buffer | null][] = [
    ['s/g/alice', b('A')],
    ['sources', b('S')],
    ['s/held/1', b('H')],
    ['s/g/bob', null],
    ['s/g/carol', b('C')],
    ['s/', b('empty key after the prefix')],
  ];

  it('says which records lie in a buffer the builder was told they own, through shares too', () => {
    const shared = b('abcdef');
    const builder = new RestoredRecordsBuilder();
    builder.push('s/a', shared, 0, 2);
    builder.push('s/b', shared, 2, 4, undefined, true);
    builder.push('s/c', shared, 4, 6);
    builder.push('s/d', null, 0, 0, undefined, true);
    const records = builder.done();
    expect([0, 1, 2, 3].map((i) => records.ownsBuffer(i))).toEqual([false, true, false, false]);
    const share = records.within('s/');
    expect([0, 1, 2].map((i) => share.ownsBuffer(i))).toEqual([false, true, false]);
    expect([...share].map(([, v]) => v?.toString())).toEqual(['ab', 'cd', 'ef', undefined]);
    expect(RestoredRecords.of(tuples).ownsBuffer(0)).toBe(false);
  });

  it('reads back the tuples it was built from, in order, deletions included', () => {
    const records = RestoredRecords.of(tuples);
    expect(records.length).toBe(tuples.length);
    expect([...records]).toEqual(tuples);
    expect(RestoredRecords.of(records)).toBe(records);
  });

  it('takes a share by prefix, the prefix stripped, nested, without cutting the keys it passes over', () => {
    const records = RestoredRecords.of(tuples);
    const stream = records.within('s/');
    expect([...stream].map(([k]) => k)).toEqual(['g/alice', 'held/1', 'g/bob', 'g/carol', '']);
    const groups = stream.within('g/');
    expect([...groups]).toEqual([
      ['alice', b('A')],
      ['bob', null],
      ['carol', b('C')],
    ]);
    expect(groups.keyIs(0, 'alice')).toBe(true);
    expect(groups.keyIs(0, 'alic')).toBe(false);
    expect(groups.keyStartsWith(2, 'car')).toBe(true);
    expect(stream.keyIs(4, '')).toBe(true);
    expect(records.within('nothing/').length).toBe(0);
  });

  it('reads a key given as a head and a tail as the two joined, and gives the tail itself to a share that cut the head', () => {
    // (Whether the very string comes back cannot be seen from JavaScript: bench:cardinality measures the memory.)
    const kept = ['alice', 'bob'];
    const builder = new RestoredRecordsBuilder();
    builder.push('s/g/', b('A'), 0, 1, kept[0]);
    builder.push('s/held/1', b('H'), 0, 1);
    builder.push('s/g/', b('B'), 0, 1, kept[1]);
    const records = builder.done();
    expect([...records].map(([k]) => k)).toEqual(['s/g/alice', 's/held/1', 's/g/bob']);
    const groups = records.within('s/').within('g/');
    expect(groups.key(0)).toBe(kept[0]);
    expect(groups.key(1)).toBe(kept[1]);
    expect(records.within('s/').key(0)).toBe('g/alice');
    expect(records.within('s/').key(1)).toBe('held/1');
    // Prefixes that run from the head into the tail, or past the key's end.
    expect(records.within('s/g/al').length).toBe(1);
    expect(records.within('s/g/al').key(0)).toBe('ice');
    expect(records.within('s/g/ali').within('c').key(0)).toBe('e');
    expect(records.keyStartsWith(2, 's/g/bobby')).toBe(false);
    expect(records.keyStartsWith(2, 's/g/bx')).toBe(false);
    expect(records.keyIs(2, 's/g/bob')).toBe(true);
    expect(records.keyIs(2, 's/g/bo')).toBe(false);
    expect(records.within('s/').keyIs(0, 'g/alice')).toBe(true);
    expect(groups.keyIs(1, 'bob')).toBe(true);
  });

  it('gives each value where it lies, so that values side by side in one buffer need no view each', () => {
    const slab = b('xxAAAyBBzz');
    const builder = new RestoredRecordsBuilder();
    builder.push('a', slab, 2, 5);
    builder.push('b', slab, 6, 8);
    builder.push('gone', null, 0, 0);
    const records = builder.done();
    expect(records.buffer(0)).toBe(slab);
    expect(records.buffer(1)).toBe(slab);
    expect(records.buffer(2)).toBeUndefined();
    expect([records.valueStart(1), records.valueEnd(1)]).toEqual([6, 8]);
    expect(records.value(0)?.toString()).toBe('AAA');
    expect(records.value(1)?.buffer).toBe(slab.buffer);
    expect(records.value(2)).toBeNull();
    // A value that is its whole buffer comes back as that buffer, not a view of it.
    const whole = b('W');
    const one = RestoredRecords.of([['w', whole]]);
    expect(one.value(0)).toBe(whole);
  });
});
