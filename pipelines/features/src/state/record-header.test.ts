import { describe, expect, it } from 'vitest';
import { encodeRecord, readRecord, withPlace } from './record-header.js';

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
    expect(withPlace(record, 'k', 7, false)).toBe(record);
    const moved = readRecord(withPlace(record, 'k', 300_000, true));
    expect(moved).toMatchObject({ lastSeen: 1_795_000_000_000, seq: 300_000, returning: true, charged: -1 });
    expect(moved.state).toEqual({ n: 1_795_000_000_000 });
  });

  it('refuse a header cut short', () => {
    const record = encodeRecord({}, 1_795_000_000_000, 2 ** 40, false, 5);
    expect(() => readRecord(record.subarray(0, 9))).toThrow(/runs past its record/);
  });
});
