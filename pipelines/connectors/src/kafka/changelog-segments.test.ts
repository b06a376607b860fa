import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChangelogSegments,
  decodeSegment,
  encodeSegment,
  MAX_SEGMENT_BYTES,
  type PackedState,
  RESTORE_SLAB_BYTES,
  SEGMENT_PREFIX,
} from './changelog-segments.js';

/** A compacted topic as a restore reads it: the latest record per key, in the order of those records. */
function append(log: Map<string, Buffer>, records: [string, Buffer | null][]) {
  for (const [key, value] of records) {
    log.delete(key);
    if (value !== null) log.set(key, value);
  }
}

/** Packable keys "k…", others plain. */
const PACKS_K = { packs: (key: string) => key.startsWith('k') };

/** A task's state: packable keys "k…", others plain. */
function taskOf(state: Map<string, Buffer>, packs = (key: string) => key.startsWith('k')): PackedState {
  return { packs, current: (key) => state.get(key) ?? null };
}

/** One checkpoint's changes: key index (packable k0…k29 or plain p0…p3) and a value, or a deletion. */
const change = fc.tuple(fc.nat(33), fc.option(fc.string({ maxLength: 12 }), { nil: null }));
const checkpoints = fc.array(fc.array(change, { maxLength: 25 }), { minLength: 1, maxLength: 40 });

/**
 * What follows "k" in packable key i: some not ASCII, which a restore cannot find by their bytes as they are (it
 * decodes them first).
 */
const NAMES = Array.from({ length: 30 }, (_, i) => (i % 4 === 0 ? `é${i}` : String(i)));
/** Keys of a step's index: packable k0…k29, plain p0…p3. */
const mixedKey = (i: number) => (i < 30 ? `k${NAMES[i]}` : `p${i - 30}`);
const packableKey = (i: number) => `k${NAMES[i % 30]}`;

/** Applies one checkpoint's changes to the task's state; returns them as drainChanges would (one per key). */
function apply(
  state: Map<string, Buffer>,
  step: [number, string | null][],
  keyOf: (i: number) => string,
): [string, Buffer | null][] {
  const changes = new Map<string, Buffer | null>();
  for (const [i, value] of step) {
    const key = keyOf(i);
    const v = value === null ? null : Buffer.from(value);
    if (v === null) state.delete(key);
    else state.set(key, v);
    changes.set(key, v);
  }
  return [...changes];
}

/** The log's state in the order each key last appeared: a Map re-set at every appearance, segments expanded. */
function lastAppearance(log: Map<string, Buffer>): [string, Buffer][] {
  const m = new Map<string, Buffer>();
  for (const [key, value] of log) {
    const entries: [string, Buffer | null][] = key.startsWith(SEGMENT_PREFIX) ? decodeSegment(value) : [[key, value]];
    for (const [k, v] of entries) {
      m.delete(k);
      if (v !== null) m.set(k, v);
    }
  }
  return [...m];
}

function run(
  steps: [number, string | null][][],
  slack: number,
  onStep?: (log: Map<string, Buffer>, state: Map<string, Buffer>, segments: ChangelogSegments) => void,
) {
  const state = new Map<string, Buffer>();
  const log = new Map<string, Buffer>();
  const segments = new ChangelogSegments(slack);
  for (const step of steps) {
    const changes = apply(state, step, mixedKey);
    append(log, segments.write(changes, taskOf(state)));
    // The cleaner's mend is for a bookkeeping bug: a correct bookkeeping never needs one.
    expect(segments.stats.mended).toBe(0);
    onStep?.(log, state, segments);
  }
  return { state, log, segments };
}

