// Bounded keyed state. Entries expire by event time (a key not seen for `ttlMs` of event time is gone) and the
// number of keys is capped. Both rules read only event time, so the same input gives the same state live or
// replayed. Checkpointable: changes can be drained to a changelog and the state rebuilt from it exactly, recency
// order included (each entry's record carries its key's place: the sequence number of the key's last use, in any
// store sharing the index, and its list).
//
// Every entry's size is estimated (`sizeOf`, plus the entry's own overhead) and charged to an optional StateBudget
// that the process's stores share: once the budget is full, a store makes room for a new key, or for an entry that
// grew, by evicting its index's least recently used keys — its own, or a principal's entries in every store sharing
// the index (counted as evictedByBudget by each). A wave of new addresses then churns the stores it fills instead of
// growing the heap until the process slows down in GC or dies.
//
// Which keys go first (past the cap or the budget): keys seen once before keys with history. Keys live in two
// recency lists, as in a segmented LRU (2Q): a new key joins `once`; its use in a later event moves it to `again`.
// Eviction takes the least recently seen key of `once`, and of `again` only when `once` is empty. A distributed
// attack's wave is almost all one-request keys, so it churns among itself, and a customer quiet for a week — whose
// habits and payment history are exactly what the features compare a takeover with — is not pushed out by a minute of
// it.
//
// Layout (issue 17, lever 5): an entry is a slot, and the bookkeeping lives in typed-array columns indexed by slot
// (held, event time — or the family's own clock column, StateColumns.clock — and charged bytes) beside a plain column
// for the state. Slots come from a KeyIndex: the store's own,
// or one shared with the other stores one key identifies (a principal's six stores in the principal stage:
// key-index.ts), so that the key's string, its index entry and its place in the recency lists exist once for all of
// them; the index charges the budget for them, each store for its states. The recency lists are the index's
// (recency-lists.ts), so stores sharing an index keep a key, and evict it, together. An object per entry per store
// cost ~200 bytes with its Map slot; a principal has an entry in six stores and its token one more, and a wave of a million new addresses
// is millions of entries. The columns grow by an eighth with the index. A fixed-shape state can be columns as well
// (`columns`, columns.ts): the family then works on its slot's numbers (slot()) instead of an object (get()).
//
// Checkpoint records: a header (event time, sequence, list, charged bytes: record-header.ts), then the state. A restore
// reads the header only and keeps the record; the state is decoded when the key is next used. Restoring a partition is
// then an index rebuild, and a key the partition never sees again is never decoded. Charging the recorded bytes (not a new
// estimate) leaves the budget's share of this store exactly where the writer had it, so a restored store evicts
// as the writer would have, given the same other charges to the budget (the changelogs' bookkeeping is one of them,
// and a restore rebuilds it smaller than the writer held it: changelog-segments.ts).

import { grown } from '@vigil/core';
import { type Checkpointable, decodeState } from './checkpoint.js';
import { fillTo, type StateColumns, typedColumnBytes } from './columns.js';
import { KeyIndex, type SharingStore, SLOT_BYTES, STATE_COLUMN_BYTES } from './key-index.js';
import { NONE } from './recency-lists.js';
import { decodeRecordState, encodeRecord, readHeader, withPlace } from './record-header.js';
import type { StateBudget } from './state-budget.js';

export interface KeyedStateOptions<S> {
  ttlMs: number;
  maxKeys: number;
  /** Estimated bytes of one state value on the heap (typed arrays included), for the budget and stateBytes. */
  sizeOf?: (state: S) => number;
  /**
   * What the store's keys are: a store keyed by the event's principal says so, and an extractor then gives its
   * principal stores one KeyIndex (shareKeys).
   */
  keyedBy?: 'principal';
  /**
   * Keep the states in these typed-array columns by slot, not as an object per key (`sizeOf` is then not read: the
   * columns estimate each slot's bytes). The store then hands out slots (`slot()`), not states (`get()`).
   */
  columns?: StateColumns<S>;
}

/** A checkpoint record written before the fixed header (generic codec; `r` absent before the two lists). */
interface Stored<S> {
  l: number;
  q: number;
  s: S;
  r?: boolean;
}

/** A restored record's charge, while unknown (a record without the header, or a damaged one): estimated at finishRestore. */
const UNKNOWN_CHARGE = 0xffffffff;

