// The inline-first recent ids against the Map the families kept before (one per key, made at the first id).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recentBytes, touchRecent } from './recent-ids.js';

describe('recent ids', () => {
  it('answers as a bounded Map of ids would, for any sequence of ids and any bound', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 60 }),
        (max, ids) => {
          const state = { seen: undefined as Map<string, number> | undefined, recentId: undefined, recentAt: 0 };
          const model = new Map<string, number>();
          ids.forEach((id, t) => {
            const before = model.get(id);
            model.delete(id);
            model.set(id, t);
            if (model.size > max) model.delete(model.keys().next().value as string);
            expect(touchRecent(state, 'seen', id, t, max)).toBe(before);
            const held = state.seen ?? new Map(state.recentId === undefined ? [] : [[state.recentId, state.recentAt]]);
            expect([...held]).toEqual([...model]);
          });
        },
      ),
    );
  });

  it('keeps one id in two fields, and makes the Map at the second', () => {
    const state = { users: undefined as Map<string, number> | undefined, recentId: undefined, recentAt: 0 };
    touchRecent(state, 'users', 'alice', 1, 256);
    expect([state.users, state.recentId]).toEqual([undefined, 'alice']);
    const inline = recentBytes(state, state.users);
    touchRecent(state, 'users', 'bob', 2, 256);
    // The reason for the two fields: one id inline costs a fraction of a Map of two.
    expect(inline).toBeLessThan(recentBytes(state, state.users) / 4);
    expect([...(state.users ?? [])]).toEqual([
      ['alice', 1],
      ['bob', 2],
    ]);
    expect(state.recentId).toBeUndefined();
  });
});
