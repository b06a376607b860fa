// Keys → slot numbers, shared by the keyed stores that one key identifies (issue 17, lever 5), and the keys' recency.
// A principal has an entry in six stores of the principal stage (its velocity, habits, enumeration, places, devices and
// activity hours); each store kept its own Map entry for it and charged the budget for its own copy of the key's
// string. Stores that share an index look a key up once in it and keep their columns (event time, the state) at the
// slot it gives, so a principal's key, its index entry and its slot number exist once for all of them. The index is a
// KeyTable (@vigil/core): typed arrays, not a Map, ~20 bytes a key less.
//
// The index also keeps the keys' recency order (recency-lists.ts: the two lists of keyed-state.ts), and evicts a key
// from every store that holds it at once. Each store kept its own lists, sequence numbers and flags before: six
// stores' bookkeeping a principal (6 × 38 bytes), where one order is all a principal needs. So in the principal stage
// a principal is seen, kept and evicted as one: its least recently used entry in any store is what it last did, and
// when the budget or a cap makes room it goes whole (a principal with its velocity gone and its places kept had a
// history no one asked for). A store keeps only what is its own for a key: whether it holds it, when it last saw it
// (its TTL; the family's own clock where it keeps one: StateColumns.clock), and what its state was charged.
//
// When a key's uses start and end: a use in a later event moves a key to `again`. An extractor's index (settled)
// counts an event from one settle() to the next, so the six stores a request touches are one use; any other index
// counts each use as an event of its own, so a store with its own index behaves as it always did.
//
// Expiry: each store's TTL is its own, and a store whose entry is found expired at its next use drops it then. The
// index drops expired entries from the cold end of its lists too, a few a use (a settled index: a few an event), but
// only past a key that no store holds unexpired: a principal held by a store of a long TTL (its activity hours, 400
// days) keeps its place at the cold end, and a shorter-lived store's entries behind it wait for their key's next use
// or eviction to go. Their columns are the index's for as long as any store holds the key either way; what they hold
// beside the columns (an Enumeration's ids past the first) stays charged meanwhile.
//
// A slot lives while any store holds its key (a count per slot) and is reused once none does. The index charges the
// budget for what a key costs beside the states while any store holds it: its string, its index entry, its place in
// the lists, and a slot in every sharing store's columns — each store's columns are as long as the slots the index has
// given out, whichever stores hold them. The stores charge their states.
//
// Who makes room for a new key's part: a shared index charges it after the event, once every store has charged (and
// made room for) its own state, and then evicts its least recently used keys until the part is made up for twice
// (settle()). A store's own index charges at once: the store makes room for its key as it always did.

import { grown, KeyTable, stringBytes } from '@vigil/core';
import { NONE, RecencyLists } from './recency-lists.js';
import type { StateBudget } from './state-budget.js';

/**
 * The index's part of a key (KeyTable): its place in the table (4 bytes, the table between a quarter and half full:
 * ~11 on average), its hash and tag (5, grown by half again), its place in the keys' column (8, grown by half again)
 * and its count (1 byte, grown by an eighth). A Map entry was ~40 bytes of it (52 in all).
 */
export const KEY_OVERHEAD = 32;

/**
 * How the index's slots grow, and every store's columns with them: by an eighth. The columns are as long as the
 * index's slots and never shrink, and each key is charged its slots' share at most (GROWTH slots a key, right after a
 * growth; typedColumnBytes). Doubled, they held up to two slots a key against the 1.44 charged: a wave whose keys
 * passed 2^18 took every store's columns to 2^19 slots, and the two tasks held 1.07 of their budget. By a quarter, a
 * wave's principals held 1.03 or 1.23 slots each, by where their count landed between two growths (bench:cardinality,
 * ~400 bytes of columns a slot): by an eighth, at most 1.125, for twice as many growths, each a copy of the columns.
 */
export const GROWTH = 1.125;

/** A key's place in the recency lists (recency-lists.ts), grown with the index's slots. */
export const RECENCY_BYTES = Math.ceil(RecencyLists.SLOT_BYTES * GROWTH);