const INITIAL_SLOTS = 16;

/** Sets a[i], first filling the plain array up to i (a write past its end would make it holey, or a dictionary). */
function setAt<T>(a: (T | undefined)[], i: number, v: T | undefined) {
  fillTo(a, i + 1);
  a[i] = v;
}

export class KeyedState<S> implements Checkpointable, SharingStore {
  /** Key → slot: the store's own, or shared with the other stores of a key (shareKeys). */
  private index = new KeyIndex();
  private ownsKeys = true;
  private stateOf: (S | undefined)[] = [];
  /**
   * A restored entry's record, until its state is decoded on first use: which of `recordBuffers` holds it (+1; 0:
   * none) — its key's whole group, in a slab shared by many keys' entries in every store — and, in `recordSpan`, where
   * in it the record starts and ends (two numbers a slot). A view per record was an object of ~100 bytes per store
   * and key, made and collected at every restore; a reference per slot, a column the garbage collector walks at every
   * collection. The columns exist only while a restored record waits (`pending`): a store that was never restored, or
   * whose restored keys have all been used since, pays nothing for them.
   */
  private recordIn: Int32Array | undefined;
  private recordSpan: Int32Array | undefined;
  /** The buffers restored records lie in, each let go once none of its records waits (`recordRefs`). */
  private recordBuffers: (Buffer | undefined)[] = [];
  private recordRefs: number[] = [];
  private pending = 0;
  /** 1: this store holds the slot's key (a shared index's slot may be held by other stores only). */
  private held = new Uint8Array(INITIAL_SLOTS);
  /**
   * Event time the key was last seen: the store's own column, or its columns' clock (StateColumns.clock), which the
   * family moves forward itself at each use.
   */
  private lastSeen: Float64Array;
  /** Whether `lastSeen` is the columns' clock. */
  private readonly clocked: boolean;
  /** The key's state's estimated bytes as last charged to the budget (whole bytes: estimate() rounds up). */
  private charged = new Uint32Array(INITIAL_SLOTS);
  /** Keys held. */
  private count = 0;
  /** Keys changed since the last drain, when tracking. */
  private changed: Set<string> | undefined;
  /** A restore has begun: restoreEntry writes straight into the (cleared) store; finishRestore links it. */
  private restoring = false;
  evictedByTtl = 0;
  evictedByCap = 0;
  evictedByBudget = 0;
  /** Estimated bytes of the states held (the keys' part is the index's). */
  private stateBytes = 0;
  private budget: StateBudget | undefined;
  private readonly sizeOf: (state: S) => number;
  private readonly columns: StateColumns<S> | undefined;

  constructor(private readonly options: KeyedStateOptions<S>) {
    this.sizeOf = options.sizeOf ?? (() => 64);
    this.columns = options.columns;
    this.columns?.grow(INITIAL_SLOTS);
    this.clocked = this.columns?.clock !== undefined;
    this.lastSeen = this.clocked ? (this.columns?.clock as Float64Array) : new Float64Array(INITIAL_SLOTS);
    this.index.join(this);
  }

  /** What the store's columns take for each of its index's slots (SharingStore). */
  get slotBytes(): number {
    if (!this.columns) return SLOT_BYTES;
    // Whole bytes: the budget counts bytes. A store reading its columns' clock has no last-seen column of its own.
    const own = this.clocked ? typedColumnBytes(8) : 0;
    return SLOT_BYTES - STATE_COLUMN_BYTES + Math.ceil(typedColumnBytes(this.columns.slotBytes) - own);
  }

  get keyedBy(): 'principal' | undefined {
    return this.options.keyedBy;
  }

  get size(): number {
    return this.count;
  }

  /** Estimated bytes of every entry held: the states, and the keys when the index is the store's own. */
  get bytes(): number {
    return this.stateBytes + (this.ownsKeys ? this.index.bytes : 0);
  }

  /**
   * Keeps this store's slots in `shared` from now on, with the other stores of the same keys; before the store holds
   * any key. The shared index's bytes are its own (KeyIndex.bytes), not this store's.
   */
  shareKeys(shared: KeyIndex): void {
    if (this.count > 0 || this.restoring) throw new Error('a store can share a key index only while it is empty');
    this.index.releaseBudget(this);
    this.index.leave(this);
    shared.join(this);
    if (this.budget) shared.useBudget(this.budget, this);
    this.index = shared;
    this.ownsKeys = false;
  }

