// Bounded keyed state. Entries expire by event time (a key not seen for `ttlMs` of event time is gone) and the
// number of keys is capped: past the cap the least recently seen key is evicted. Both rules read only event time,
// so the same input gives the same state live or replayed. Checkpointable: changes can be drained to a changelog
// and the state rebuilt from it exactly, LRU order included (each entry carries the sequence number of its last use).
import { type Checkpointable, decodeState, encodeState } from './checkpoint.js';

export interface KeyedStateOptions {
  ttlMs: number;
  maxKeys: number;
}

interface Entry<S> {
  key: string;
  state: S;
  lastSeen: number;
  /** Sequence number of the last get(): the entry's place in LRU order. */
  seq: number;
  // An intrusive doubly linked list in LRU order (head: least recently seen). Moving a touched key to the tail is
  // two pointer swaps; re-inserting it into the Map (delete + set) on every event cost a tenth of replay's time.
  prev: Entry<S> | undefined;
  next: Entry<S> | undefined;
}

interface Stored<S> {
  l: number;
  q: number;
  s: S;
}

export class KeyedState<S> implements Checkpointable {
  private readonly entries = new Map<string, Entry<S>>();
  private head: Entry<S> | undefined;
  private tail: Entry<S> | undefined;
  private seq = 0;
  /** Keys changed since the last drain, when tracking. */
  private changed: Set<string> | undefined;
  private restoring: Map<string, Entry<S>> | undefined;
  evictedByTtl = 0;
  evictedByCap = 0;

  constructor(private readonly options: KeyedStateOptions) {}

  get size(): number {
    return this.entries.size;
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
      if (entry !== this.tail) {
        this.unlink(entry);
        this.append(entry);
      }
    } else {
      if (this.entries.size >= this.options.maxKeys) this.evictOldest();
      entry = { key, state: init(), lastSeen: now, seq: 0, prev: undefined, next: undefined };
      this.entries.set(key, entry);
      this.append(entry);
    }
    entry.lastSeen = Math.max(entry.lastSeen, now);
    entry.seq = ++this.seq;
    this.changed?.add(key);
    this.expire(now);
    return entry.state;
  }

  /** The key's state without creating it or changing its LRU place (the caller may still update it in place). */
  peek(key: string, now: number): S | undefined {
    const entry = this.entries.get(key);
    if (!entry || now - entry.lastSeen > this.options.ttlMs) return undefined;
    this.changed?.add(key);
    return entry.state;
  }

  /** Drops up to a few expired keys from the cold end; amortised O(1) per event. */
  private expire(now: number) {
    for (let i = 0; i < 2; i++) {
      const first = this.head;
      if (!first || now - first.lastSeen <= this.options.ttlMs) return;
      this.remove(first);
      this.changed?.add(first.key);
      this.evictedByTtl++;
    }
  }

  private evictOldest() {
    const first = this.head;
    if (first !== undefined) {
      this.remove(first);
      this.changed?.add(first.key);
      this.evictedByCap++;
    }
  }

  private remove(entry: Entry<S>) {
    this.entries.delete(entry.key);
    this.unlink(entry);
  }

  private unlink(entry: Entry<S>) {
    if (entry.prev) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = undefined;
    entry.next = undefined;
  }

  private append(entry: Entry<S>) {
    entry.prev = this.tail;
    entry.next = undefined;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
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
    return e ? encodeState({ l: e.lastSeen, q: e.seq, s: e.state } satisfies Stored<S>) : null;
  }

  restoreEntry(key: string, value: Buffer | null): void {
    this.restoring ??= new Map();
    if (value === null) {
      this.restoring.delete(key);
      return;
    }
    const stored = decodeState<Stored<S>>(value);
    this.restoring.set(key, { key, lastSeen: stored.l, seq: stored.q, state: stored.s, prev: undefined, next: undefined });
  }

  /** Links the restored entries in their LRU order, replacing whatever the store held. */
  finishRestore(): void {
    const restored = [...(this.restoring ?? new Map<string, Entry<S>>()).values()].sort((a, b) => a.seq - b.seq);
    this.entries.clear();
    this.head = undefined;
    this.tail = undefined;
    for (const entry of restored) {
      this.entries.set(entry.key, entry);
      this.append(entry);
    }
    this.seq = restored.length > 0 ? (restored[restored.length - 1] as Entry<S>).seq : 0;
    this.restoring = undefined;
  }

  /** Keys from the least to the most recently seen. */
  *keys(): IterableIterator<string> {
    for (let e = this.head; e; e = e.next) yield e.key;
  }

  *values(): IterableIterator<S> {
    for (let e = this.head; e; e = e.next) yield e.state;
  }
}
