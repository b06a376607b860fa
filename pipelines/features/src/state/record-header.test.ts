import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyGroups } from './key-group.js';
import { encodeRecord, readRecord, withPlace } from './record-header.js';
import type { SlidingCounts } from './sliding-count.js';
import { FIELD_NAMES } from './state-codec.js';

describe('keyed checkpoint records', () => {
  it('keep the header as written, whole or not, and write the state back from a whole last-seen time only', () => {
    const state = { last: 1_795_000_000_000, first: 1_794_999_000_000 };
    const whole = encodeRecord(state, 1_795_000_000_000, 41, true, 120);
    expect(whole.length).toBeLessThan(30);
    expect(readRecord(whole)).toMatchObject({
      lastSeen: 1_795_000_000_000,
      seq: 41,
      returning: true,
      charged: 120,
      state,
    });
    for (const [lastSeen, seq] of [
      [1_795_000_000_000.5, 2 ** 60],
      [Number.NaN, 3],
    ] as const) {
      const back = readRecord(encodeRecord(state, lastSeen, seq, false, 0));
      expect([back.lastSeen, back.seq, back.state]).toEqual([lastSeen, seq, state]);
    }
  });

  it("rewrite a record's place only, keeping its time, charge and state as they are", () => {
    const record = encodeRecord({ n: 1_795_000_000_000 }, 1_795_000_000_000, 7, false, 2 ** 32 + 1);
    expect(withPlace(record, 7, false)).toBe(record);
    const moved = readRecord(withPlace(record, 300_000, true));
    expect(moved).toMatchObject({ lastSeen: 1_795_000_000_000, seq: 300_000, returning: true, charged: -1 });
    expect(moved.state).toEqual({ n: 1_795_000_000_000 });
  });

  it('refuse a header cut short', () => {
    const record = encodeRecord({}, 1_795_000_000_000, 2 ** 40, false, 5);
    expect(() => readRecord(record.subarray(0, 9))).toThrow(/runs past its record/);
  });
});

describe('the compact forms, as written since 5e926a5', () => {
  it('keep the field names’ places: a name is written as its place in FIELD_NAMES, so the list only grows', () => {
    // The first 69 names, in their order. A changed hash means a name moved or went: records written before would
    // read with other names. Names added at the end leave it as it is.
    const first = FIELD_NAMES.slice(0, 69);
    expect(first).toHaveLength(69);
    expect(createHash('sha256').update(first.join('\n')).digest('hex')).toBe(
      '4ac5a968582e2b2a337241ef19d59781c1b06698813e59c1f518a7b2e5f49bab',
    );
  });

  it("read a group and its records as vigil wrote them (bytes written by 435121e's codec)", () => {
    const at = 1_795_000_000_123;
    const groups = new KeyGroups(['GeoJump/principals/', 'Velocity/principals/', 'Other/store/']);
    const group = Buffer.from(COMPACT_GROUP, 'base64');
    const records: [number, Buffer][] = [];
    groups.forEachEntry(group, (store, from, to) => records.push([store, group.subarray(from, to)]));
    expect(records.map(([store]) => store)).toEqual([0, 1]);
    const [geo, velocity] = records.map(([, r]) => readRecord<Record<string, unknown>>(r));
    expect(velocity).toMatchObject({ lastSeen: at, seq: 2, returning: false, charged: 0, state: { n: 1 } });
    expect(geo).toMatchObject({ lastSeen: at, seq: 300_000, returning: true, charged: 120 });
    const state = geo?.state as Record<string, unknown>;
    expect(state).toMatchObject({ last: at, half: 0.5, third: 1 / 3, neg: -3, big: 2 ** 60, text: 'naïve ☃' });
    expect(state).toMatchObject({ flag: true, nothing: undefined, none: null, list: [1, 'a', [2]] });
    expect([Number.isNaN(state.nan), Object.is(state.negZero, -0), state.recentAt]).toEqual([true, true, at - 60_000]);
    expect([...(state.dense as Uint32Array)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([(state.zeros as Uint32Array).length, [...(state.hours as Float32Array)]]).toEqual([100, [0.5, 1.25, 0]]);
    expect(state.seen).toEqual(
      new Map([
        ['42', at - 1],
        ['43', 2],
      ]),
    );
    const counts = state.counts as SlidingCounts;
    const sparse = state.sparse as SlidingCounts;
    expect(counts.count(0, at, 2)).toBe(7);
    expect(sparse.count(1, at, 1)).toBe(1);
  });
});

/** A group of two compact records (GeoJump's: a value of every kind; Velocity's: { n: 1 }), base64. */
const COMPACT_GROUP =
  'AvXCLkuPAsYB+7zZ8p404KcSeBUTAREAAARoYWxmEAAAAD8ABXRoaXJkBFVVVVVVVdU/AANuYW4EAAAAAAAA+H8AB25lZ1plcm8QAAAAgAADbmVnDwMAA2J' +
  'pZxAAAIBdAAR0ZXh0EgpuYcOvdmUg4piDAARmbGFnAwAHbm90aGluZwAABG5vbmUBAhgCDpBODuDUAwMKPgUAwY321wYAy9fTjgEoBw8HAAZzcGFyc2UZAg' +
  '7g1AMOgN3bAQIKEYgnAhGIJw4BAAVkZW5zZRYIAAECAwQFBgcIAAV6ZXJvcxZkAQQXAwAAAD8AAKA/AAAAAA4UAhICNDIRARICNDMOAgAEbGlzdBMDDgES' +
  'AWETAQ4CBhHg1AMtGC9yD8YA+7zZ8p40AgAVAQMOAQ==';