  /** Room for `keys` keys at once (a restore's), when the store keeps its own index (a shared one is reserved by its owner). */
  reserve(keys: number): void {
    if (this.ownsKeys) this.index.reserve(keys);
  }

  /** Charges this store's entries to `budget` (shared by the stores of one process) from now on. */
  useBudget(budget: StateBudget): void {
    this.budget?.release(this.stateBytes);
    this.budget = budget;
    budget.charge(this.stateBytes);
    this.index.useBudget(budget, this);
  }

  /** Gives this store's bytes back to its budget: the store is being dropped (a partition moved away). */
  release(): void {
    this.budget?.release(this.stateBytes);
    this.budget = undefined;
    this.index.releaseBudget(this);
  }

  /** The slot of a key this store holds, or NONE. */
  private slotOf(key: string): number {
    const slot = this.index.slotOf(key);
    return slot !== undefined && this.held[slot] === 1 ? slot : NONE;
  }

  /** The key's state at event time `now`, created by `init` when absent or expired. */
  get(key: string, now: number, init: () => S): S {
    if (this.columns) throw new Error('a store with state columns hands out slots (slot()), not states');
    return this.stateOf[this.touch(key, now, init)] as S;
  }

  /**
   * The key's slot in the state columns at event time `now`, its state created by `init` when absent or expired; valid
   * until the store's next call (a slot is reused once its key is gone). Read the columns' arrays after the call: it
   * may grow them (`columns.n[store.slot(…)] = x` writes to the array from before).
   */
  slot(key: string, now: number, init: () => S): number {
    if (!this.columns) throw new Error('slot() is for a store with state columns');
    return this.touch(key, now, init);
  }

  /** get() and slot(): the key's slot, used at `now`. */
  private touch(key: string, now: number, init: () => S): number {
    let slot = this.slotOf(key);
    if (slot !== NONE && now - (this.lastSeen[slot] as number) > this.options.ttlMs) {
      this.remove(slot);
      this.evictedByTtl++;
      slot = NONE;
    }
    if (slot !== NONE) {
      this.decode(slot);
      this.index.use(slot, now);
      // Re-estimated as the state stands before this event's update: a grown entry is charged one event late.
      this.resize(slot, this.estimate(slot), 0);
    } else {
      if (this.count >= this.options.maxKeys) this.evictForCap(key);
      const before = this.index.bytes;
      slot = this.allocate(key, init(), now);
      this.index.use(slot, now);
      // A key in the store's own index is made room for with its state; a shared index's, when it settles.
      this.resize(slot, this.estimate(slot), this.index.shared ? 0 : this.index.bytes - before);
    }
    // A clock of the columns is the family's to move forward (at its update, right after this).
    if (!this.clocked) this.lastSeen[slot] = Math.max(this.lastSeen[slot] as number, now);
    this.changed?.add(this.index.keyAt(slot));
    this.index.used(now);
    return slot;
  }

  /**
   * Charges the slot's state as it stands now, after the event's update, not at the key's next use: for a state in
   * columns that took something of its own in the update (SlidingColumns' counts past their inline adds), which a
   * key seen no more would otherwise hold uncharged until it goes.
   */
  recharge(slot: number): void {
    this.resize(slot, this.estimate(slot), 0);
  }

  /**
   * Charges an entry's new size; over the budget, evicts the index's first keys to go (from every store holding them)
   * to make the room for it and for `keyPart` (what the store's own index charged for a new key).
   */
  private resize(slot: number, bytes: number, keyPart: number) {
    const grown = bytes - (this.charged[slot] as number);
    this.charged[slot] = bytes;
    this.stateBytes += grown;
    if (!this.budget) return;
    this.budget.charge(grown);
    // At most twice what this entry added is made up for: enough to bring an over-full budget back down, never so much
    // that one store empties itself for the others' growth.
    let freed = 0;
    while (this.budget.over && freed < 2 * (grown + keyPart)) {
      const evicted = this.index.evictFirst(slot, 'budget');
      if (evicted === 0) return;
      freed += evicted;
    }
  }

