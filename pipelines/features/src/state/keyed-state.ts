// Bounded keyed state. Entries expire by event time (a key not seen for `ttlMs` of event time is gone) and the
// number of keys is capped. Both rules read only event time, so the same input gives the same state live or
// replayed. Checkpointable: changes can be drained to a changelog and the state rebuilt from it exactly, recency
// order included (each entry carries the sequence number of its last use).
//
// Every entry's size is estimated (`sizeOf`, plus the entry's own overhead) and charged to an optional StateBudget
// that the process's stores share: once the budget is full, a store makes room for a new key, or for an entry that
// grew, by evicting its own keys (counted as evictedByBudget). A wave of new addresses then churns the stores it
// fills instead of growing the heap until the process slows down in GC or dies.
//
// Which keys go first (past the cap or the budget): keys seen once before keys with history. Entries live in two
// recency lists, as in a segmented LRU (2Q): a new key joins `once`; its second use moves it to `again`. Eviction
// takes the least recently seen key of `once`, and of `again` only when `once` is empty. A distributed attack's wave
// is almost all one-request keys, so it churns among itself, and a customer quiet for a week — whose habits and
// payment history are exactly what the features compare a takeover with — is not pushed out by a minute of it.
//
// Layout (issue 17, lever 5): an entry is a slot, and the bookkeeping lives in typed-array columns indexed by slot
// (event time, recency sequence, the two lists' links, the list it is in, its charged bytes) beside two plain
// columns for the key and the state. An object per entry per store cost ~200 bytes with its Map slot; a principal
// has an entry in seven stores, and a wave of a million new addresses is millions of entries. Freed slots are
// reused; the columns grow by doubling.
//
// Checkpoint records: a fixed header (event time, sequence, list, charged bytes) and then the state. A restore reads
// the header only and keeps the record; the state is decoded when the key is next used. Restoring a partition is then
// an index rebuild, and a key the partition never sees again is never decoded. Charging the recorded bytes (not a new
// estimate) leaves the budget's share of this store exactly where the writer had it, so a restored store evicts
// as the writer would have, given the same other charges to the budget (the changelogs' bookkeeping is one of them,
// and a restore rebuilds it smaller than the writer held it: changelog-segments.ts).

import { stringBytes } from '@vigil/core';
import { type Checkpointable, decodeState, encodeState } from './checkpoint.js';
import type { StateBudget } from './state-budget.js';

export interface KeyedStateOptions<S> {
  ttlMs: number;
  maxKeys: number;
  /** Estimated bytes of one state value on the heap (typed arrays included), for the budget and stateBytes. */
  sizeOf?: (state: S) => number;
}

/**
 * What an entry costs beside its state and its key: its slot in the columns — two plain arrays (16 bytes a slot,
 * grown by V8 by about half again) and six typed ones (29 bytes, doubled by grow()) — and in the index Map (~28 bytes
 * a slot, doubled), so it depends on how full they are. bench:state-size measures it with its "bare entry, flat key"
 * row, a store of 91,000 keys, where the doubled ones have 1.44 slots per key, their average: 183 bytes, less the
 * key's string (40) and the state's object (40). Just under a power of two an entry costs ~20 bytes less, just over
 * it ~60 more. (The restored records' two columns come and go with a restore: not counted.)
 */
const ENTRY_OVERHEAD = 103;

/**
 * A key's string beyond its characters: vigil's keys are mostly joined strings (`sub:` + the subject, an address +
 * `|` + a route), which V8 keeps as a 32-byte pair over the parts ("bare entry, joined key": 230 bytes). A flat key
 * is counted the same, on the safe side.
 */
const keyBytes = (key: string) => stringBytes(key.length) + 32;

/** A checkpoint record written before the fixed header (generic codec; `r` absent before the two lists). */
interface Stored<S> {
  l: number;
  q: number;
  s: S;
  r?: boolean;
}

/**
 * First byte of a record with the fixed header; never a first byte of the generic codec (its tags are below 16).
 * Header: u8 0xC5, f64 last seen, f64 sequence, u8 returning, f64 charged bytes (little-endian); then the state.
 */
