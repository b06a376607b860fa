import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mostRecentLast } from './recent-list.js';

describe('a most-recent-last list', () => {
  it('moves or adds the item to the end, drops the oldest past the bound', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        (items, max) => {
          // The model: the old in-place edit (splice, push, shift).
          const model: number[] = [];
          let list: number[] = [];
          for (const item of items) {
            const at = model.indexOf(item);
            if (at >= 0) model.splice(at, 1);
            model.push(item);
            if (model.length > max) model.shift();
            list = mostRecentLast(list, item, max);
            expect(list).toEqual(model);
          }
        },
      ),
    );
  });

  it('hands back the same list when the item is already last (no copy on the common request)', () => {
    const list = ['ch', 'de'];
    expect(mostRecentLast(list, 'de', 4)).toBe(list);
  });
});