/**
 * A store's part of each slot: its state column (8 bytes, grown by about half again, as a plain array grows) and three
 * typed columns (13 bytes: held, last seen, charged; grown with the index's slots). A store of state columns has no
 * state column, and one reading its family's clock no last-seen column (KeyedState.slotBytes). bench:state-size's
 * "bare entry" rows measure it with KEY_OVERHEAD and RECENCY_BYTES.
 */
export const SLOT_BYTES = Math.ceil(8 * 1.5 + 13 * GROWTH);
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

/** A store sharing an index, as the index sees it: one that holds keys by slot, and drops them when told. */
export interface SharingStore {
  /** Whether the store holds the slot's key. */
  holds(slot: number): boolean;
  /** Drops the slot's key (held), evicted by a cap or the budget, and counts it; the budget bytes that freed. */
  evict(slot: number, why: 'cap' | 'budget'): number;
  /** Drops the slot's key (held) if it has expired by event time `now`, and counts it; whether it did. */
  expire(slot: number, now: number): boolean;
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
  private readonly recency = new RecencyLists(16);
  /** The last sequence number of the event before this one (a settled index): uses after it are this event's. */
  private eventStart = 0;
  /** The event time of the event's uses (none yet: -Infinity): a settled index expires keys at settle(). */
  private now = Number.NEGATIVE_INFINITY;
  /** A restore began: slots are not linked until every sharing store has finished it (finishRestore). */
  private restoring = false;
  private readonly finished = new Set<SharingStore>();
  /**
   * The key looked up last and its slot (-1: not held): a principal's stores look its key up one after another (each
   * of them once or twice an event, and at a restore), and the same string compares equal at once, where the table
   * hashes and probes. A key not held is remembered too: a new key is looked up, then acquired, which looks again.
   */
  private lastKey: string | undefined;
  private lastSlot = -1;

  /**
   * @param shared settled after each event (the stores of an extractor): new keys are charged, an event's uses counted
   * as one and keys expired at settle(); else each use is an event of its own, and a new key is charged at once (a
   * store's own index)
   */
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

  /** Room for `keys` slots at once (a restore's keys), instead of growing by an eighth as they come. */
  reserve(keys: number): void {
    this.keys.reserve(keys);
    this.holders = grown(this.holders, keys);
    this.recency.grow(this.holders.length);
  }

