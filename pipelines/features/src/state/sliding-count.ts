// Event-time sliding-window counts in fixed buckets: each window of length W keeps B buckets of W/B, so a count is
// exact to within one bucket (the oldest bucket may be partly outside the window). Several windows and several
// counted series ("channels": requests, denials, …) share one typed array — bucket clocks first, then counts —
// because per-key state is multiplied by millions of keys and every typed array costs ~200 bytes of overhead.
// Bucket clocks are epoch numbers (event time / bucket width): 32 bits last until 2106 for 1 s buckets.
//
// Sparse first: a key seen a few times (a wave's new address, a token used once) keeps its adds as a short list of
// (time, channel) and counts from it; past SPARSE_MAX adds, or at an add that is not a later unit one, the list is
// replayed into the buckets. Every count is the same either way (a property test holds the two equal), and a key
// seen once costs ~150 bytes instead of ~600.

import { arrayBytes, objectBytes, typedArrayBytes } from '@vigil/core';

export interface SlidingCountsSnapshot {
  windows: number[];
  channels: number;
  buckets: number;
  data: Uint32Array;
}

/** A SlidingCounts object itself: seven fields, `latest` a boxed number. */
const OWN_BYTES = objectBytes(7, 1);

/** Adds a sparse SlidingCounts keeps as a list before it takes its buckets. */
export const SPARSE_MAX = 8;

export class SlidingCounts {
  /** [0, windows): each window's head epoch + 1 (0 = empty); then channels × windows × buckets counts. */
  private data: Uint32Array | undefined;
  /** While sparse (no data yet): each add's time and channel, in order, as pairs; undefined before the first. */
  private adds: number[] | undefined;
  /** While sparse: the newest time any add or count has seen (where the buckets' heads would be). */
  private latest = Number.NEGATIVE_INFINITY;
  private readonly stride: number;
  /** The window lengths: one shared array per shape (internWindows). */
  private readonly windowsMs: readonly number[];

  /**
   * @param windowsMs window lengths, e.g. [10_000, 60_000, 600_000, 3_600_000]
   * @param channels independent series counted over the same windows
   * @param buckets per window
   */
  constructor(
    windowsMs: readonly number[],
    private readonly channels = 1,
    private readonly buckets = 10,
    data?: Uint32Array,
  ) {
    this.windowsMs = internWindows(windowsMs);
    this.stride = windowsMs.length * buckets;
    const length = windowsMs.length + channels * this.stride;
    if (data !== undefined && data.length !== length)
      throw new Error('sliding counts snapshot does not match its shape');
    this.data = data;
  }

  /** Sparse counts as the checkpoint codec wrote them (sparseView). */
  static sparse(windows: number[], channels: number, buckets: number, latest: number, adds: number[]): SlidingCounts {
    if (adds.length % 2 !== 0 || adds.length > 2 * SPARSE_MAX)
      throw new Error('sliding counts snapshot does not match its shape');
    const counts = new SlidingCounts(windows, channels, buckets);
    counts.latest = latest;
    counts.adds = adds.length > 0 ? adds : undefined;
    return counts;
  }

  /** Takes the buckets: replays the adds, then moves the heads to the newest time counted. */
  private densify(): Uint32Array {
    const data = new Uint32Array(this.windowsMs.length + this.channels * this.stride);
    this.data = data;
    const adds = this.adds ?? [];
    this.adds = undefined;
    for (let i = 0; i < adds.length; i += 2) this.add(adds[i] as number, adds[i + 1] as number);
    if (this.latest > Number.NEGATIVE_INFINITY) this.advance(this.latest);
    return data;
  }

  /** Moves every window's head to event time t, clearing buckets that fell out. Times never move backwards. */
  private advance(t: number) {
    const data = this.data as Uint32Array;
    for (let w = 0; w < this.windowsMs.length; w++) {
      const width = (this.windowsMs[w] as number) / this.buckets;
      const epoch = Math.floor(t / width);
      const head = (data[w] as number) - 1;
      if (epoch <= head) continue;
      for (let c = 0; c < this.channels; c++) {
        const base = this.windowsMs.length + c * this.stride + w * this.buckets;
        if (head < 0 || epoch - head >= this.buckets) {
          data.fill(0, base, base + this.buckets);
        } else {
          for (let e = head + 1; e <= epoch; e++) data[base + (e % this.buckets)] = 0;
        }
      }
      data[w] = epoch + 1;
    }
  }

