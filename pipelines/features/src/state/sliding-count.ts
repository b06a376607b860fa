// Event-time sliding-window counts in fixed buckets: each window of length W keeps B buckets of W/B, so a count is
// exact to within one bucket (the oldest bucket may be partly outside the window). Several windows and several
// counted series ("channels": requests, denials, …) share one typed array — bucket clocks first, then counts —
// because per-key state is multiplied by millions of keys and every typed array costs ~150 bytes of overhead.
// Bucket clocks are epoch numbers (event time / bucket width): 32 bits last until 2106 for 1 s buckets.

export interface SlidingCountsSnapshot {
  windows: number[];
  channels: number;
  buckets: number;
  data: Uint32Array;
}

export class SlidingCounts {
  /** [0, windows): each window's head epoch + 1 (0 = empty); then channels × windows × buckets counts. */
  private readonly data: Uint32Array;
  private readonly stride: number;

  /**
   * @param windowsMs window lengths, e.g. [10_000, 60_000, 600_000, 3_600_000]
   * @param channels independent series counted over the same windows
   * @param buckets per window
   */
  constructor(
    private readonly windowsMs: readonly number[],
    private readonly channels = 1,
    private readonly buckets = 10,
    data?: Uint32Array,
  ) {
    this.stride = windowsMs.length * buckets;
    const length = windowsMs.length + channels * this.stride;
    if (data !== undefined && data.length !== length)
      throw new Error('sliding counts snapshot does not match its shape');
    this.data = data ?? new Uint32Array(length);
  }

  /** Moves every window's head to event time t, clearing buckets that fell out. Times never move backwards. */
  private advance(t: number) {
    for (let w = 0; w < this.windowsMs.length; w++) {
      const width = (this.windowsMs[w] as number) / this.buckets;
      const epoch = Math.floor(t / width);
      const head = (this.data[w] as number) - 1;
      if (epoch <= head) continue;
      for (let c = 0; c < this.channels; c++) {
        const base = this.windowsMs.length + c * this.stride + w * this.buckets;
        if (head < 0 || epoch - head >= this.buckets) {
          this.data.fill(0, base, base + this.buckets);
        } else {
          for (let e = head + 1; e <= epoch; e++) this.data[base + (e % this.buckets)] = 0;
        }
      }
      this.data[w] = epoch + 1;
    }
  }

  add(t: number, channel = 0, n = 1): void {
    this.advance(t);
    for (let w = 0; w < this.windowsMs.length; w++) {
      const width = (this.windowsMs[w] as number) / this.buckets;
      const i =
        this.windowsMs.length + channel * this.stride + w * this.buckets + (Math.floor(t / width) % this.buckets);
      this.data[i] = (this.data[i] as number) + n;
    }
  }

  /** Count of a channel in window index w as of event time t. */
  count(w: number, t: number, channel = 0): number {
    this.advance(t);
    let sum = 0;
    const base = this.windowsMs.length + channel * this.stride + w * this.buckets;
    for (let i = 0; i < this.buckets; i++) sum += this.data[base + i] as number;
    return sum;
  }

  /** Everything needed to rebuild these counts (checkpoints); the array is copied. */
  snapshot(): SlidingCountsSnapshot {
    return { windows: [...this.windowsMs], channels: this.channels, buckets: this.buckets, data: this.data.slice() };
  }

  /**
   * The same as snapshot() without the copies, for a caller that reads it at once and keeps nothing (the checkpoint
   * codec: a wave of new keys writes one changelog record per key, and the copies were 5 % of bench:cardinality).
   */
  view(): Readonly<{ windows: readonly number[]; channels: number; buckets: number; data: Readonly<Uint32Array> }> {
    return { windows: this.windowsMs, channels: this.channels, buckets: this.buckets, data: this.data };
  }

  static fromSnapshot(s: SlidingCountsSnapshot): SlidingCounts {
    return SlidingCounts.adopt({ ...s, data: s.data.slice() });
  }

  /**
   * Counts that take the snapshot's array as their own, no copy: for a caller that made it and keeps nothing of it
   * (the checkpoint codec; a second array per key was a tenth of a restore's time).
   */
  static adopt(s: SlidingCountsSnapshot): SlidingCounts {
    return new SlidingCounts(internWindows(s.windows), s.channels, s.buckets, s.data);
  }

  /** Bytes of typed-array storage plus the array's own overhead (for state-size accounting). */
  get bytes(): number {
    return this.data.byteLength + 150;
  }
}

/**
 * One shared array per window shape: live counts share their family's constant, and a restore of a million keys must
 * not give each its own copy (~80 bytes each).
 */
const WINDOW_SHAPES = new Map<string, readonly number[]>();
function internWindows(windows: number[]): readonly number[] {
  const key = windows.join(',');
  let shared = WINDOW_SHAPES.get(key);
  if (!shared) {
    shared = Object.freeze([...windows]);
    WINDOW_SHAPES.set(key, shared);
  }
  return shared;
}