const RECORD = 0xc5;
const HEADER_BYTES = 26;
/** One header, filled for each record encoded (the codec copies it). */
const header = Buffer.alloc(HEADER_BYTES);

/** No slot: the end of a list. */
const NONE = -1;
/** The lists' ends in `ends`: head (least recently seen) and tail of `once`, then of `again`. */
const ONCE = 0;
const AGAIN = 2;
const INITIAL_SLOTS = 16;

export class KeyedState<S> implements Checkpointable {
  /** Key → slot. */
  private readonly index = new Map<string, number>();
  private keyOf: (string | undefined)[] = [];
  private stateOf: (S | undefined)[] = [];
  /**
   * A restored entry's record, until its state is decoded on first use (then undefined): the buffer holding it — its
   * key's whole group, shared by the key's entries in every store — and, in `recordSpan`, where in it the record
   * starts and ends (two numbers a slot). A view per record was an object of ~100 bytes per store and key, made and
   * collected at every restore. Both columns exist only while a restored record waits (`pending`): a store that was
   * never restored, or whose restored keys have all been used since, pays nothing for them.
   */
  private recordOf: (Buffer | undefined)[] | undefined;
  private recordSpan: Int32Array | undefined;
  private pending = 0;
  /** Event time the key was last seen. */
  private lastSeen = new Float64Array(INITIAL_SLOTS);
  /** Sequence number of the key's last get(): its place in recency order. */
  private seqOf = new Float64Array(INITIAL_SLOTS);
  // Doubly linked lists in recency order through the slots: moving a touched key to the tail is a few writes.
  private prev = new Int32Array(INITIAL_SLOTS);
  private next = new Int32Array(INITIAL_SLOTS);
  /** 1: seen more than once since it was created (lives in `again`, else in `once`). */
  private returning = new Uint8Array(INITIAL_SLOTS);
  /** The entry's estimated bytes as last charged to the budget (whole bytes: estimate() rounds up). */
  private charged = new Uint32Array(INITIAL_SLOTS);
  private readonly ends = new Int32Array([NONE, NONE, NONE, NONE]);
  /** Slots below this have been used; freed ones wait in `free`. */
  private used = 0;
  private free: number[] = [];
  private seq = 0;
  /** Keys changed since the last drain, when tracking. */
  private changed: Set<string> | undefined;
  /** A restore has begun: restoreEntry writes straight into the (cleared) store; finishRestore links it. */
  private restoring = false;
  evictedByTtl = 0;
  evictedByCap = 0;
  evictedByBudget = 0;
  /** Estimated bytes of every entry held. */
  bytes = 0;
  private budget: StateBudget | undefined;
  private readonly sizeOf: (state: S) => number;

  constructor(private readonly options: KeyedStateOptions<S>) {
    this.sizeOf = options.sizeOf ?? (() => 64);
  }

  get size(): number {
    return this.index.size;
  }

  /** Charges this store's entries to `budget` (shared by the stores of one process) from now on. */
  useBudget(budget: StateBudget): void {
    this.budget?.release(this.bytes);
    this.budget = budget;
    budget.charge(this.bytes);
  }

  /** Gives this store's bytes back to its budget: the store is being dropped (a partition moved away). */
  release(): void {
    this.budget?.release(this.bytes);
    this.budget = undefined;
  }

  /** The key's state at event time `now`, created by `init` when absent or expired. */
  get(key: string, now: number, init: () => S): S {
    let slot = this.index.get(key) ?? NONE;
    if (slot !== NONE && now - (this.lastSeen[slot] as number) > this.options.ttlMs) {
      this.remove(slot);
      this.evictedByTtl++;
      slot = NONE;
    }
    if (slot !== NONE) {
      this.decode(slot);
      if (slot !== this.ends[AGAIN + 1]) {
        this.unlink(slot);
        this.returning[slot] = 1;
        this.append(slot);
      }
      // Re-estimated as the state stands before this event's update: a grown entry is charged one event late.
      this.resize(slot, this.estimate(slot));
    } else {
      if (this.index.size >= this.options.maxKeys) this.evictFirst(NONE, 'cap');
      slot = this.allocate(key, init(), now, 0, 0);
      this.append(slot);
      this.resize(slot, this.estimate(slot));
    }
    this.lastSeen[slot] = Math.max(this.lastSeen[slot] as number, now);
    this.seqOf[slot] = ++this.seq;
    this.changed?.add(key);
    this.expire(now);
    return this.stateOf[slot] as S;
  }

