// Sliding-window counts of many keys in columns by slot (issue 17, lever 5). A key seen once or twice — almost every
// key a wave brings — keeps its first adds inline in the columns (a time and a channel each); past `inline` adds, or
// at an add the short list cannot hold (a weight, an earlier time), the key's counts become a SlidingCounts object
// of their own, which goes on exactly as it would have (sparse up to its own eight adds, then buckets). A
// SlidingCounts object per key took ~130 bytes before its first add.
//
// Every count is the one a SlidingCounts would give (the inline form is SlidingCounts' own sparse form, cut shorter),
// and a checkpoint holds the same object form (`read`), so a record reads the same to a store of objects.

import { grown } from '@vigil/core';
import { fillTo, REFERENCE_COLUMN_BYTES } from './columns.js';
import { SlidingCounts, SPARSE_MAX } from './sliding-count.js';

export class SlidingColumns {
  /** The newest time any add or count has seen, while inline (SlidingCounts' `latest`). */
  private latest = new Float64Array(0);
  /** Adds held inline (0 to `inline`). */
  private held = new Uint8Array(0);
  private times = new Float64Array(0);
  private channelOf = new Uint8Array(0);
  /** A key's counts once past the inline adds. */
  private objects: (SlidingCounts | undefined)[] = [];

  constructor(
    private readonly windows: readonly number[],
    private readonly channels = 1,
    private readonly buckets = 10,
    private readonly inline = 2,
  ) {
    if (channels > 255) throw new Error('sliding columns count at most 255 channels');
    // Inline adds are a SlidingCounts' sparse adds, cut shorter: never more than it holds.
    if (inline < 1 || inline > SPARSE_MAX) throw new Error(`sliding columns hold 1 to ${SPARSE_MAX} adds inline`);
  }

  /** Bytes a slot takes in the columns. */
  get slotBytes(): number {
    return 8 + 1 + 9 * this.inline + REFERENCE_COLUMN_BYTES;
  }

  /** Bytes a slot's counts hold beside the columns (an object once past the inline adds). */
  extraBytes(slot: number): number {
    return this.objects[slot]?.bytes ?? 0;
  }

  grow(slots: number): void {
    this.latest = grown(this.latest, slots);
    this.held = grown(this.held, slots);
    this.times = grown(this.times, slots * this.inline);
    this.channelOf = grown(this.channelOf, slots * this.inline);
    fillTo(this.objects, slots);
  }

  add(slot: number, t: number, channel = 0, n = 1): void {
    const object = this.objects[slot];
    if (object) {
      object.add(t, channel, n);
      return;
    }
    const held = this.held[slot] as number;
    if (n === 1 && t >= (this.latest[slot] as number) && held < this.inline) {
      this.times[slot * this.inline + held] = t;
      this.channelOf[slot * this.inline + held] = channel;
      this.held[slot] = held + 1;
      this.latest[slot] = t;
      return;
    }
    const counts = this.read(slot);
    counts.add(t, channel, n);
    this.objects[slot] = counts;
  }

  /** Count of a channel in window index w as of event time t (SlidingCounts.count). */
  count(slot: number, w: number, t: number, channel = 0): number {
    const object = this.objects[slot];
    if (object) return object.count(w, t, channel);
    if (t > (this.latest[slot] as number)) this.latest[slot] = t;
    const width = (this.windows[w] as number) / this.buckets;
    const oldest = Math.floor((this.latest[slot] as number) / width) - this.buckets;
    let sum = 0;
    const at = slot * this.inline;
    const held = this.held[slot] as number;
    for (let i = 0; i < held; i++)
      if (this.channelOf[at + i] === channel && Math.floor((this.times[at + i] as number) / width) > oldest) sum++;
    return sum;
  }

  /** The slot's counts in object form: its own object, or a sparse one over the inline adds. */
  read(slot: number): SlidingCounts {
    const object = this.objects[slot];
    if (object) return object;
    const adds: number[] = [];
    const at = slot * this.inline;
    for (let i = 0; i < (this.held[slot] as number); i++)
      adds.push(this.times[at + i] as number, this.channelOf[at + i] as number);
    return SlidingCounts.sparse(
      this.windows as number[],
      this.channels,
      this.buckets,
      this.latest[slot] as number,
      adds,
    );
  }

  /** Sets the slot's counts from their object form: inline while they are a few unit adds, else the object itself. */
  write(slot: number, counts: SlidingCounts): void {
    const sparse = counts.sparseView();
    // Counts of another shape (a checkpoint written with other windows) stay the object they are.
    const shape =
      sparse !== undefined &&
      sparse.channels === this.channels &&
      sparse.buckets === this.buckets &&
      sparse.windows.length === this.windows.length &&
      sparse.windows.every((w, i) => w === this.windows[i]);
    if (!shape || sparse.adds.length > 2 * this.inline) {
      this.objects[slot] = counts;
      return;
    }
    this.objects[slot] = undefined;
    this.latest[slot] = sparse.latest;
    this.held[slot] = sparse.adds.length / 2;
    for (let i = 0; i < sparse.adds.length; i += 2) {
      this.times[slot * this.inline + i / 2] = sparse.adds[i] as number;
      this.channelOf[slot * this.inline + i / 2] = sparse.adds[i + 1] as number;
    }
  }

  /** The slot is free: its object, if any, goes, and its inline adds (the slot reads as empty counts again). */
  free(slot: number): void {
    this.objects[slot] = undefined;
    this.held[slot] = 0;
    this.latest[slot] = Number.NEGATIVE_INFINITY;
  }
}
