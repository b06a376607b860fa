// The recency order of a key index's slots: two doubly linked lists through typed-array columns, as in a segmented
// LRU (2Q; why two: keyed-state.ts). A new slot joins `once`; a later use moves it to the tail of `again`. Each slot
// carries the sequence number of its last use, so a restore can put the lists back in the same order.
//
// The lists belong to the key index, not to each store: stores sharing an index (a principal's six in the principal
// stage) keep one place in one order for a key, and the key goes from all of them at once.

import { grown } from '@vigil/core';
import { sortByKey } from './radix-sort.js';

/** No slot: the end of a list, or none to evict. */
export const NONE = -1;
/** Which list a slot is in (`list`): none, `once` or `again`. */
const UNLINKED = 0;
const ONCE = 1;
const AGAIN = 2;
/** The lists' ends in `ends`: head (least recently used) and tail of `once`, then of `again`. */
const ONCE_HEAD = 0;
const AGAIN_HEAD = 2;

export class RecencyLists {
  private prev: Int32Array;
  private next: Int32Array;
  /** Sequence number of the slot's last use: its place in recency order. */
  private seqOf: Float64Array;
  /** The list the slot is in; during a restore, the list its records name (the slot is linked at link()). */
  private list: Uint8Array;
  private readonly ends = new Int32Array([NONE, NONE, NONE, NONE]);
  /** The last sequence number given out. */
  seq = 0;

  constructor(slots: number) {
    this.prev = new Int32Array(slots);
    this.next = new Int32Array(slots);
    this.seqOf = new Float64Array(slots);
    this.list = new Uint8Array(slots);
  }

  /** What each slot takes in these columns: prev, next (4 each), its sequence number (8) and its list (1). */
  static readonly SLOT_BYTES = 17;

  grow(slots: number): void {
    this.prev = grown(this.prev, slots);
    this.next = grown(this.next, slots);
    this.seqOf = grown(this.seqOf, slots);
    this.list = grown(this.list, slots);
  }

  linked(slot: number): boolean {
    return this.list[slot] !== UNLINKED;
  }

  /** Whether the slot was used again after it was made (it is in `again`). */
  returning(slot: number): boolean {
    return this.list[slot] === AGAIN;
  }

  seqAt(slot: number): number {
    return this.seqOf[slot] as number;
  }

  /** A new slot, at the tail of `once`. */
  add(slot: number): void {
    this.list[slot] = ONCE;
    this.append(slot);
    this.seqOf[slot] = ++this.seq;
  }

  /** A later use of a linked slot: to the tail of `again`. */
  promote(slot: number): void {
    if (slot !== this.ends[AGAIN_HEAD + 1]) {
      this.unlink(slot);
      this.list[slot] = AGAIN;
      this.append(slot);
    }
    this.seqOf[slot] = ++this.seq;
  }

  /** The slot is free: out of its list. */
  remove(slot: number): void {
    if (this.list[slot] !== UNLINKED) this.unlink(slot);
    this.forget(slot);
  }

  /** The slot's place is forgotten: a slot freed during a restore, before anything is linked. */
  forget(slot: number): void {
    this.list[slot] = UNLINKED;
    this.seqOf[slot] = 0;
  }

  /**
   * The first slot to go — the head of `once`, else of `again` — passing over `keep`; NONE when there is none. (A key
   * that other stores sharing the index hold, and that a store is about to take again, can be at the head of `once`:
   * the key after it goes instead.)
   */
  first(keep: number): number {
    const once = this.firstOf(ONCE_HEAD, keep);
    return once !== NONE ? once : this.firstOf(AGAIN_HEAD, keep);
  }

  private firstOf(head: number, keep: number): number {
    const first = this.ends[head] as number;
    return first === keep && first !== NONE ? (this.next[first] as number) : first;
  }

  /** The least recently used slot of `once` (again: false) or `again`; NONE when the list is empty. */
  head(again: boolean): number {
    return this.ends[again ? AGAIN_HEAD : ONCE_HEAD] as number;
  }