  /**
   * Makes room for one more key under the cap: the index's first keys to go (never `key`'s, which other stores sharing
   * the index may hold) until one of this store's own has gone — one eviction, for a store with its own index.
   */
  private evictForCap(key: string) {
    const keep = this.index.slotOf(key) ?? NONE;
    const held = this.count;
    while (this.count === held && this.index.hasFirst(keep)) this.index.evictFirst(keep, 'cap');
  }

  holds(slot: number): boolean {
    return this.held[slot] === 1;
  }

  /** Drops a key the index evicts (its first to go); the budget bytes that freed (SharingStore). */
  evict(slot: number, why: 'cap' | 'budget'): number {
    const bytes = this.drop(slot);
    if (why === 'cap') this.evictedByCap++;
    else {
      this.evictedByBudget++;
      if (this.budget) this.budget.evicted++;
    }
    return bytes;
  }

  /** Drops a key the index found at the cold end of its lists, if its TTL here has passed by `now` (SharingStore). */
  expire(slot: number, now: number): boolean {
    if (now - (this.lastSeen[slot] as number) <= this.options.ttlMs) return false;
    this.drop(slot);
    this.evictedByTtl++;
    return true;
  }

  /** A key the index let go: its deletion goes to the changelog, its slot back; the budget bytes that freed. */
  private drop(slot: number): number {
    this.changed?.add(this.index.keyAt(slot));
    return this.remove(slot);
  }

  /** The key's state without creating it or changing its recency (the caller may still update it in place). */
  peek(key: string, now: number): S | undefined {
    if (this.columns) throw new Error('peek() is for a store of state objects');
    const slot = this.slotOf(key);
    if (slot === NONE || now - (this.lastSeen[slot] as number) > this.options.ttlMs) return undefined;
    this.changed?.add(this.index.keyAt(slot));
    this.decode(slot);
    return this.stateOf[slot];
  }

  /** Decodes a restored entry's state from its record, once. */
  private decode(slot: number) {
    const record = this.recordAt(slot);
    if (record === undefined) return;
    const span = this.recordSpan as Int32Array;
    const state = decodeRecordState<S>(record, span[2 * slot] as number, span[2 * slot + 1] as number);
    this.putDecoded(slot, state, this.lastSeen[slot] as number);
    this.dropRecord(slot);
  }

  /**
   * Writes a state decoded from a record into the slot, last seen at `seen` (its header's time, which the store has
   * gone by). A clock of the columns, which the write sets from the state, is kept no earlier than that (a record
   * whose two disagree is damaged or hand-made).
   */
  private putDecoded(slot: number, state: S, seen: number) {
    this.put(slot, state);
    if (!this.clocked || (this.lastSeen[slot] as number) < seen) this.lastSeen[slot] = seen;
  }

  /** The key's state's estimated bytes as it stands now. */
  private estimate(slot: number): number {
    // A state in columns: what it holds beside them (the columns are the key index's to charge, for every slot).
    if (this.columns) return Math.ceil(this.columns.extraBytes?.(slot) ?? 0);
    return Math.ceil(this.sizeOf(this.stateOf[slot] as S));
  }

  /** Sets the slot's state (undefined: a restored record not decoded yet, which leaves the columns as they are). */
  private put(slot: number, state: S | undefined) {
    if (!this.columns) setAt(this.stateOf, slot, state);
    else if (state !== undefined) this.columns.write(slot, state);
  }

  /** The slot's state, in object form for a store with columns. */
  private stateAt(slot: number): S {
    return this.columns ? this.columns.read(slot) : (this.stateOf[slot] as S);
  }

  /** The key's slot, taken from the index, for a new entry (the caller tells the index of its use, or restore). */
  private allocate(key: string, state: S | undefined, lastSeen: number): number {
    const slot = this.index.acquire(key);
    if (slot >= this.held.length) this.grow(this.index.capacity);
    this.put(slot, state);
    this.held[slot] = 1;
    this.count++;
    this.lastSeen[slot] = lastSeen;
    this.charged[slot] = 0;
    return slot;
  }

