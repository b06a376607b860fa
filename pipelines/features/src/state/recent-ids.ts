// The ids a key addressed lately (objects a principal read, usernames an address tried), each with the event time it
// was last addressed, at most `max` of them, the least recently addressed dropped first. The first id is kept in two
// fields of the key's state; a Map is made at the second distinct id. A wave's key addresses one id and goes: a Map
// for it cost ~300 bytes, the two fields ~40. The Map lives in a field of the state's own naming (`seen`, `users`),
// as checkpoints written before the fields hold it; a state with a Map ignores the fields. Ids are strings (usernames)
// or their hashes (Enumeration's object ids: enumeration.ts).

import { idMapBytes, stringBytes } from '@vigil/core';

export interface RecentIds<K = string> {
  /** The only id addressed so far (while there is no Map), and when. */
  recentId: K | undefined;
  recentAt: number;
}

/**
 * Records that `id` was addressed at `t`; returns when it was addressed before (undefined: never, or since dropped).
 * `field` names the state's Map of ids; it is made, holding the inline id, when a second distinct id comes.
 */
export function touchRecent<F extends string, I = string>(
  state: RecentIds<I> & { [K in F]: Map<I, number> | undefined },
  field: F,
  id: I,
  t: number,
  max: number,
): number | undefined {
  let ids = state[field] as Map<I, number> | undefined;
  if (ids === undefined) {
    if (max >= 1 && (state.recentId === undefined || state.recentId === id)) {
      const before = state.recentId === id ? state.recentAt : undefined;
      state.recentId = id;
      state.recentAt = t;
      return before;
    }
    ids = new Map();
    if (state.recentId !== undefined) ids.set(state.recentId, state.recentAt);
    state.recentId = undefined;
    state.recentAt = 0;
    (state as { [K in F]: Map<I, number> | undefined })[field] = ids;
  }
  const before = ids.get(id);
  ids.delete(id);
  ids.set(id, t);
  if (ids.size > max) ids.delete(ids.keys().next().value as I);
  return before;
}

/**
 * Estimated bytes of the ids held (state-size accounting): a Map, its ids and their times, or the inline id's string
 * (the two fields themselves are the state object's).
 */
export function recentBytes(state: RecentIds, ids: Map<string, number> | undefined): number {
  if (ids !== undefined) return idMapBytes(ids.size);
  return state.recentId === undefined ? 0 : stringBytes(state.recentId.length);
}