  /** Both lists merged by sequence number: the least recently used first. */
  *inOrder(): IterableIterator<number> {
    let a = this.ends[ONCE_HEAD] as number;
    let b = this.ends[AGAIN_HEAD] as number;
    while (a !== NONE || b !== NONE) {
      if (b === NONE || (a !== NONE && (this.seqOf[a] as number) < (this.seqOf[b] as number))) {
        yield a;
        a = this.next[a] as number;
      } else {
        yield b;
        b = this.next[b] as number;
      }
    }
  }

  /** A restore begins: every slot unlinked, its place unknown until restored() says it. */
  clear(): void {
    this.ends.fill(NONE);
    this.list.fill(UNLINKED);
    this.seqOf.fill(0);
    this.seq = 0;
  }

  /**
   * A restored record's place for the slot: the newest record (the highest sequence number) says it. Records of stores
   * sharing the slot name the same place, or an older one when a store's record was written before the key's last
   * use; records written before the lists were the index's carry each store's own sequence numbers, and the highest
   * wins.
   */
  restored(slot: number, seq: number, returning: boolean): void {
    const list = returning ? AGAIN : ONCE;
    const at = this.seqOf[slot] as number;
    if (this.list[slot] === UNLINKED || seq > at) {
      this.seqOf[slot] = seq;
      this.list[slot] = list;
    } else if (seq === at && list === AGAIN) this.list[slot] = AGAIN;
  }

  /** Links `slots` (held, restored: restored() named their places) in their recency order, after a restore. */
  link(slots: Int32Array): void {
    const order = this.byRecency(slots);
    for (const slot of order) {
      if (this.list[slot] === UNLINKED) this.list[slot] = ONCE;
      this.append(slot);
    }
    this.seq =
      order.length > 0 ? Math.max(this.seq, this.seqOf[order[order.length - 1] as number] as number) : this.seq;
  }

  /**
   * `slots` least recently used first: by sequence number. Whole numbers spread over less than 2^32 (a restore's) are
   * radix-sorted (radix-sort.ts); else sorted natively, each slot one double — its sequence number past the slot's
   * bits, the slot below them — when that is exact (whole numbers within 53 bits); else with a comparator, several
   * times slower over a restore's hundreds of thousands.
   */
  private byRecency(slots: Int32Array): Int32Array {
    const n = slots.length;
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    let whole = true;
    let top = 0;
    for (let i = 0; i < n; i++) {
      const slot = slots[i] as number;
      const seq = this.seqOf[slot] as number;
      if (seq < low) low = seq;
      if (seq > high) high = seq;
      if (slot > top) top = slot;
      whole &&= Number.isInteger(seq);
    }
    if (n > 0 && whole && high - low < 2 ** 32) {
      // Slots ascending, so equal sequence numbers (not written by one store, but possible) keep the slot order.
      const offsets = new Uint32Array(n);
      for (let i = 0; i < n; i++) offsets[i] = (this.seqOf[slots[i] as number] as number) - low;
      return sortByKey(slots, offsets);
    }
    const below = 2 ** Math.ceil(Math.log2(top + 2));
    if (n === 0 || !whole || (high - low + 1) * below > Number.MAX_SAFE_INTEGER)
      return slots.sort((a, b) => (this.seqOf[a] as number) - (this.seqOf[b] as number));
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const slot = slots[i] as number;
      keys[i] = ((this.seqOf[slot] as number) - low) * below + slot;
    }
    keys.sort();
    for (let i = 0; i < n; i++) slots[i] = (keys[i] as number) % below;
    return slots;
  }

  /** Appends the slot at the tail of the list `list` names. */
  private append(slot: number) {
    const head = this.list[slot] === AGAIN ? AGAIN_HEAD : ONCE_HEAD;
    const tail = this.ends[head + 1] as number;
    this.prev[slot] = tail;
    this.next[slot] = NONE;
    if (tail !== NONE) this.next[tail] = slot;
    else this.ends[head] = slot;
    this.ends[head + 1] = slot;
  }

  private unlink(slot: number) {
    const head = this.list[slot] === AGAIN ? AGAIN_HEAD : ONCE_HEAD;
    const before = this.prev[slot] as number;
    const after = this.next[slot] as number;
    if (before !== NONE) this.next[before] = after;
    else this.ends[head] = after;
    if (after !== NONE) this.prev[after] = before;
    else this.ends[head + 1] = before;
    this.prev[slot] = NONE;
    this.next[slot] = NONE;
  }
}