  /** Charges an entry's new size; over the budget, evicts this store's keys to make the room. */
  private resize(slot: number, bytes: number) {
    const grown = bytes - (this.charged[slot] as number);
    this.charged[slot] = bytes;
    this.bytes += grown;
    if (!this.budget) return;
    this.budget.charge(grown);
    // At most twice what this entry added is made up for: enough to bring an over-full budget back down, never so much
    // that one store empties itself for the others' growth.
    let freed = 0;
    while (this.budget.over && freed < 2 * grown) {
      const evicted = this.evictFirst(slot, 'budget');
      if (evicted === 0) return;
      freed += evicted;
    }
  }

  /** Evicts the first key to go (see the head of the file), never `keep`; returns its bytes (0: nothing to evict). */
  private evictFirst(keep: number, why: 'cap' | 'budget'): number {
    const onceHead = this.ends[ONCE] as number;
    const candidate = onceHead !== keep && onceHead !== NONE ? onceHead : (this.ends[AGAIN] as number);
    if (candidate === NONE || candidate === keep) return 0;
    const bytes = this.charged[candidate] as number;
    this.changed?.add(this.keyOf[candidate] as string);
    this.remove(candidate);
    if (why === 'cap') this.evictedByCap++;
    else {
      this.evictedByBudget++;
      if (this.budget) this.budget.evicted++;
    }
    return bytes;
  }

  /** The key's state without creating it or changing its recency (the caller may still update it in place). */
  peek(key: string, now: number): S | undefined {
    const slot = this.index.get(key);
    if (slot === undefined || now - (this.lastSeen[slot] as number) > this.options.ttlMs) return undefined;
    this.changed?.add(key);
    this.decode(slot);
    return this.stateOf[slot];
  }

  /** Drops up to a few expired keys from the cold end of each list; amortised O(1) per event. */
  private expire(now: number) {
    this.expireFrom(ONCE, now);
    this.expireFrom(AGAIN, now);
  }

  private expireFrom(list: number, now: number) {
    for (let i = 0; i < 2; i++) {
      const first = this.ends[list] as number;
      if (first === NONE || now - (this.lastSeen[first] as number) <= this.options.ttlMs) return;
      this.changed?.add(this.keyOf[first] as string);
      this.remove(first);
      this.evictedByTtl++;
    }
  }

  /** Decodes a restored entry's state from its record, once. */
  private decode(slot: number) {
    const record = this.recordOf?.[slot];
    if (record === undefined) return;
    const span = this.recordSpan as Int32Array;
    this.stateOf[slot] = decodeState<S>(record, (span[2 * slot] as number) + HEADER_BYTES, span[2 * slot + 1]);
    this.dropRecord(slot);
  }

  /** The entry's estimated bytes as its state stands now. */
  private estimate(slot: number): number {
    return Math.ceil(ENTRY_OVERHEAD + keyBytes(this.keyOf[slot] as string) + this.sizeOf(this.stateOf[slot] as S));
  }

