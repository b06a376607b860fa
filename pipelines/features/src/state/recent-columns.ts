// A short list of numbers per slot, most recent last and at most `max` long, in columns (the countries a principal
// was seen in, the clients it used): a visit moves an item to the end, or adds it and drops the oldest past `max`, in
// place. Kept as an array copied on change, a list of one to four took 56–80 bytes beside its owner's field; here a
// slot takes 4 × max + 1 bytes for 32-bit items, 8 × max + 1 for `wide` ones (any double: 53-bit hashes).

import { grown } from '@vigil/core';

export class RecentColumns {
  private items: Uint32Array | Float64Array;
  private counts = new Uint8Array(0);

  constructor(
    readonly max: number,
    wide = false,
  ) {
    if (max < 1 || max > 255) throw new Error('a recent list holds 1 to 255 items');
    this.items = wide ? new Float64Array(0) : new Uint32Array(0);
  }

  /** Bytes a slot's list takes in the columns. */
  get slotBytes(): number {
    return this.items.BYTES_PER_ELEMENT * this.max + 1;
  }

  grow(slots: number): void {
    this.items = grown(this.items, slots * this.max);
    this.counts = grown(this.counts, slots);
  }

  size(slot: number): number {
    return this.counts[slot] as number;
  }

  has(slot: number, item: number): boolean {
    const at = slot * this.max;
    const n = this.counts[slot] as number;
    for (let i = 0; i < n; i++) if (this.items[at + i] === item) return true;
    return false;
  }

  /** Puts `item` last: moved there if held, else added and the oldest dropped past `max`. */
  visit(slot: number, item: number): void {
    const at = slot * this.max;
    const n = this.counts[slot] as number;
    let i = 0;
    while (i < n && this.items[at + i] !== item) i++;
    if (i === n - 1) return;
    if (i === n && n < this.max) {
      this.items[at + n] = item;
      this.counts[slot] = n + 1;
      return;
    }
    // Held (at i): the ones after it move up one. Not held, full: all move up, the oldest drops out.
    const from = i < n ? i : 0;
    this.items.copyWithin(at + from, at + from + 1, at + n);
    this.items[at + n - 1] = item;
  }

  /** Takes `item` out of the slot's list, the ones after it moving down one; false when the list does not hold it. */
  remove(slot: number, item: number): boolean {
    const at = slot * this.max;
    const n = this.counts[slot] as number;
    let i = 0;
    while (i < n && this.items[at + i] !== item) i++;
    if (i === n) return false;
    this.items.copyWithin(at + i, at + i + 1, at + n);
    this.counts[slot] = n - 1;
    return true;
  }

  /** Sets the slot's list; a longer one (a checkpoint of a vigil that kept more) keeps its most recent `max`. */
  write(slot: number, list: readonly number[]): void {
    const recent = list.slice(-this.max);
    this.items.set(recent, slot * this.max);
    this.counts[slot] = recent.length;
  }

  read(slot: number): number[] {
    const at = slot * this.max;
    return Array.from(this.items.subarray(at, at + (this.counts[slot] as number)));
  }
}