describe('changelog segments', () => {
  it('encodes entries and deletions and reads them back', () => {
    const entries: [string, Buffer | null][] = [
      ['=a', Buffer.from('one')],
      ['=b', null],
      ['=é', Buffer.alloc(0)],
    ];
    expect(decodeSegment(encodeSegment(entries))).toEqual(entries);
    expect(() => decodeSegment(encodeSegment(entries).subarray(0, 12))).toThrow(/truncated/);
  });

  it('a restore from the compacted log gives the state every checkpoint left, under any cleaning', () => {
    fc.assert(
      fc.property(checkpoints, fc.constantFrom(0, 3, 4096), (steps, slack) => {
        run(steps, slack, (log, state) => {
          const restored = [...ChangelogSegments.restore(log, PACKS_K).state];
          expect(new Map(restored)).toEqual(state);
          // In the order each key last appeared in the log (the stores' restore keeps that order).
          expect(restored).toEqual(lastAppearance(log));
        });
      }),
    );
  });

  it('restores copies of the values, in slabs or whole segment copies it owns: nothing keeps the buffers they came in', () => {
    const state = new Map<string, Buffer>();
    const log = new Map<string, Buffer>();
    const segments = new ChangelogSegments();
    const big = Buffer.alloc(RESTORE_SLAB_BYTES, 7);
    for (let round = 0; round < 3; round++) {
      const changes: [string, Buffer][] = [];
      // The last round writes a tenth of the keys and the big value again: the round before's segment keeps under a
      // third of its bytes live (slabs), the last round's is all live (copied whole).
      for (let i = 0; i < 2000; i += round === 2 ? 10 : 1)
        changes.push([`k${i}`, Buffer.from(`value ${i} of round ${round}`)]);
      changes.push(['kbig', big], ['plain', Buffer.from(`plain ${round}`)]);
      for (const [key, value] of changes) state.set(key, value);
      append(log, segments.write(changes, taskOf(state)));
    }
    const want = lastAppearance(log).map(([key, value]): [string, Buffer] => [key, Buffer.from(value)]);
    const records = ChangelogSegments.restore(log, PACKS_K).state;
    const restored = [...records];
    // The log's buffers overwritten: the restored values are unchanged.
    for (const value of log.values()) value.fill(0);
    expect(restored).toEqual(want);
    for (let i = 0; i < records.length; i++) expect(records.ownsBuffer(i)).toBe(true);
    const rewritten = (key: string) => key === 'kbig' || /^k\d*0$/.test(key);
    const whole = new Set(restored.filter(([key]) => rewritten(key)).map(([, v]) => v.buffer));
    expect(whole.size).toBe(1);
    expect([...whole][0]?.byteLength).toBeGreaterThan(RESTORE_SLAB_BYTES);
    const slabbed = restored.filter(([key]) => key.startsWith('k') && !rewritten(key));
    expect(new Set(slabbed.map(([, v]) => v.buffer.byteLength))).toEqual(new Set([RESTORE_SLAB_BYTES]));
  });

  it('keeps a segment of stale values out of memory: only its live values are copied', () => {
    const state = new Map<string, Buffer>();
    const log = new Map<string, Buffer>();
    const segments = new ChangelogSegments();
    for (let round = 0; round < 2; round++) {
      const changes: [string, Buffer][] = [];
      // The second round writes all but every tenth key again: the first round's segments are a tenth live.
      for (let i = 0; i < 2000; i++)
        if (round === 0 || i % 10 !== 0)
          changes.push([`k${i}`, Buffer.from(`value ${i} of round ${round} `.repeat(4))]);
      for (const [key, value] of changes) state.set(key, value);
      append(log, segments.write(changes, taskOf(state)));
    }
    const restored = [...ChangelogSegments.restore(log, PACKS_K).state];
    const buffers = (keep: (i: number) => boolean) =>
      new Set(restored.filter(([key]) => keep(Number(key.slice(1)))).map(([, v]) => v.buffer));
    const stale = buffers((i) => i % 10 === 0);
    // The tenth still live from round 0 lies in slabs, none of them a segment of round 0 kept whole.
    for (const b of stale) expect(b.byteLength).toBe(RESTORE_SLAB_BYTES);
    const slabBytes = [...stale].reduce((n, b) => n + b.byteLength, 0);
    expect(slabBytes).toBeLessThanOrEqual(2 * RESTORE_SLAB_BYTES);
    // Round 1's segments are all live: kept whole, none of their values in a slab.
    for (const b of buffers((i) => i % 10 !== 0)) expect(b.byteLength).not.toBe(RESTORE_SLAB_BYTES);
  });

  it('keeps the log within twice its live values plus the slack, by copying the oldest forward', () => {
    fc.assert(
      fc.property(checkpoints, (steps) => {
        run(steps, 0, (log, state, segments) => {
          const { entries, live } = segments.stats;
          // One write's own entries (at most 30 keys) may come on top before the next write cleans.
          expect(entries).toBeLessThanOrEqual(2 * live + 30);
          let held = 0;
          for (const [key, value] of log) if (key.startsWith(SEGMENT_PREFIX)) held += decodeSegment(value).length;
          // (Plus the segments that died in this write: their tombstones go out with the next.)
          expect(held).toBeGreaterThanOrEqual(entries);
          expect(live).toBe([...state.keys()].filter((k) => k.startsWith('k')).length);
        });
      }),
    );
  });

  it('stays bounded when keys come and go (a new key each checkpoint, the previous one deleted)', () => {
    const state = new Map<string, Buffer>([['cold', Buffer.from('c')]]);
    const log = new Map<string, Buffer>();
    const segments = new ChangelogSegments(0);
    append(
      log,
      segments.write(
        [['cold', Buffer.from('c')]],
        taskOf(state, () => true),
      ),
    );
    for (let i = 1; i <= 2000; i++) {
      state.delete(`x${i - 1}`);
      state.set(`x${i}`, Buffer.from(String(i)));
      append(
        log,
        segments.write(
          [
            [`x${i - 1}`, null],
            [`x${i}`, Buffer.from(String(i))],
          ],
          taskOf(state, () => true),
        ),
      );
    }
    expect(segments.stats.entries).toBeLessThanOrEqual(2 * 2 + 2);
    expect([...log.keys()].length).toBeLessThanOrEqual(4);
    expect(new Map(ChangelogSegments.restore(log, { packs: () => true }).state)).toEqual(state);
  });

  it('mends a segment whose live count is wrong instead of cleaning it for ever, and loses no key', () => {
    const state = new Map<string, Buffer>();
    const log = new Map<string, Buffer>();
    const segments = new ChangelogSegments(0);
    const task = taskOf(state, () => true);
    // Each checkpoint writes k1–k9 again and one new key: its segment keeps one live value of ten, so the log grows
    // past twice its live values and the cleaner copies the oldest segment (k0's) forward.
    const checkpoint = (step: number) => {
      const changes: [string, Buffer][] = [];
      for (let i = step === 0 ? 0 : 1; i < 10; i++) changes.push([`k${i}`, Buffer.from(`v${step}.${i}`)]);
      changes.push([`n${step}`, Buffer.from(`n${step}`)]);
      for (const [key, value] of changes) state.set(key, value);
      append(log, segments.write(changes, task));
    };
    checkpoint(0);
    // A bookkeeping bug's mark, made by hand: the first segment's count says it holds one more live value than its
    // slots do.
    const internals = segments as unknown as { segments: Map<number, { values: number }>; values: number };
    (internals.segments.values().next().value as { values: number }).values++;
    internals.values++;
    for (let step = 1; step < 8; step++) checkpoint(step);
    expect(segments.stats.copied).toBeGreaterThan(0);
    expect(segments.stats.mended).toBe(1);
    expect(segments.stats.live).toBe(state.size);
    expect(new Map(ChangelogSegments.restore(log, { packs: () => true }).state)).toEqual(state);
  });

  it('goes on from a restored log exactly as the writer would have (a rewound or moved partition)', () => {
    fc.assert(
      fc.property(checkpoints, checkpoints, (first, second) => {
        const { log, state, segments: writer } = run(first, 0);
        const restored = ChangelogSegments.restore(log, PACKS_K, 0);
        // The records each writes, segment names aside (each writer names its own).
        const unnamed = (records: [string, Buffer | null][]) =>
          records.map(([k, v]) => [k.startsWith(SEGMENT_PREFIX) ? SEGMENT_PREFIX : k, v]);
        const since = writer.stats.copied;
        for (const step of second) {
          const changes = apply(state, step, mixedKey);
          const records = restored.segments.write(changes, taskOf(state));
          // Keys deleted and back (a new slot each time, the old deletion kept until its segment is the oldest)
          // included: the restored bookkeeping writes and holds what the writer does.
          expect(unnamed(records)).toEqual(unnamed(writer.write(changes, taskOf(state))));
          expect(restored.segments.stats).toEqual({ ...writer.stats, copied: writer.stats.copied - since });
          expect(restored.segments.stats.mended).toBe(0);
          append(log, records);
          expect(new Map(ChangelogSegments.restore(log, PACKS_K).state)).toEqual(state);
        }
      }),
    );
  });

  it("keeps keys in the packed space by the task's own strings, and writes and restores what it would without them", () => {
    // The same checkpoints through two writers: one whose task names the space ("k") and gives some changes' keys
    // without it, one with no space; mid-way the first is restored from its own log and goes on.
    fc.assert(
      fc.property(checkpoints, fc.nat(40), fc.array(fc.boolean(), { minLength: 1 }), (steps, restartAt, given) => {
        const state = new Map<string, Buffer>();
        // p1 is packed too, outside the space: kept by its whole key beside the keys kept without it.
        const packs = (key: string) => key.startsWith('k') || key === 'p1';
        const spacedTask = { ...taskOf(state, packs), space: 'k' };
        const plainTask = taskOf(state, packs);
        const logs = { spaced: new Map<string, Buffer>(), plain: new Map<string, Buffer>() };
        let spaced = new ChangelogSegments(0);
        const plain = new ChangelogSegments(0);
        steps.forEach((step, n) => {
          if (n === restartAt) spaced = ChangelogSegments.restore(logs.spaced, spacedTask, 0).segments;
          const changes = apply(state, step, mixedKey);
          const named = changes.map(([key, value], i): [string, Buffer | null, string?] =>
            key.startsWith('k') && given[i % given.length]
              ? [key, value, NAMES[NAMES.indexOf(key.slice(1))]]
              : [key, value],
          );
          append(logs.spaced, spaced.write(named, spacedTask));
          append(logs.plain, plain.write(changes, plainTask));
          expect(lastAppearance(logs.spaced)).toEqual(lastAppearance(logs.plain));
          expect(new Map(ChangelogSegments.restore(logs.spaced, spacedTask).state)).toEqual(state);
          expect(spaced.stats).toEqual({ ...plain.stats, copied: spaced.stats.copied });
        });
      }),
    );
    const segments = new ChangelogSegments();
    segments.write([['k1', Buffer.from('v'), '1']], { ...taskOf(new Map()), space: 'k' });
    expect(() => segments.write([['k2', Buffer.from('v')]], taskOf(new Map()))).toThrow(/space it began with/);
  });

  it('finds keys that are not ASCII at restore, in a space that is not either, and goes on as the writer would', () => {
    const space = 'ñ/';
    const state = new Map<string, Buffer>();
    const task = { ...taskOf(state, (key) => key !== 'plain'), space };
    const segments = new ChangelogSegments(0);
    const log = new Map<string, Buffer>();
    const checkpoint = (changes: [string, string | null][]) => {
      for (const [k, v] of changes) v === null ? state.delete(k) : state.set(k, Buffer.from(v));
      const drained = changes.map(([k, v]): [string, Buffer | null, string?] => [
        k,
        v === null ? null : Buffer.from(v),
        k.startsWith(space) ? k.slice(space.length) : undefined,
      ]);
      append(log, segments.write(drained, task));
    };
    // Each key in two segments at least: in the space or out of it, its name ASCII or not.
    checkpoint([
      ['ñ/é1', 'a'],
      ['ñ/b', 'b'],
      ['ü2', 'c'],
      ['ñ', 'd'],
    ]);
    checkpoint([
      ['ñ/é1', 'e'],
      ['ü2', null],
      ['ñ', 'f'],
      ['ñ/日本', 'g'],
    ]);
    checkpoint([
      ['ñ/b', 'h'],
      ['ñ/日本', null],
      ['ü2', 'i'],
    ]);
    const restored = ChangelogSegments.restore(log, task, 0);
    expect(new Map(restored.state)).toEqual(state);
    expect(restored.segments.stats).toEqual({ ...segments.stats, copied: 0 });
    // The restored bookkeeping writes what the writer writes from here.
    const next: [string, Buffer | null, string?][] = [
      ['ñ/é1', null, 'é1'],
      ['ü2', Buffer.from('j')],
    ];
    const fromWriter = segments.write(next, task).map(([k, v]) => [k.startsWith(SEGMENT_PREFIX) ? 'seg' : k, v]);
    const fromRestored = restored.segments
      .write(next, task)
      .map(([k, v]) => [k.startsWith(SEGMENT_PREFIX) ? 'seg' : k, v]);
    expect(fromRestored).toEqual(fromWriter);
  });

  it('a checkpoint written only in part (at least once) leaves each key at its old or its new state', () => {
    fc.assert(
      fc.property(checkpoints, fc.array(change, { maxLength: 25 }), fc.nat(), (steps, last, cut) => {
        const { log, state, segments } = run(steps, 0);
        const before = new Map(state);
        const changes = apply(state, last, packableKey);
        const records = segments.write(changes, taskOf(state));
        append(log, records.slice(0, cut % (records.length + 1)));
        const restored = new Map(ChangelogSegments.restore(log, PACKS_K).state);
        for (const key of new Set([...before.keys(), ...state.keys(), ...restored.keys()])) {
          const got = restored.get(key)?.toString();
          expect([before.get(key)?.toString(), state.get(key)?.toString()]).toContain(got);
        }
      }),
    );
  });

  it('a changelog written one record per key, moved into segments and written in part, loses and revives nothing', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat(29), { minLength: 1, maxLength: 30 }),
        checkpoints,
        fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
        (plainKeys, steps, cuts) => {
          // The old changelog: a record per key.
          const state = new Map<string, Buffer>(plainKeys.map((i) => [`k${i}`, Buffer.from(`old${i}`)]));
          const log = new Map(state);
          let segments = ChangelogSegments.restore(log, PACKS_K, 0).segments;
          steps.forEach((step, n) => {
            const before = new Map(state);
            const changes = apply(state, step, packableKey);
            const records = segments.write(changes, taskOf(state));
            // The first few checkpoints are cut short (at least once: a prefix lands), then the partition restores.
            const cut = n < cuts.length ? (cuts[n] as number) % (records.length + 1) : records.length;
            append(log, records.slice(0, cut));
            const restored = ChangelogSegments.restore(log, PACKS_K, 0);
            for (const key of new Set([...before.keys(), ...state.keys(), ...new Map(restored.state).keys()]))
              expect([before.get(key)?.toString(), state.get(key)?.toString()]).toContain(
                new Map(restored.state).get(key)?.toString(),
              );
            // The partition restarts from what landed (after every checkpoint: a restart between two is a case too).
            state.clear();
            for (const [k, v] of restored.state) state.set(k, v);
            segments = restored.segments;
          });
        },
      ),
    );
  });

  it('keeps a deletion while the plain record it hides is not yet tombstoned, across a restart', () => {
    // The old changelog holds k1; the task deleted it before its first checkpoint with segments.
    const log = new Map([['k1', Buffer.from('old')]]);
    const first = ChangelogSegments.restore(log, PACKS_K, 0);
    const state = new Map<string, Buffer>();
    append(log, first.segments.write([['k1', null]], taskOf(state)));
    // Restarted before the next checkpoint: its first record alone lands (at least once).
    const second = ChangelogSegments.restore(log, PACKS_K, 0);
    expect(new Map(second.state).has('k1')).toBe(false);
    const records = second.segments.write([], taskOf(state));
    for (let cut = 0; cut <= records.length; cut++) {
      const partial = new Map(log);
      append(partial, records.slice(0, cut));
      expect(new Map(ChangelogSegments.restore(partial, PACKS_K).state).has('k1')).toBe(false);
    }
  });

  it('copies a changelog written one record per key into segments, then tombstones the plain records', () => {
    // Keys in a space or not: the plain records of keys in the space are found by it at restore and at the write.
    for (const space of [undefined, 'k']) {
      const log = new Map<string, Buffer>([
        ['k1', Buffer.from('a')],
        ['k2', Buffer.from('b')],
        ['$next', Buffer.from('7')],
      ]);
      const restored = ChangelogSegments.restore(log, { ...PACKS_K, space });
      const { segments } = restored;
      const state = new Map(restored.state);
      expect([...state.keys()]).toEqual(['k1', 'k2', '$next']);
      state.delete('k2');
      const first = segments.write([['k2', null]], { ...taskOf(state), space });
      expect(first.length).toBe(1);
      const segment = first[0]?.[0] as string;
      expect(segment.startsWith(SEGMENT_PREFIX)).toBe(true);
      expect(decodeSegment(first[0]?.[1] as Buffer)).toEqual([
        ['k1', Buffer.from('a')],
        ['k2', null],
      ]);
      append(log, first);
      const second = segments.write([], { ...taskOf(state), space });
      expect(second).toEqual([
        ['k1', null],
        ['k2', null],
      ]);
      append(log, second);
      expect([...log.keys()]).toEqual(['$next', segment]);
      expect(new Map(ChangelogSegments.restore(log, { ...PACKS_K, space }).state)).toEqual(
        new Map([
          ['$next', Buffer.from('7')],
          ['k1', Buffer.from('a')],
        ]),
      );
    }
  });

  it('splits a large checkpoint into segments of at most MAX_SEGMENT_BYTES', () => {
    const state = new Map<string, Buffer>();
    const changes: [string, Buffer][] = [];
    for (let i = 0; i < 100; i++) {
      const value = Buffer.alloc(10_000, i);
      state.set(`k${i}`, value);
      changes.push([`k${i}`, value]);
    }
    const records = new ChangelogSegments().write(changes, taskOf(state));
    expect(records.length).toBe(4);
    for (const [, value] of records) expect((value as Buffer).length).toBeLessThanOrEqual(MAX_SEGMENT_BYTES + 5);
    expect(records.flatMap(([, value]) => decodeSegment(value as Buffer).map(([key]) => key))).toEqual(
      changes.map(([key]) => key),
    );
  });

  it("names each writer's segments apart: an old owner still writing after a restore overwrites none", () => {
    const log = new Map<string, Buffer>();
    const state = new Map([['k1', Buffer.from('a')]]);
    append(log, new ChangelogSegments().write([['k1', Buffer.from('a')]], taskOf(state)));
    const oldOwner = ChangelogSegments.restore(log, PACKS_K).segments;
    const newOwner = ChangelogSegments.restore(log, PACKS_K).segments;
    const a = oldOwner.write([['k2', Buffer.from('x')]], taskOf(new Map([['k2', Buffer.from('x')]])));
    const b = newOwner.write([['k3', Buffer.from('y')]], taskOf(new Map([['k3', Buffer.from('y')]])));
    expect(a[0]?.[0]).not.toBe(b[0]?.[0]);
  });

  it('writes every key as its own record for a task that packs nothing', () => {
    const changes: [string, Buffer | null][] = [
      ['a', Buffer.from('1')],
      ['b', null],
    ];
    expect(new ChangelogSegments().write(changes, undefined)).toEqual(changes);
  });
});

