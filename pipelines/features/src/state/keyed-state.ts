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
  state: S;
  lastSeen: number;
  /** Sequence number of the last get(): the entry's place in LRU order. */
  seq: number;
}

interface Stored<S> {
  l: number;
  q: number;
  s: S;
}

export class KeyedState<S> implements Checkpointable {
  // Map keeps insertion order; touching a key re-inserts it, so the first key is always the least recently seen.
  private readonly entries = new Map<string, Entry<S>>();
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
      this.entries.delete(key);
      this.evictedByTtl++;
      entry = undefined;
    }
    if (entry) {
      this.entries.delete(key);
    } else {
      entry = { state: init(), lastSeen: now, seq: 0 };
      if (this.entries.size >= this.options.maxKeys) this.evictOldest();
    }
    entry.lastSeen = Math.max(entry.lastSeen, now);
    entry.seq = ++this.seq;
    this.entries.set(key, entry);
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
      const first = this.entries.entries().next().value as [string, Entry<S>] | undefined;
      if (!first || now - first[1].lastSeen <= this.options.ttlMs) return;
      this.entries.delete(first[0]);
      this.changed?.add(first[0]);
      this.evictedByTtl++;
    }
  }

  private evictOldest() {
    const first = this.entries.keys().next().value as string | undefined;
    if (first !== undefined) {
      this.entries.delete(first);
      this.changed?.add(first);
      this.evictedByCap++;
    }
  }

  trackChanges(): void {
    this.changed ??= new Set();
  }

  drainChanges(): [string, Buffer | null][] {
    if (!this.changed || this.changed.size === 0) return [];
    const out: [string, Buffer | null][] = [];
    for (const key of this.changed) {
      const e = this.entries.get(key);
      out.push([key, e ? encodeState({ l: e.lastSeen, q: e.seq, s: e.state } satisfies Stored<S>) : null]);
    }
    this.changed.clear();
    return out;
  }

  restoreEntry(key: string, value: Buffer | null): void {
    this.restoring ??= new Map();
    if (value === null) {
      this.restoring.delete(key);
      return;
    }
    const stored = decodeState<Stored<S>>(value);
    this.restoring.set(key, { lastSeen: stored.l, seq: stored.q, state: stored.s });
  }

  /** Inserts the restored entries in their LRU order, replacing whatever the store held. */
  finishRestore(): void {
    const restored = [...(this.restoring ?? new Map<string, Entry<S>>()).entries()].sort((a, b) => a[1].seq - b[1].seq);
    this.entries.clear();
    for (const [key, entry] of restored) this.entries.set(key, entry);
    this.seq = restored.length > 0 ? (restored[restored.length - 1] as [string, Entry<S>])[1].seq : 0;
    this.restoring = undefined;
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  *values(): IterableIterator<S> {
    for (const e of this.entries.values()) yield e.state;
  }
}
