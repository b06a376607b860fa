// Bounded keyed state. Entries expire by event time (a key not seen for `ttlMs` of event time is gone) and the
// number of keys is capped: past the cap the least recently seen key is evicted. Both rules read only event time,
// so the same input gives the same state live or replayed.

export interface KeyedStateOptions {
  ttlMs: number;
  maxKeys: number;
}

interface Entry<S> {
  state: S;
  lastSeen: number;
}

export class KeyedState<S> {
  // Map keeps insertion order; touching a key re-inserts it, so the first key is always the least recently seen.
  private readonly entries = new Map<string, Entry<S>>();
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
      entry = { state: init(), lastSeen: now };
      if (this.entries.size >= this.options.maxKeys) this.evictOldest();
    }
    entry.lastSeen = Math.max(entry.lastSeen, now);
    this.entries.set(key, entry);
    this.expire(now);
    return entry.state;
  }

  /** The key's state without creating or touching it. */
  peek(key: string, now: number): S | undefined {
    const entry = this.entries.get(key);
    return entry && now - entry.lastSeen <= this.options.ttlMs ? entry.state : undefined;
  }

  /** Drops up to a few expired keys from the cold end; amortised O(1) per event. */
  private expire(now: number) {
    for (let i = 0; i < 2; i++) {
      const first = this.entries.entries().next().value as [string, Entry<S>] | undefined;
      if (!first || now - first[1].lastSeen <= this.options.ttlMs) return;
      this.entries.delete(first[0]);
      this.evictedByTtl++;
    }
  }

  private evictOldest() {
    const first = this.entries.keys().next().value as string | undefined;
    if (first !== undefined) {
      this.entries.delete(first);
      this.evictedByCap++;
    }
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  *values(): IterableIterator<S> {
    for (const e of this.entries.values()) yield e.state;
  }
}
