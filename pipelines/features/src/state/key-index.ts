// Keys → slot numbers, shared by the keyed stores that one key identifies (issue 17, lever 5). A principal has an
// entry in six stores of the principal stage (its velocity, habits, enumeration, places, devices and activity hours);
// each store kept its own Map entry for it and charged the budget for its own copy of the key's string. Stores that
// share an index look a key up once in it and keep their columns (event time, recency, the state) at the slot it
// gives, so a principal's key, its Map entry and its slot number exist once for all of them.
//
// A slot lives while any store holds its key (a count per slot) and is reused once none does. What a key costs beside
// the states — its string, its Map entry, a slot in each sharing store's columns — is charged by the stores that hold
// it, each its share (share()): a store evicting a key frees its share, so every store makes room for its own keys
// as a store with an index of its own does, and none empties itself for a key's cost that the others hold too. While
// only some of the stores hold a key, the index's part of it is under-counted by the missing shares (at most ~120
// bytes a key with six stores).

import { stringBytes } from '@vigil/core';

/**
 * The index's part of a key: its Map entry (~28 bytes a slot, doubled by V8: 1.44 slots a key on average), its place
 * in `keyOf` (8 bytes, grown by about half again) and its count (1 byte, doubled).
 */
const KEY_OVERHEAD = 52;

/**
 * A store's own part of a key: its state column (8 bytes, grown by about half again) and seven typed columns (30
 * bytes, doubled by the store's grow()). bench:state-size's "bare entry" rows measure it with KEY_OVERHEAD.
 */
const SLOT_BYTES = 54;

/**
 * A key's string beyond its characters: vigil's keys are mostly joined strings (`sub:` + the subject, an address +
 * `|` + a route), which V8 keeps as a 32-byte pair over the parts ("bare entry, joined key"). A flat key is counted
 * the same, on the safe side.
 */
export const keyBytes = (key: string) => stringBytes(key.length) + 32;

/** A slot's count of stores is one byte. */
const MAX_STORES = 255;

export class KeyIndex {
  private readonly slots = new Map<string, number>();
  private keyOf: (string | undefined)[] = [];
  /** How many stores hold each slot's key. */
  private holders = new Uint8Array(16);
  private free: number[] = [];
  private used = 0;
  /** Stores keeping columns by this index's slots. */
  private stores = 0;

  /** A store keeps its columns by these slots from now on (before any key: every key's cost is split among them). */
  join(): void {
    if (this.slots.size > 0) throw new Error('a store must share a key index before the index holds any key');
    if (this.stores === MAX_STORES) throw new Error(`at most ${MAX_STORES} stores share one key index`);
    this.stores++;
  }

  /** A store that has not used the index leaves it (it takes another). */
  leave(): void {
    if (this.slots.size > 0) throw new Error('a store can leave a key index only while the index holds no key');
    this.stores--;
  }

  get size(): number {
    return this.slots.size;
  }

  /** One more than the highest slot given out so far (a power of two): a store's columns never need more. */
  get capacity(): number {
    return this.holders.length;
  }

  slotOf(key: string): number | undefined {
    return this.slots.get(key);
  }

  keyAt(slot: number): string {
    return this.keyOf[slot] as string;
  }

  /** What one store holding the key is charged for it beside its state: its slot, and its share of the key. */
  share(key: string): number {
    return SLOT_BYTES + Math.ceil((KEY_OVERHEAD + keyBytes(key)) / this.stores);
  }

  /** The key's slot for one more store (a store that does not hold it yet), made if no store held it. */
  acquire(key: string): number {
    let slot = this.slots.get(key);
    if (slot !== undefined) {
      this.holders[slot] = (this.holders[slot] as number) + 1;
      return slot;
    }
    slot = this.free.pop();
    if (slot === undefined) {
      if (this.used === this.holders.length) {
        const grown = new Uint8Array(2 * this.holders.length);
        grown.set(this.holders);
        this.holders = grown;
      }
      slot = this.used++;
      this.keyOf.push(key);
    } else {
      this.keyOf[slot] = key;
    }
    this.slots.set(key, slot);
    this.holders[slot] = 1;
    return slot;
  }

  /** One store fewer holds the slot's key; with none left the slot is freed for another key. */
  release(slot: number): void {
    const left = (this.holders[slot] as number) - 1;
    this.holders[slot] = left;
    if (left > 0) return;
    this.slots.delete(this.keyOf[slot] as string);
    this.keyOf[slot] = undefined;
    this.free.push(slot);
  }
}
