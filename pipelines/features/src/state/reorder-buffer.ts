// Event-time reordering with bounded out-of-orderness. Items are held until the watermark — the newest event time
// seen minus `boundMs` — passes their time, then released in (time, id) order. Any arrival order of the same items
// that stays within the bound releases them in the same order, which is what makes features computed after the
// buffer identical whether the keyed stream was written by one ingest instance or several, live or replayed.
//
// Late items (older than the watermark when they arrive) are released at once, after what is already due; the
// per-key clock of the feature families then counts them at their key's newest time (see features/feature.ts).
// The watermark only moves when items arrive: at the end of a finite input call flush(); a live stream's last
// items wait for the next arrival (or a flush on shutdown).

interface Held<T> {
  ts: number;
  id: string;
  item: T;
}

export class ReorderBuffer<T> {
  private heap: Held<T>[] = [];
  private maxTs = Number.NEGATIVE_INFINITY;
  late = 0;

  constructor(readonly boundMs: number) {}

  get watermark(): number {
    return this.maxTs - this.boundMs;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Adds an item; returns the items now due, in (ts, id) order. */
  push(ts: number, id: string, item: T): T[] {
    if (ts < this.watermark) {
      this.late++;
      return [...this.release(this.watermark), item];
    }
    this.insert({ ts, id, item });
    if (ts > this.maxTs) this.maxTs = ts;
    return this.release(this.watermark);
  }

  /** What a checkpoint needs besides the held items themselves. */
  get clock(): { maxTs: number; late: number } {
    return { maxTs: this.maxTs, late: this.late };
  }

  /** Rebuilds a buffer from a checkpoint: its clock and the items it held. */
  restore(clock: { maxTs: number; late: number }, items: Iterable<{ ts: number; id: string; item: T }>): void {
    this.heap = [];
    this.maxTs = clock.maxTs;
    this.late = clock.late;
    for (const h of items) this.insert(h);
  }

  /** Releases everything held, in order (end of input, shutdown). */
  flush(): T[] {
    return this.release(Number.POSITIVE_INFINITY);
  }

  private release(upTo: number): T[] {
    const out: T[] = [];
    while (this.heap.length > 0 && (this.heap[0] as Held<T>).ts <= upTo) out.push(this.pop().item);
    return out;
  }

  private static before<T>(a: Held<T>, b: Held<T>): boolean {
    return a.ts < b.ts || (a.ts === b.ts && a.id < b.id);
  }

  private insert(h: Held<T>) {
    const heap = this.heap;
    heap.push(h);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!ReorderBuffer.before(heap[i] as Held<T>, heap[parent] as Held<T>)) break;
      [heap[i], heap[parent]] = [heap[parent] as Held<T>, heap[i] as Held<T>];
      i = parent;
    }
  }

  private pop(): Held<T> {
    const heap = this.heap;
    const top = heap[0] as Held<T>;
    const last = heap.pop() as Held<T>;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && ReorderBuffer.before(heap[l] as Held<T>, heap[m] as Held<T>)) m = l;
        if (r < heap.length && ReorderBuffer.before(heap[r] as Held<T>, heap[m] as Held<T>)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m] as Held<T>, heap[i] as Held<T>];
        i = m;
      }
    }
    return top;
  }
}