  slotOf(key: string): number | undefined {
    if (key === this.lastKey) return this.lastSlot < 0 ? undefined : this.lastSlot;
    const slot = this.keys.slotOf(key);
    this.lastKey = key;
    this.lastSlot = slot;
    return slot < 0 ? undefined : slot;
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
   * The end of an event (an extractor's index): expires keys at the cold end of the lists, charges the keys added
   * since the last settle and, over the budget, evicts the least recently used keys (never the event's new one) until
   * twice their bytes are made up for or the budget holds.
   */
  settle(): void {
    this.eventStart = this.recency.seq;
    // An event that used no key expires nothing: the last one that did has expired at its own time.
    if (this.now !== Number.NEGATIVE_INFINITY) this.expire(this.now);
    this.now = Number.NEGATIVE_INFINITY;
    const added = this.bytes - this.charged;
    this.sync();
    const budget = this.budget;
    if (!budget || added <= 0 || !budget.over) return;
    let freed = 0;
    while (budget.over && freed < 2 * added) {
      const bytes = this.evictFirst(this.newest, 'budget');
      if (bytes === 0) return;
      freed += bytes;
    }
  }

  /**
   * A store used the slot's key (it holds it) at event time `now`: a new key joins `once`, a key used in an earlier
   * event moves to the tail of `again`. An index that is not settled counts every use as an event, and expires a few
   * keys after it; a settled one does both once an event, at settle().
   */
  use(slot: number, now: number): void {
    if (!this.recency.linked(slot)) this.recency.add(slot);
    else if (!this.shared || this.recency.seqAt(slot) <= this.eventStart) this.recency.promote(slot);
    if (this.shared) this.now = now;
  }

  /** After a store's use of a key (its event time updated): an index that is not settled expires a few keys now. */
  used(now: number): void {
    if (!this.shared) this.expire(now);
  }

  /**
   * Evicts the first key to go (the head of `once`, else of `again`), never the slot `keep`, from every store that
   * holds it; the budget bytes that freed (0: nothing to evict).
   */
  evictFirst(keep: number, why: 'cap' | 'budget'): number {
    const slot = this.recency.first(keep);
    let freed = 0;
    if (slot !== NONE) for (const store of this.members) if (store.holds(slot)) freed += store.evict(slot, why);
    return freed;
  }

  /** Whether there is a key to evict other than the slot `keep`. */
  hasFirst(keep: number): boolean {
    return this.recency.first(keep) !== NONE;
  }

  /**
   * Drops expired entries at the cold end of each list: up to two keys a list, each from every store whose TTL it
   * has passed, stopping at a key some store still holds unexpired (amortised O(1) a use).
   */
  private expire(now: number): void {
    this.expireFrom(false, now);
    this.expireFrom(true, now);
  }

  private expireFrom(again: boolean, now: number): void {
    for (let i = 0; i < 2; i++) {
      const first = this.recency.head(again);
      if (first === NONE) return;
      let kept = false;
      for (const store of this.members) if (store.holds(first) && !store.expire(first, now)) kept = true;
      if (kept) return;
    }
  }

  /** The slot's sequence number and whether it is in `again`: its place, as a checkpoint record keeps it. */
  seqAt(slot: number): number {
    return this.recency.seqAt(slot);
  }

  returning(slot: number): boolean {
    return this.recency.returning(slot);
  }

  /** The slots held by any store, least recently used first. */
  inRecencyOrder(): IterableIterator<number> {
    return this.recency.inOrder();
  }

  /**
   * A store's restore begins (each store's first record, or its finishRestore without any): the lists are cleared
   * once for every sharing store, and the slots linked again once every one of them has finished, in the order the
   * records give (restored()).
   */
  beginRestore(): void {
    if (this.restoring) return;
    this.restoring = true;
    this.finished.clear();
    this.recency.clear();
  }

  /** A restored record's place for the slot (its sequence number, and whether it was in `again`). */
  restored(slot: number, seq: number, returning: boolean): void {
    this.recency.restored(slot, seq, returning);
  }

  /** A store has finished its restore; after the last, every held slot is linked in the order restored() gave. */
  finishRestore(store: SharingStore): void {
    if (!this.restoring) return;
    this.finished.add(store);
    if (this.finished.size < this.members.length) return;
    this.restoring = false;
    this.finished.clear();
    let n = 0;
    for (let slot = 0; slot < this.holders.length; slot++) if ((this.holders[slot] as number) > 0) n++;
    const slots = new Int32Array(n);
    let k = 0;
    for (let slot = 0; slot < this.holders.length; slot++) if ((this.holders[slot] as number) > 0) slots[k++] = slot;
    this.recency.link(slots);
    this.eventStart = this.recency.seq;
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
    if (slot === this.holders.length) {
      this.holders = grown(this.holders, Math.ceil(GROWTH * this.holders.length));
      this.recency.grow(this.holders.length);
    }
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
    if (this.restoring) this.recency.forget(slot);
    else this.recency.remove(slot);
    const key = this.keys.keyAt(slot) as string;
    this.keys.remove(slot);
    if (slot === this.lastSlot) this.lastKey = undefined;
    this.bytes -= this.cost(key);
    // Uncharged bytes (keys added since the last settle) go first; what the budget holds beyond `bytes` leaves it now.
    const before = this.charged;
    if (this.bytes < this.charged) this.sync();
    return before - this.charged;
  }

  /** What a key costs the index (its entry and its place in the lists) and the sharing stores' columns. */
  private cost(key: string): number {
    return KEY_OVERHEAD + RECENCY_BYTES + keyBytes(key) + this.memberBytes;
  }
}
