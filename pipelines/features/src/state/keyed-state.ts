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
import { type Checkpointable, decodeState, encodeState } from './checkpoint.js';
import type { StateBudget } from './state-budget.js';

export interface KeyedStateOptions<S> {
  ttlMs: number;
  maxKeys: number;
  /** Estimated bytes of one state value on the heap (typed arrays included), for the budget and stateBytes. */
  sizeOf?: (state: S) => number;
}

/**
 * What a Map slot, the Entry object and the key string cost beside the state itself (V8, 64-bit). bench:cardinality
 * prints the estimate beside the heap the state takes; 200 left it 18–30 % under.
 */
const ENTRY_OVERHEAD = 280;

interface Entry<S> {
  key: string;
  state: S;
  lastSeen: number;
  /** Sequence number of the last get(): the entry's place in recency order. */
  seq: number;
  /** Seen more than once since it was created (lives in `again`, else in `once`). */
  returning: boolean;
  // Intrusive doubly linked lists in recency order (head: least recently seen). Moving a touched key to the tail is
  // two pointer swaps; re-inserting it into the Map (delete + set) on every event cost a tenth of replay's time.
  prev: Entry<S> | undefined;
  next: Entry<S> | undefined;
  /** The entry's estimated bytes as last charged to the budget. */
  bytes: number;
}

interface Stored<S> {
  l: number;
  q: number;
  s: S;
  /** Returning (absent in checkpoints written before the two lists: restored as returning). */
  r?: boolean;
}

/** One recency list: head is the least recently seen. */
class Recency<S> {
  head: Entry<S> | undefined;
  tail: Entry<S> | undefined;

  append(entry: Entry<S>) {
    entry.prev = this.tail;
    entry.next = undefined;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
  }

  unlink(entry: Entry<S>) {
    if (entry.prev) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = undefined;
    entry.next = undefined;
  }

  clear() {
    this.head = undefined;
    this.tail = undefined;
  }
}

