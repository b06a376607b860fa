// Keys → slot numbers, shared by the keyed stores that one key identifies (issue 17, lever 5). A principal has an
// entry in six stores of the principal stage (its velocity, habits, enumeration, places, devices and activity hours);
// each store kept its own Map entry for it and charged the budget for its own copy of the key's string. Stores that
// share an index look a key up once in it and keep their columns (event time, recency, the state) at the slot it
// gives, so a principal's key, its index entry and its slot number exist once for all of them. The index is a
// KeyTable (@vigil/core): typed arrays, not a Map, ~20 bytes a key less.
//
// A slot lives while any store holds its key (a count per slot) and is reused once none does. The index charges the
// budget for what a key costs beside the states while any store holds it: its string, its index entry, and a slot in
// every sharing store's columns — each store's columns are as long as the slots the index has given out, whichever
// stores hold them (the stores' event-time TTLs differ: a principal quiet for a week is gone from the one-day
// stores and still in the others). The stores charge their states.
//
// Who makes room for a new key's part: a shared index charges it after the event, once every store has charged (and
// made room for) its own state, and then evicts from its stores in turn until the part is made up for twice
// (settle()). Charged at once, it fell on the first store to run (Velocity's), which evicted for every new key and
// held 95,000 principals where the last held 248,000 (bench:cardinality). A store's own index charges at once: the
// store makes room for its key as it always did.

import { grown, KeyTable, stringBytes } from '@vigil/core';
import type { StateBudget } from './state-budget.js';

/**
 * The index's part of a key (KeyTable): its place in the table (4 bytes, the table between a quarter and half full:
 * ~11 on average), its hash and tag (5, grown by half again), its place in the keys' column (8, grown by half again)
 * and its count (1 byte, grown by a quarter). A Map entry was ~40 bytes of it (52 in all).
 */
export const KEY_OVERHEAD = 32;

/**
 * How the index's slots grow, and every store's columns with them: by a quarter. The columns are as long as the
 * index's slots and never shrink, and each key is charged its slots' share at most (GROWTH slots a key, right after a
 * growth; typedColumnBytes). Doubled, they held up to two slots a key against the 1.44 charged: a wave whose keys
 * passed 2^18 took every store's columns to 2^19 slots, and the two tasks held 1.07 of their budget.
 */
export const GROWTH = 1.25;

/**
 * A store's part of each slot: its state column (8 bytes, grown by about half again, as a plain array grows) and seven
 * typed columns (30 bytes, grown with the index's slots). bench:state-size's "bare entry" rows measure it with
 * KEY_OVERHEAD.
 */
export const SLOT_BYTES = Math.ceil(8 * 1.5 + 30 * GROWTH);
/** Of SLOT_BYTES, the column of state objects, which a store keeping its states in columns does not have. */
export const STATE_COLUMN_BYTES = 12;

/**
 * A key's string beyond its characters: vigil's keys are mostly joined strings (`sub:` + the subject, an address +
 * `|` + a route), which V8 keeps as a 32-byte pair over the parts ("bare entry, joined key"). A flat key is counted
 * the same, on the safe side.
 */
export const keyBytes = (key: string) => stringBytes(key.length) + 32;

/** A slot's count of stores is one byte. */
const MAX_STORES = 255;

/** A store sharing an index, as the index sees it: one that can evict a key to make room. */
export interface SharingStore {
  /** Evicts the store's first key to go, never the slot `keep`; the budget bytes that freed (0: none to evict). */
  evictForBudget(keep: number): number;
  /**
   * Bytes the store's columns take for each of the index's slots, whether the store holds the slot's key or not (its
   * columns are as long as the index's slots): its bookkeeping, and its states when they are columns.
   */
  readonly slotBytes: number;
}

export class KeyIndex {
  /** Key → slot, and each slot's key. */
  private readonly keys = new KeyTable();
  /** How many stores hold each slot's key. */
  private holders = new Uint8Array(16);
  /** Stores keeping columns by this index's slots. */
  private readonly members: SharingStore[] = [];
  /** What the members' columns take for each slot (their slotBytes). */
  private memberBytes = 0;
  /** Estimated bytes of the keys held (the index's part and the stores' slots; the stores count their states). */
  bytes = 0;
  /** Of `bytes`, what the budget has been charged (less until a shared index settles). */
  private charged = 0;
  private budget: StateBudget | undefined;
  /** The stores charging a budget: the index's charge stays while any does. */
  private readonly budgetUsers = new Set<SharingStore>();
  /** The slot of the newest key: settle() never evicts it. */
  private newest = -1;
  /**
   * The key found last and its slot: a principal's stores look its key up one after another (each of them once or
   * twice an event, and at a restore), and the same string compares equal at once, where the table hashes and probes.
   */
  private lastKey: string | undefined;
  private lastSlot = -1;

  /** @param shared charges new keys at settle() (stores of an extractor), else at once (a store's own index) */
  constructor(readonly shared = false) {}