  /** Grows the columns to `n` slots (the index's capacity, grown by an eighth at a time: key-index.ts). */
  private grow(n: number) {
    this.held = grown(this.held, n);
    if (!this.clocked) this.lastSeen = grown(this.lastSeen, n);
    this.charged = grown(this.charged, n);
    if (this.recordSpan) this.recordSpan = grown(this.recordSpan, 2 * n);
    // The plain columns filled here, a run at a time, not by each write past their end (a restore's keys).
    if (!this.columns) fillTo(this.stateOf, n);
    if (this.recordIn) this.recordIn = grown(this.recordIn, n);
    this.columns?.grow(n);
    if (this.clocked) this.lastSeen = this.columns?.clock as Float64Array;
  }

  /** The buffer the slot's restored record lies in, while it waits. */
  private recordAt(slot: number): Buffer | undefined {
    const i = this.recordIn?.[slot];
    if (!i) return undefined;
    const buffer = this.recordBuffers[i - 1];
    // Loud, not quiet: a record waiting in a buffer let go would read as a state decoded already.
    if (buffer === undefined) throw new Error(`feature-state store lost the buffer of a waiting record (slot ${slot})`);
    return buffer;
  }

  /** The slot's restored record is decoded or gone; its buffer goes with its last record, the columns with the last. */
  private dropRecord(slot: number) {
    const i = this.recordIn?.[slot];
    if (!i) return;
    (this.recordIn as Int32Array)[slot] = 0;
    this.unref(i - 1);
    if (--this.pending > 0) return;
    this.dropRecords();
  }

  private unref(buffer: number) {
    if (--(this.recordRefs[buffer] as number) === 0) this.recordBuffers[buffer] = undefined;
  }

  private dropRecords() {
    this.recordIn = undefined;
    this.recordSpan = undefined;
    this.recordBuffers = [];
    this.recordRefs = [];
    this.pending = 0;
  }

  /** Gives the entry's slot back (its state can be collected); returns the budget bytes that freed. */
  private remove(slot: number): number {
    const bytes = this.charged[slot] as number;
    this.stateBytes -= bytes;
    this.budget?.release(bytes);
    return bytes + this.freeSlot(slot);
  }

  /** Gives the slot back to the index; returns the budget bytes that freed there (the key's, when no store holds it). */
  private freeSlot(slot: number): number {
    if (this.columns) this.columns.free?.(slot);
    else this.stateOf[slot] = undefined;
    this.dropRecord(slot);
    this.held[slot] = 0;
    this.count--;
    return this.index.release(slot);
  }

  trackChanges(): void {
    this.changed ??= new Set();
  }

  drainChanges(): [string, Buffer | null][] {
    if (!this.changed || this.changed.size === 0) return [];
    const out: [string, Buffer | null][] = [];
    for (const key of this.changed) out.push([key, this.encoded(key)]);
    this.changed.clear();
    return out;
  }

  encoded(key: string): Buffer | null {
    const slot = this.slotOf(key);
    if (slot === NONE) return null;
    // Not used since the restore: its state is what the record says. Its key's place may not be: another store
    // sharing the index may have used the key since, and the place is the index's (written again, on a copy).
    const record = this.recordAt(slot);
    if (record !== undefined) {
      const span = this.recordSpan as Int32Array;
      const at = span[2 * slot] as number;
      const end = span[2 * slot + 1] as number;
      const whole = at === 0 && end === record.length ? record : record.subarray(at, end);
      return withPlace(whole, this.index.seqAt(slot), this.index.returning(slot));
    }
    return encodeRecord(
      this.stateAt(slot),
      this.lastSeen[slot] as number,
      this.index.seqAt(slot),
      this.index.returning(slot),
      this.charged[slot] as number,
    );
  }

