import { packEntries } from '@vigil/connectors';
import { describe, expect, it } from 'vitest';
import { KeyGroups, storeId } from './key-group.js';

const PREFIXES = ['Velocity/principals/', 'Velocity/habits/', 'GeoJump/principals/'];

/** Each entry forEachEntry finds: its store's place and bytes, or what it names when no store has it. */
function entries(groups: KeyGroups, group: Buffer, start?: number, end?: number): (string | number)[][] {
  const out: (string | number)[][] = [];
  groups.forEachEntry(
    group,
    (store, at, stop, unknown) => out.push([store, group.toString('latin1', at, stop), unknown ?? '']),
    start,
    end,
  );
  return out;
}

describe('key groups', () => {
  it("names each entry's store by its prefix's id: a few bytes an entry, any store order", () => {
    const groups = new KeyGroups(PREFIXES);
    const group = groups.encode([
      [2, Buffer.from('geo')],
      [0, Buffer.alloc(200, 'v')],
    ]);
    expect(group.length).toBe(1 + (4 + 1 + 3) + (4 + 2 + 200));
    expect(entries(groups, group)).toEqual([
      [2, 'geo', ''],
      [0, 'v'.repeat(200), ''],
    ]);
    // Inside a larger buffer; read by a detector whose stores are in another order, one of them missing.
    const inside = Buffer.concat([Buffer.from('xx'), group, Buffer.from('yy')]);
    const other = new KeyGroups(['GeoJump/principals/', 'Velocity/habits/']);
    expect(entries(other, inside, 2, 2 + group.length)).toEqual([
      [0, 'geo', ''],
      [-1, 'v'.repeat(200), `store id ${storeId('Velocity/principals/').toString(16)}`],
    ]);
  });

  it('reads the packed form written before (stores named by their prefixes)', () => {
    const groups = new KeyGroups(PREFIXES);
    const packed = packEntries([
      { key: Buffer.from('Velocity/habits/'), value: Buffer.from('h') },
      { key: Buffer.from('Gone/store/'), value: Buffer.from('g') },
    ]);
    expect(entries(groups, packed)).toEqual([
      [1, 'h', ''],
      [-1, 'g', 'Gone/store/'],
    ]);
  });

  it('refuses a truncated group, an unknown form and two stores of one id', () => {
    const groups = new KeyGroups(PREFIXES);
    const group = groups.encode([[1, Buffer.from('habits')]]);
    expect(() => entries(groups, group.subarray(0, group.length - 1))).toThrow(/truncated/);
    expect(() => entries(groups, group.subarray(0, 3))).toThrow(/truncated/);
    expect(() => entries(groups, Buffer.from([9, 0, 0]))).toThrow(/unknown form 9/);
    expect(() => new KeyGroups(['a/', 'b/', 'a/'])).toThrow(/'a\/' and 'a\/' have one id/);
  });
});
