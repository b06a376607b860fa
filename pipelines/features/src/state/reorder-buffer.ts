// Event-time reordering with bounded out-of-orderness. Items are held until the watermark — the newest event time
// seen minus `boundMs` — passes their time, then released in (time, id) order. Any arrival order of the same items
// that stays within the bound releases them in the same order, which is what makes features computed after the
// buffer identical whether the keyed stream was written by one ingest instance or several, live or replayed.
//
// Late items (older than the watermark when they arrive) are released at once, after what is already due; the
// per-key clock of the feature families then counts them at their key's newest time (see features/feature.ts).
// The watermark moves when items arrive: at the end of a finite input call flush(); a live stream's last items wait
// for the next arrival, unless its stage lets the wall clock stand in for event time while it idles (advance()).

import { MinHeap } from '@vigil/core';

interface Held<T> {
  ts: number;
  id: string;
  item: T;
  /** Arrival order, for items with the same time and id (a binary heap alone would release those in any order). */
  seq: number;
}

export class ReorderBuffer<T> {
  private readonly heap = new MinHeap<Held<T>>(
    (a, b) => a.ts < b.ts || (a.ts === b.ts && (a.id < b.id || (a.id === b.id && a.seq < b.seq))),
  );
  private seq = 0;
  private maxTs = Number.NEGATIVE_INFINITY;
  late = 0;

  constructor(readonly boundMs: number) {}

  get watermark(): number {
    return this.maxTs - this.boundMs;
  }

  get size(): number {
    return this.heap.size;
  }

  /** Adds an item; returns the items now due, in (ts, id) order. */
  push(ts: number, id: string, item: T): T[] {
    if (ts < this.watermark) {
      this.late++;
      return [...this.release(this.watermark), item];
    }
    this.heap.push({ ts, id, item, seq: this.seq++ });
    if (ts > this.maxTs) this.maxTs = ts;
    return this.release(this.watermark);
  }

  /** What a checkpoint needs besides the held items themselves. */
  get clock(): { maxTs: number; late: number } {
    return { maxTs: this.maxTs, late: this.late };
  }

  /** Rebuilds a buffer from a checkpoint: its clock and the items it held. */
  restore(clock: { maxTs: number; late: number }, items: Iterable<{ ts: number; id: string; item: T }>): void {
    this.heap.clear();
    this.maxTs = clock.maxTs;
    this.late = clock.late;
    // Numbered again in the order the checkpoint lists them, which is the order they arrived in.
    for (const h of items) this.heap.push({ ts: h.ts, id: h.id, item: h.item, seq: this.seq++ });
  }

  /** Moves the newest event time seen up to `maxTs` as if an item of that time had arrived; returns what is due. */
  advance(maxTs: number): T[] {
    if (maxTs > this.maxTs) this.maxTs = maxTs;
    return this.release(this.watermark);
  }

  /** Releases everything held, in order (end of input, shutdown). */
  flush(): T[] {
    return this.release(Number.POSITIVE_INFINITY);
  }

  private release(upTo: number): T[] {
    const out: T[] = [];
    while (this.heap.size > 0 && (this.heap.peek() as Held<T>).ts <= upTo) out.push((this.heap.pop() as Held<T>).item);
    return out;
  }
}