  /**
   * Applies one changelog record, bytes [at, end) of `value` (all of it by default); the first of a restore clears
   * the store (a restore replaces what it held).
   */
  restoreEntry(key: string, value: Buffer | null, owned = false, at = 0, end = value?.length ?? 0): void {
    this.beginRestore();
    const slot = this.slotOf(key);
    if (value === null) {
      if (slot !== NONE) this.freeSlot(slot);
      return;
    }
    let state: S | undefined;
    let lastSeen: number;
    let seq: number;
    let returning: boolean;
    let charged = -1;
    const header = readHeader(value, at, end, key);
    const hasHeader = header !== undefined;
    if (header) ({ lastSeen, seq, returning, charged } = header);
    else {
      const stored = decodeState<Stored<S>>(value, at, end);
      ({ s: state, l: lastSeen, q: seq } = stored);
      returning = stored.r !== false;
    }
    // Rewritten in place when restored before.
    const to = slot !== NONE ? slot : this.allocate(key, state, lastSeen);
    if (state !== undefined) this.putDecoded(to, state, lastSeen);
    else {
      this.put(to, undefined);
      this.lastSeen[to] = lastSeen;
    }
    this.index.restored(to, seq, returning);
    // 0 is a charge like any other (a state kept in columns charges nothing beside them), not a missing one; a record
    // that does not say (one without the header, a damaged one) is estimated again at finishRestore.
    this.charged[to] = charged >= 0 ? charged : UNKNOWN_CHARGE;
    if (!hasHeader) {
      this.dropRecord(to);
      return;
    }
    // Kept in place if owned; else copied: the record may lie in a whole changelog segment, which must not stay in
    // memory for one key.
    const kept = owned ? value : Buffer.from(value.subarray(at, end));
    this.recordIn ??= new Int32Array(this.held.length);
    const before = this.recordIn[to] as number;
    if (before) this.unref(before - 1);
    else this.pending++;
    // Records of one slab come one after the other: a buffer is listed once for its run.
    let buffer = this.recordBuffers.length - 1;
    if (buffer < 0 || this.recordBuffers[buffer] !== kept) {
      buffer = this.recordBuffers.push(kept) - 1;
      this.recordRefs.push(0);
    }
    (this.recordRefs[buffer] as number)++;
    this.recordIn[to] = buffer + 1;
    this.recordSpan ??= new Int32Array(2 * this.held.length);
    this.recordSpan[2 * to] = owned ? at : 0;
    this.recordSpan[2 * to + 1] = owned ? end : kept.length;
  }

  /** The first record of a restore (or its end, without any): the store is cleared, and the index told. */
  private beginRestore(): void {
    if (this.restoring) return;
    this.index.beginRestore();
    this.clear();
    this.restoring = true;
  }

  /**
   * Ends a restore: the index links the restored keys in their recency order (once every store sharing it has
   * finished), which replaces whatever the store held. Nothing is evicted here even over the budget (a smaller one
   * than the state was written under): new keys then evict twice their size until the budget holds again.
   */
  finishRestore(): void {
    this.beginRestore();
    this.restoring = false;
    this.index.finishRestore(this);
    // Summed apart and charged with `stateBytes` at once: an estimate that throws part-way (a damaged older record)
    // then leaves nothing counted that the budget was not charged (release gives `stateBytes` back).
    let restored = 0;
    for (let slot = 0; slot < this.held.length; slot++) {
      if (this.held[slot] !== 1) continue;
      // A record with the header says what it was charged; an older one (or a damaged charge) is estimated from its
      // state.
      if (this.recordAt(slot) === undefined || this.charged[slot] === UNKNOWN_CHARGE) {
        this.decode(slot);
        this.charged[slot] = this.estimate(slot);
      }
      restored += this.charged[slot] as number;
    }
    this.stateBytes += restored;
    this.budget?.charge(restored);
  }

  /** Empties the store, giving its slots back to the index and its bytes back to the budget. */
  private clear() {
    this.budget?.release(this.stateBytes);
    this.stateBytes = 0;
    for (let slot = 0; slot < this.held.length; slot++) {
      if (this.held[slot] === 1) {
        this.held[slot] = 0;
        this.columns?.free?.(slot);
        this.index.release(slot);
      }
    }
    this.count = 0;
    this.stateOf = [];
    if (!this.columns) fillTo(this.stateOf, this.held.length);
    this.dropRecords();
  }

  /** Keys from the least to the most recently seen. */
  *keys(): IterableIterator<string> {
    for (const slot of this.inRecencyOrder()) yield this.index.keyAt(slot);
  }

  *values(): IterableIterator<S> {
    for (const slot of this.inRecencyOrder()) {
      this.decode(slot);
      yield this.stateAt(slot);
    }
  }

  /** The slots this store holds, in the index's recency order. */
  private *inRecencyOrder(): IterableIterator<number> {
    for (const slot of this.index.inRecencyOrder()) if (this.held[slot] === 1) yield slot;
  }
}