  /** A slot for a new entry (a freed one, else the next, growing the columns), not yet in a list. */
  private allocate(key: string, state: S | undefined, lastSeen: number, seq: number, returning: number): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.used === this.lastSeen.length) this.grow();
      slot = this.used++;
    }
    this.index.set(key, slot);
    this.keyOf[slot] = key;
    this.stateOf[slot] = state;
    this.lastSeen[slot] = lastSeen;
    this.seqOf[slot] = seq;
    this.returning[slot] = returning;
    this.charged[slot] = 0;
    this.prev[slot] = NONE;
    this.next[slot] = NONE;
    return slot;
  }

  private grow() {
    const n = this.lastSeen.length * 2;
    const grown = <T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(a: T, make: (n: number) => T) => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.lastSeen = grown(this.lastSeen, (k) => new Float64Array(k));
    this.seqOf = grown(this.seqOf, (k) => new Float64Array(k));
    this.prev = grown(this.prev, (k) => new Int32Array(k));
    this.next = grown(this.next, (k) => new Int32Array(k));
    this.returning = grown(this.returning, (k) => new Uint8Array(k));
    this.charged = grown(this.charged, (k) => new Uint32Array(k));
    if (this.recordSpan) this.recordSpan = grown(this.recordSpan, (k) => new Int32Array(2 * k));
  }

  /** The slot's restored record is decoded or gone; the spans go with the last one. */
  private dropRecord(slot: number) {
    const records = this.recordOf;
    if (records?.[slot] === undefined) return;
    records[slot] = undefined;
    if (--this.pending > 0) return;
    this.recordOf = undefined;
    this.recordSpan = undefined;
  }

  /** Takes the entry out of the index and its list and frees its slot (its state can be collected). */
  private remove(slot: number) {
    this.index.delete(this.keyOf[slot] as string);
    this.unlink(slot);
    this.bytes -= this.charged[slot] as number;
    this.budget?.release(this.charged[slot] as number);
    this.freeSlot(slot);
  }

  private freeSlot(slot: number) {
    this.keyOf[slot] = undefined;
    this.stateOf[slot] = undefined;
    this.dropRecord(slot);
    this.free.push(slot);
  }

  /** Appends the slot at the tail (most recently seen) of the list its `returning` flag names. */
  private append(slot: number) {
    const list = this.returning[slot] ? AGAIN : ONCE;
    const tail = this.ends[list + 1] as number;
    this.prev[slot] = tail;
    this.next[slot] = NONE;
    if (tail !== NONE) this.next[tail] = slot;
    else this.ends[list] = slot;
    this.ends[list + 1] = slot;
  }

  private unlink(slot: number) {
    const list = this.returning[slot] ? AGAIN : ONCE;
    const before = this.prev[slot] as number;
    const after = this.next[slot] as number;
    if (before !== NONE) this.next[before] = after;
    else this.ends[list] = after;
    if (after !== NONE) this.prev[after] = before;
    else this.ends[list + 1] = before;
    this.prev[slot] = NONE;
    this.next[slot] = NONE;
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
    const slot = this.index.get(key);
    if (slot === undefined) return null;
    // Not used since the restore: its header and state are what the record says.
    const record = this.recordOf?.[slot];
    if (record !== undefined) {
      const span = this.recordSpan as Int32Array;
      const at = span[2 * slot] as number;
      const end = span[2 * slot + 1] as number;
      return at === 0 && end === record.length ? record : record.subarray(at, end);
    }
    header.writeUInt8(RECORD, 0);
    header.writeDoubleLE(this.lastSeen[slot] as number, 1);
    header.writeDoubleLE(this.seqOf[slot] as number, 9);
    header.writeUInt8(this.returning[slot] as number, 17);
    header.writeDoubleLE(this.charged[slot] as number, 18);
    return encodeState(this.stateOf[slot], header);
  }

  /**
   * Applies one changelog record, bytes [at, end) of `value` (all of it by default); the first of a restore clears
   * the store (a restore replaces what it held).
   */
  restoreEntry(key: string, value: Buffer | null, owned = false, at = 0, end = value?.length ?? 0): void {
    if (!this.restoring) this.clear();
    this.restoring = true;
    const slot = this.index.get(key);
    if (value === null) {
      if (slot !== undefined) {
        this.index.delete(key);
        this.freeSlot(slot);
      }
      return;
    }
    let state: S | undefined;
    let lastSeen: number;
    let seq: number;
    let returning: number;
    const hasHeader = value[at] === RECORD && end - at >= HEADER_BYTES;
    if (hasHeader) {
      lastSeen = value.readDoubleLE(at + 1);
      seq = value.readDoubleLE(at + 9);
      returning = value[at + 17] as number;
    } else {
      const stored = decodeState<Stored<S>>(value, at, end);
      ({ s: state, l: lastSeen, q: seq } = stored);
      returning = stored.r === false ? 0 : 1;
    }
    // Rewritten in place when restored before: the key keeps its place in the index's order (sequence ties sort by it).
    const to = slot ?? this.allocate(key, state, lastSeen, seq, returning);
    this.stateOf[to] = state;
    this.lastSeen[to] = lastSeen;
    this.seqOf[to] = seq;
    this.returning[to] = returning;
    // Whole bytes (records of an earlier vigil may hold a fraction); a value no entry can have (a damaged record) is
    // estimated again at finishRestore, as a record without the header is.
    const recorded = hasHeader ? Math.ceil(value.readDoubleLE(at + 18)) : 0;
    this.charged[to] = recorded > 0 && recorded < 2 ** 32 ? recorded : 0;
    if (!hasHeader) {
      this.dropRecord(to);
      return;
    }
    // Kept in place if owned; else copied: the record may lie in a whole changelog segment, which must not stay in
    // memory for one key.
    const kept = owned ? value : Buffer.from(value.subarray(at, end));
    this.recordOf ??= [];
    if (this.recordOf[to] === undefined) this.pending++;
    this.recordOf[to] = kept;
    this.recordSpan ??= new Int32Array(2 * this.lastSeen.length);
    this.recordSpan[2 * to] = owned ? at : 0;
    this.recordSpan[2 * to + 1] = owned ? end : kept.length;
  }

  /**
   * Links the restored entries in their recency order, replacing whatever the store held. Nothing is evicted here
   * even over the budget (a smaller one than the state was written under): new keys then evict twice their size
   * until the budget holds again.
   */
  finishRestore(): void {
    if (!this.restoring) this.clear();
    this.restoring = false;
    // The index's order is the order the records came in; sorting by sequence (stable) gives recency order.
    const slots = [...this.index.values()].sort((a, b) => (this.seqOf[a] as number) - (this.seqOf[b] as number));
    // Summed apart and charged with `bytes` at once: an estimate that throws part-way (a damaged older record) then
    // leaves nothing counted that the budget was not charged (release gives `bytes` back).
    let restored = 0;
    for (const slot of slots) {
      this.append(slot);
      // A record with the header says what it was charged; an older one (or a damaged charge) is estimated from its
      // state.
      if (this.recordOf?.[slot] === undefined || this.charged[slot] === 0) {
        this.decode(slot);
        this.charged[slot] = this.estimate(slot);
      }
      restored += this.charged[slot] as number;
    }
    this.bytes += restored;
    this.budget?.charge(restored);
    this.seq = slots.length > 0 ? (this.seqOf[slots[slots.length - 1] as number] as number) : 0;
  }

  /** Empties the store and its columns, giving its bytes back to the budget. */
  private clear() {
    this.budget?.release(this.bytes);
    this.bytes = 0;
    this.index.clear();
    this.keyOf = [];
    this.stateOf = [];
    this.recordOf = undefined;
    this.recordSpan = undefined;
    this.pending = 0;
    this.free = [];
    this.used = 0;
    this.ends.fill(NONE);
  }

  /** Keys from the least to the most recently seen. */
  *keys(): IterableIterator<string> {
    for (const slot of this.inRecencyOrder()) yield this.keyOf[slot] as string;
  }

  *values(): IterableIterator<S> {
    for (const slot of this.inRecencyOrder()) {
      this.decode(slot);
      yield this.stateOf[slot] as S;
    }
  }

  /** Both lists merged by sequence number. */
  private *inRecencyOrder(): IterableIterator<number> {
    let a = this.ends[ONCE] as number;
    let b = this.ends[AGAIN] as number;
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
}