  /** A store keeps its columns by these slots from now on (before any key: every key is charged a slot in each). */
  join(store: SharingStore): void {
    if (this.keys.size > 0) throw new Error('a store must share a key index before the index holds any key');
    if (this.members.length === MAX_STORES) throw new Error(`at most ${MAX_STORES} stores share one key index`);
    this.members.push(store);
    this.memberBytes += store.slotBytes;
  }

  /** A store that has not used the index leaves it (it takes another). */
  leave(store: SharingStore): void {
    if (this.keys.size > 0) throw new Error('a store can leave a key index only while the index holds no key');
    const at = this.members.indexOf(store);
    if (at >= 0) {
      this.members.splice(at, 1);
      this.memberBytes -= store.slotBytes;
    }
  }

  get size(): number {
    return this.keys.size;
  }

  /** Slots the index has room for (more than the highest given out so far): a store's columns never need more. */
  get capacity(): number {
    return this.holders.length;
  }

  /** Room for `keys` slots at once (a restore's keys), instead of growing by a quarter as they come. */
  reserve(keys: number): void {
    this.keys.reserve(keys);
    this.holders = grown(this.holders, keys);
  }

  slotOf(key: string): number | undefined {
    if (key === this.lastKey) return this.lastSlot;
    const slot = this.keys.slotOf(key);
    if (slot < 0) return undefined;
    this.lastKey = key;
    this.lastSlot = slot;
    return slot;
  }

  keyAt(slot: number): string {
    return this.keys.keyAt(slot) as string;
  }

  /**
   * A store charges its budget (shared by the process's stores) from now on, and so the index too: the same budget
   * again is a no-op for the index; another moves its charge.
   */
  useBudget(budget: StateBudget, store: SharingStore): void {
    this.budgetUsers.add(store);
    if (this.budget === budget) return;
    this.budget?.release(this.charged);
    this.budget = budget;
    this.charged = 0;
    this.sync();
  }

  /** A store gives its bytes back (it is being dropped); the index gives back its own with the last such store. */
  releaseBudget(store: SharingStore): void {
    this.budgetUsers.delete(store);
    if (this.budgetUsers.size > 0) return;
    this.budget?.release(this.charged);
    this.budget = undefined;
    this.charged = 0;
  }

  /** Brings the budget's charge to `bytes`. */
  sync(): void {
    if (!this.budget) return;
    this.budget.charge(this.bytes - this.charged);
    this.charged = this.bytes;
  }

  /**
   * Charges the keys added since the last settle (a shared index, after each event) and, over the budget, evicts from
   * the stores in turn until twice their bytes are made up for or the budget holds. The turn starts at a store given
   * by the new key's characters: it moves from event to event (a start given by a count could stay on one store for
   * as long as the count does), and a restore, which keeps no turn, changes nothing.
   */
  settle(): void {
    const added = this.bytes - this.charged;
    this.sync();
    const budget = this.budget;
    if (!budget || added <= 0 || !budget.over) return;
    const n = this.members.length;
    const start = budget.used;
    const key = this.keys.keyAt(this.newest) ?? '';
    let turn = (key.length + key.charCodeAt(key.length - 1) + key.charCodeAt(key.length >> 1)) % n || 0;
    let idle = 0;
    while (budget.over && start - budget.used < 2 * added && idle < n) {
      const freed = (this.members[turn] as SharingStore).evictForBudget(this.newest);
      idle = freed > 0 ? 0 : idle + 1;
      turn = (turn + 1) % n;
    }
  }

  /** The key's slot for one more store (one that does not hold it yet), made and charged if no store held it. */
  acquire(key: string): number {
    const slot = this.slotOf(key);
    if (slot === undefined) return this.add(key);
    this.holders[slot] = (this.holders[slot] as number) + 1;
    return slot;
  }

  private add(key: string): number {
    const slot = this.keys.add(key);
    if (slot === this.holders.length) this.holders = grown(this.holders, Math.ceil(GROWTH * this.holders.length));
    this.lastKey = key;
    this.lastSlot = slot;
    this.holders[slot] = 1;
    this.bytes += this.cost(key);
    this.newest = slot;
    if (!this.shared) this.sync();
    return slot;
  }

  /**
   * One store fewer holds the slot's key; with none left the slot is freed for another key, and uncharged. Returns
   * the budget bytes that freed (0 while another store holds the key).
   */
  release(slot: number): number {
    const left = (this.holders[slot] as number) - 1;
    this.holders[slot] = left;
    if (left > 0) return 0;
    const key = this.keys.keyAt(slot) as string;
    this.keys.remove(slot);
    if (slot === this.lastSlot) this.lastKey = undefined;
    this.bytes -= this.cost(key);
    // Uncharged bytes (keys added since the last settle) go first; what the budget holds beyond `bytes` leaves it now.
    const before = this.charged;
    if (this.bytes < this.charged) this.sync();
    return before - this.charged;
  }

  /** What a key costs the index and the sharing stores' columns. */
  private cost(key: string): number {
    return KEY_OVERHEAD + keyBytes(key) + this.memberBytes;
  }
}
