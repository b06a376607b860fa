// Slots in order of a 32-bit key, ties in the order given: a stable LSD radix sort, 11 bits a pass.
//
// Why: a restore links each key index's keys in recency order (RecencyLists.link), ~300,000 principals and as many
// tokens in the principal stage after a wave. A native sort of one packed double per slot took a tenth of the restore
// (bench:cardinality's profile); sequence numbers are whole and their spread fits 32 bits, so two or three counting
// passes over the slots do it in linear time.

const BITS = 11;
const RADIX = 1 << BITS;
const MASK = RADIX - 1;

/**
 * `slots` reordered (in place, and returned) by `keys[i]`, the key of `slots[i]`; slots of equal keys keep their
 * order. `keys` is reordered with them.
 */
export function sortByKey(slots: Int32Array, keys: Uint32Array): Int32Array {
  const n = slots.length;
  let high = 0;
  for (let i = 0; i < n; i++) if ((keys[i] as number) > high) high = keys[i] as number;
  let fromSlots = slots;
  let fromKeys = keys;
  let toSlots = new Int32Array(n);
  let toKeys = new Uint32Array(n);
  const counts = new Int32Array(RADIX);
  for (let shift = 0; shift < 32 && (shift === 0 || high >>> shift > 0); shift += BITS) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[((fromKeys[i] as number) >>> shift) & MASK]++;
    let at = 0;
    for (let d = 0; d < RADIX; d++) {
      const c = counts[d] as number;
      counts[d] = at;
      at += c;
    }
    for (let i = 0; i < n; i++) {
      const key = fromKeys[i] as number;
      const to = counts[(key >>> shift) & MASK]++;
      toSlots[to] = fromSlots[i] as number;
      toKeys[to] = key;
    }
    [fromSlots, toSlots] = [toSlots, fromSlots];
    [fromKeys, toKeys] = [toKeys, fromKeys];
  }
  if (fromSlots !== slots) {
    slots.set(fromSlots);
    keys.set(fromKeys);
  }
  return slots;
}