describe('changelog segments on a state budget', () => {
  it('charge what their bookkeeping holds after every write, follow it down as the cleaner retires keys, and give it back', () => {
    fc.assert(
      fc.property(checkpoints, (steps) => {
        const budget = {
          used: 0,
          charge: (n: number) => (budget.used += n),
          release: (n: number) => (budget.used -= n),
        };
        const state = new Map<string, Buffer>();
        const segments = new ChangelogSegments(4);
        segments.useBudget(budget);
        for (const step of steps) {
          segments.write(apply(state, step, packableKey), taskOf(state));
          expect(budget.used).toBe(segments.bytes);
        }
        segments.release();
        expect(budget.used).toBe(0);
      }),
    );
  });

  it('hold more for more keys, less once deleted keys are retired, and reuse what retired keys held', () => {
    const state = new Map<string, Buffer>();
    const segments = new ChangelogSegments(0);
    const empty = segments.bytes;
    const put = (from: number, to: number, value: Buffer | null) =>
      Array.from({ length: to - from }, (_, i): [string, Buffer | null] => [`k${from + i}`, value]);
    const write = (changes: [string, Buffer | null][]) => {
      for (const [k, v] of changes) v === null ? state.delete(k) : state.set(k, v);
      segments.write(changes, taskOf(state));
    };
    write(put(0, 1000, Buffer.from('v')));
    const thousand = segments.bytes;
    // At least its place in the key table (8 bytes: at most half full), its key (8) and its entry (4) a key.
    expect(thousand).toBeGreaterThan(empty + 1000 * 20);
    write(put(0, 1000, null));
    // The deletions are the newest entries until their segment is the oldest with nothing live: then retired.
    for (let i = 0; i < 4; i++) write(put(5000 + i, 5001 + i, Buffer.from('w')));
    // The table's places and the entries go (the slots join the free list); the slots' columns keep their length, for
    // the next new keys.
    const retired = segments.bytes;
    expect(retired).toBeLessThan(thousand);
    // A thousand other keys take the freed slots: the bookkeeping is no larger than with the first thousand.
    write(put(10_000, 11_000, Buffer.from('x')));
    expect(segments.bytes).toBeGreaterThan(retired);
    expect(segments.bytes).toBeLessThan(thousand * 1.05);
  });
});
