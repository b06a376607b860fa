// Checkpoints of keyed state. A store that can be checkpointed reports what changed since the last drain — each
// changed key with its encoded entry, or null for a key that is gone (a tombstone) — and rebuilds itself from
// such records. Written to a compacted changelog topic, the latest record per key is the state; replayed in log
// order into an empty store, it gives back exactly the store that wrote it (values, expiry clocks, LRU order).
import { decodeState, encodeState } from './state-codec.js';

export { decodeState, encodeState };

export interface Checkpointable {
  /** Starts recording changes; off by default so the offline path pays nothing. */
  trackChanges(): void;
  /** Changes since the previous drain, oldest first; null = the key is gone. */
  drainChanges(): [string, Buffer | null][];
  /**
   * Applies one changelog record (restore): bytes [at, end) of `value`, all of it by default. `owned`: `value` is a
   * copy of the record's own (its key's group, say: not a changelog segment that must not stay in memory for it), so
   * a store may keep a reference to it as it is.
   */
  restoreEntry(key: string, value: Buffer | null, owned?: boolean, at?: number, end?: number): void;
  /** Called once every record has been applied. */
  finishRestore(): void;
  /** The key's current entry, encoded as drainChanges encodes it; null when the store does not hold the key. */
  encoded(key: string): Buffer | null;
}

/** One value that is not keyed (a tenant-wide counter, a population prior), checkpointed whenever it was read. */
export class Cell<T extends object> implements Checkpointable {
  private tracking = false;
  private touched = false;

  constructor(private current: T) {}

  /** The value, to read or update in place. */
  get value(): T {
    this.touched = this.tracking;
    return this.current;
  }

  trackChanges(): void {
    this.tracking = true;
  }

  drainChanges(): [string, Buffer | null][] {
    if (!this.touched) return [];
    this.touched = false;
    return [['', encodeState(this.current)]];
  }

  restoreEntry(_key: string, value: Buffer | null, _owned?: boolean, at = 0, end = value?.length): void {
    if (value) this.current = decodeState<T>(value, at, end);
  }

  encoded(key: string): Buffer | null {
    return key === '' ? encodeState(this.current) : null;
  }

  finishRestore(): void {}
}