  add(t: number, channel = 0, n = 1): void {
    let data = this.data;
    if (data === undefined) {
      // A later (or equal) time, one at a time, room left: the list holds it exactly. Anything else (a time before
      // the heads, whose bucket may stand for a later epoch; a weight) is the buckets' to say.
      const adds = this.adds;
      if (n === 1 && t >= this.latest && (adds === undefined || adds.length < 2 * SPARSE_MAX)) {
        // An array of exactly the adds' length (a push would reserve room for 17 numbers).
        this.adds = adds === undefined ? [t, channel] : adds.concat(t, channel);
        this.latest = t;
        return;
      }
      data = this.densify();
    }
    this.advance(t);
    for (let w = 0; w < this.windowsMs.length; w++) {
      const width = (this.windowsMs[w] as number) / this.buckets;
      const i =
        this.windowsMs.length + channel * this.stride + w * this.buckets + (Math.floor(t / width) % this.buckets);
      data[i] = (data[i] as number) + n;
    }
  }

  /** Count of a channel in window index w as of event time t. */
  count(w: number, t: number, channel = 0): number {
    const data = this.data;
    if (data === undefined) {
      // The buckets' heads never move back: a count is as of the newest time seen. An add is in window w while its
      // bucket is one of the window's last `buckets` up to the head.
      if (t > this.latest) this.latest = t;
      const adds = this.adds;
      if (adds === undefined) return 0;
      const width = (this.windowsMs[w] as number) / this.buckets;
      const oldest = Math.floor(this.latest / width) - this.buckets;
      let sum = 0;
      for (let i = 0; i < adds.length; i += 2)
        if (adds[i + 1] === channel && Math.floor((adds[i] as number) / width) > oldest) sum++;
      return sum;
    }
    this.advance(t);
    let sum = 0;
    const base = this.windowsMs.length + channel * this.stride + w * this.buckets;
    for (let i = 0; i < this.buckets; i++) sum += data[base + i] as number;
    return sum;
  }

  /** Everything needed to rebuild these counts (checkpoints), as buckets; the array is copied. */
  snapshot(): SlidingCountsSnapshot {
    const data = this.data?.slice() ?? this.copy().densify();
    return { windows: [...this.windowsMs], channels: this.channels, buckets: this.buckets, data };
  }

  private copy(): SlidingCounts {
    const twin = new SlidingCounts(this.windowsMs, this.channels, this.buckets);
    twin.adds = this.adds;
    twin.latest = this.latest;
    return twin;
  }

  /** The adds while sparse (for the checkpoint codec); undefined once the counts have their buckets. */
  sparseView():
    | Readonly<{
        windows: readonly number[];
        channels: number;
        buckets: number;
        latest: number;
        adds: readonly number[];
      }>
    | undefined {
    if (this.data !== undefined) return undefined;
    return {
      windows: this.windowsMs,
      channels: this.channels,
      buckets: this.buckets,
      latest: this.latest,
      adds: this.adds ?? [],
    };
  }

  /**
   * The same as snapshot() without the copies, for a caller that reads it at once and keeps nothing (the checkpoint
   * codec: a wave of new keys writes one changelog record per key, and the copies were 5 % of bench:cardinality).
   */
  view(): Readonly<{ windows: readonly number[]; channels: number; buckets: number; data: Readonly<Uint32Array> }> {
    const data = this.data ?? this.copy().densify();
    return { windows: this.windowsMs, channels: this.channels, buckets: this.buckets, data };
  }

  static fromSnapshot(s: SlidingCountsSnapshot): SlidingCounts {
    return SlidingCounts.adopt({ ...s, data: s.data.slice() });
  }

  /**
   * Counts that take the snapshot's array as their own, no copy: for a caller that made it and keeps nothing of it
   * (the checkpoint codec; a second array per key was a tenth of a restore's time).
   */
  static adopt(s: SlidingCountsSnapshot): SlidingCounts {
    return new SlidingCounts(s.windows, s.channels, s.buckets, s.data);
  }

  /** Bytes on the heap (state-size accounting): this object (seven fields, `latest` boxed) and its buckets or adds. */
  get bytes(): number {
    if (this.data !== undefined) return OWN_BYTES + typedArrayBytes(this.data.byteLength);
    return OWN_BYTES + (this.adds === undefined ? 0 : arrayBytes(this.adds.length));
  }
}

/**
 * One shared array per window shape: a family that writes `new SlidingCounts([HOUR])` for each new key, and a restore
 * of a million keys, must not give each its own copy (56 bytes each: bench:state-size found it). An array seen before
 * (a family's constant, the shared arrays) is recognised by identity, without building its shape's name; the families
 * pass constants for that.
 */
const WINDOW_SHAPES = new Map<string, readonly number[]>();
/** Arrays already looked up (a family's constant, the shared ones themselves) → their shared array. */
const SHARED_OF = new WeakMap<readonly number[], readonly number[]>();
function internWindows(windows: readonly number[]): readonly number[] {
  const known = SHARED_OF.get(windows);
  if (known) return known;
  const key = windows.join(',');
  let shared = WINDOW_SHAPES.get(key);
  if (!shared) {
    shared = Object.freeze([...windows]);
    WINDOW_SHAPES.set(key, shared);
    SHARED_OF.set(shared, shared);
  }
  SHARED_OF.set(windows, shared);
  return shared;
}