export class KeyedState<S> implements Checkpointable {
  private readonly entries = new Map<string, Entry<S>>();
  private readonly once = new Recency<S>();
  private readonly again = new Recency<S>();
  private seq = 0;
  /** Keys changed since the last drain, when tracking. */
  private changed: Set<string> | undefined;
  private restoring: Map<string, Entry<S>> | undefined;
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
    return this.entries.size;
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
    let entry = this.entries.get(key);
    if (entry && now - entry.lastSeen > this.options.ttlMs) {
      this.remove(entry);
      this.evictedByTtl++;
      entry = undefined;
    }
    if (entry) {
      if (entry !== this.again.tail) {
        this.listOf(entry).unlink(entry);
        entry.returning = true;
        this.again.append(entry);
      }
      // Re-estimated as the state stands before this event's update: a grown entry is charged one event late.
      this.resize(entry, this.estimate(entry));
    } else {
      if (this.entries.size >= this.options.maxKeys) this.evictFirst(undefined, 'cap');
      entry = {
        key,
        state: init(),
        lastSeen: now,
        seq: 0,
        returning: false,
        prev: undefined,
        next: undefined,
        bytes: 0,
      };
      this.entries.set(key, entry);
      this.once.append(entry);
      this.resize(entry, this.estimate(entry));
    }
    entry.lastSeen = Math.max(entry.lastSeen, now);
    entry.seq = ++this.seq;
    this.changed?.add(key);
    this.expire(now);
    return entry.state;
  }

  /** Charges an entry's new size; over the budget, evicts this store's keys to make the room. */
  private resize(entry: Entry<S>, bytes: number) {
    const grown = bytes - entry.bytes;
    entry.bytes = bytes;
    this.bytes += grown;
    if (!this.budget) return;
    this.budget.charge(grown);
    // At most twice what this entry added is made up for: enough to bring an over-full budget back down, never so much
    // that one store empties itself for the others' growth.
    let freed = 0;
    while (this.budget.over && freed < 2 * grown) {
      const evicted = this.evictFirst(entry, 'budget');
      if (evicted === 0) return;
      freed += evicted;
    }
  }

  /** Evicts the first key to go (see the head of the file), never `keep`; returns its bytes (0: nothing to evict). */
  private evictFirst(keep: Entry<S> | undefined, why: 'cap' | 'budget'): number {
    const candidate = this.once.head !== keep && this.once.head ? this.once.head : this.again.head;
    if (candidate === undefined || candidate === keep) return 0;
    this.remove(candidate);
    this.changed?.add(candidate.key);
    if (why === 'cap') this.evictedByCap++;
    else {
      this.evictedByBudget++;
      if (this.budget) this.budget.evicted++;
    }
    return candidate.bytes;
  }

  /** The key's state without creating it or changing its recency (the caller may still update it in place). */
  peek(key: string, now: number): S | undefined {
    const entry = this.entries.get(key);
    if (!entry || now - entry.lastSeen > this.options.ttlMs) return undefined;
    this.changed?.add(key);
    return entry.state;
  }

  /** Drops up to a few expired keys from the cold end of each list; amortised O(1) per event. */
  private expire(now: number) {
    // Two calls, not a loop over [once, again]: this runs on every get(), and that array was an allocation per event.
    this.expireFrom(this.once, now);
    this.expireFrom(this.again, now);
  }

  private expireFrom(list: Recency<S>, now: number) {
    for (let i = 0; i < 2; i++) {
      const first = list.head;
      if (!first || now - first.lastSeen <= this.options.ttlMs) return;
      this.remove(first);
      this.changed?.add(first.key);
      this.evictedByTtl++;
    }
  }

  /** The entry's estimated bytes as its state stands now. */
  private estimate(entry: Entry<S>): number {
    return ENTRY_OVERHEAD + entry.key.length + this.sizeOf(entry.state);
  }

  private listOf(entry: Entry<S>): Recency<S> {
    return entry.returning ? this.again : this.once;
  }

  private remove(entry: Entry<S>) {
    this.entries.delete(entry.key);
    this.listOf(entry).unlink(entry);
    this.bytes -= entry.bytes;
    this.budget?.release(entry.bytes);
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
    const e = this.entries.get(key);
    return e ? encodeState({ l: e.lastSeen, q: e.seq, s: e.state, r: e.returning } satisfies Stored<S>) : null;
  }

  restoreEntry(key: string, value: Buffer | null): void {
    this.restoring ??= new Map();
    if (value === null) {
      this.restoring.delete(key);
      return;
    }
    const stored = decodeState<Stored<S>>(value);
    this.restoring.set(key, {
      key,
      lastSeen: stored.l,
      seq: stored.q,
      state: stored.s,
      returning: stored.r ?? true,
      prev: undefined,
      next: undefined,
      bytes: 0,
    });
  }

  /**
   * Links the restored entries in their recency order, replacing whatever the store held. Nothing is evicted here
   * even over the budget (a smaller one than the state was written under): new keys then evict twice their size
   * until the budget holds again.
   */
  finishRestore(): void {
    const restored = [...(this.restoring ?? new Map<string, Entry<S>>()).values()].sort((a, b) => a.seq - b.seq);
    this.entries.clear();
    this.once.clear();
    this.again.clear();
    this.budget?.release(this.bytes);
    this.bytes = 0;
    for (const entry of restored) {
      this.entries.set(entry.key, entry);
      this.listOf(entry).append(entry);
      entry.bytes = this.estimate(entry);
      this.bytes += entry.bytes;
    }
    this.budget?.charge(this.bytes);
    this.seq = restored.length > 0 ? (restored[restored.length - 1] as Entry<S>).seq : 0;
    this.restoring = undefined;
  }

  /** Keys from the least to the most recently seen. */
  *keys(): IterableIterator<string> {
    for (const entry of this.inRecencyOrder()) yield entry.key;
  }

  *values(): IterableIterator<S> {
    for (const entry of this.inRecencyOrder()) yield entry.state;
  }

  /** Both lists merged by sequence number. */
  private *inRecencyOrder(): IterableIterator<Entry<S>> {
    let a = this.once.head;
    let b = this.again.head;
    while (a || b) {
      if (b === undefined || (a !== undefined && a.seq < b.seq)) {
        yield a as Entry<S>;
        a = (a as Entry<S>).next;
      } else {
        yield b;
        b = b.next;
      }
    }
  }
}
