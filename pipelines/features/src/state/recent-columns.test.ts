import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecentColumns } from './recent-columns.js';

describe('a most-recent-last list per slot, in columns', () => {
  it('moves or adds the item to the end, drops the oldest past the bound; slots apart', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ slot: fc.integer({ min: 0, max: 2 }), item: fc.integer({ min: 0, max: 6 }) }), {
          maxLength: 60,
        }),
        fc.integer({ min: 1, max: 5 }),
        (visits, max) => {
          // The model: an array per slot, edited in place (splice, push, shift).
          const models: number[][] = [[], [], []];
          const lists = new RecentColumns(max);
          lists.grow(3);
          for (const { slot, item } of visits) {
            const model = models[slot] as number[];
            expect(lists.has(slot, item)).toBe(model.includes(item));
            const at = model.indexOf(item);
            if (at >= 0) model.splice(at, 1);
            model.push(item);
            if (model.length > max) model.shift();
            lists.visit(slot, item);
            for (let s = 0; s < 3; s++) expect(lists.read(s)).toEqual(models[s]);
            expect(lists.size(slot)).toBe(model.length);
          }
        },
      ),
    );
  });

  it('takes 4 bytes an item, 8 when wide, and a byte for the count: what the budget is charged', () => {
    expect(new RecentColumns(4).slotBytes).toBe(17);
    expect(new RecentColumns(4, true).slotBytes).toBe(33);
  });

  it('takes an item out, the later ones moving down; wide lists hold any double', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 12 }),
        fc.integer({ min: 0, max: 6 }),
        (items, out) => {
          const lists = new RecentColumns(4, true);
          lists.grow(2);
          // Negative and past 2^32: a wide list's items are doubles.
          const wide = (i: number) => (i % 2 === 0 ? -i - 1 : 2 ** 52 + i);
          for (const i of items) lists.visit(1, wide(i));
          const before = lists.read(1);
          expect(lists.remove(1, wide(out))).toBe(before.includes(wide(out)));
          expect(lists.read(1)).toEqual(before.filter((i) => i !== wide(out)));
          expect(lists.read(0)).toEqual([]);
        },
      ),
    );
  });

  it('keeps the most recent of a longer list written to it, and what it holds as it grows', () => {
    const lists = new RecentColumns(4);
    lists.grow(1);
    lists.write(0, [2 ** 32 - 1, 5, 6, 7, 8]);
    expect(lists.read(0)).toEqual([5, 6, 7, 8]);
    lists.grow(64);
    expect(lists.read(0)).toEqual([5, 6, 7, 8]);
    expect(lists.read(63)).toEqual([]);
  });
});
