// A short list of what a key was seen with, most recent last and at most `max` long (the countries a principal was
// seen in, the clients it used). It is copied on change rather than pushed: an array grown by push reserves room for
// 17 elements (184 bytes on V8) however few it holds, and one copied to its length takes 56–80 for one to four.
// Copies happen only when the list changes (a new item, or one moved to the end), which is rare per key.

/**
 * `list` with `item` at its end — moved there if held, else added and the oldest dropped past `max`. Returns `list`
 * itself when `item` is already last (no allocation on the common request). A list longer than `max` (restored from a
 * checkpoint written with a larger bound) is cut to `max` at its next change.
 */
export function mostRecentLast<T>(list: readonly T[], item: T, max: number): T[] {
  const at = list.indexOf(item);
  if (at >= 0 && at === list.length - 1) return list as T[];
  const rest = at >= 0 ? [...list.slice(0, at), ...list.slice(at + 1)] : list;
  const from = Math.max(0, rest.length + 1 - max);
  return rest.slice(from).concat([item]);
}
