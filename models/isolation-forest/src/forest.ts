// The isolation forest of Liu, Ting & Zhou (ICDM 2008), as the paper gives it:
// - each of t trees is grown on a subsample of ψ points drawn without replacement (default ψ = 256, t = 100);
// - a node splits on a randomly chosen attribute at a split value drawn uniformly between that attribute's minimum and
//   maximum in the node, until the node holds one point or the height limit ceil(log2 ψ) is reached;
// - a point's path length is the number of edges to the leaf it falls in plus c(size of that leaf), the expected
//   depth still to go (eq. 1); its score is 2^(−E[h(x)] / c(ψ)) — near 1 for anomalies, below 0.5 for normal
//   points.
// The paper picks any attribute; an attribute constant in the node cannot split it, so vigil draws uniformly among
// the attributes that are not constant there (as scikit-learn does) and makes a node whose points are all identical
// a leaf. The random source is seeded (xoroshiro128+ from pure-rand), so the same data and seed give the same forest.
//
// Trees live in flat typed arrays (split feature, or −1 for a leaf; threshold; index of the left child, the right one
// next to it; leaf size), so scoring walks arrays instead of objects and a forest serialises to plain JSON.
//
// Missing values: training data must be finite (fit refuses NaN and ±Infinity). When scoring, a NaN (a feature the
// event did not have) is replaced by that feature's training median, so it neither isolates nor hides the point.
//
// Why not the named package ml-isolation-forest (0.1.0): it grows every tree on the whole data set instead of a
// subsample, keeps the training rows in its leaves, cannot be seeded and cannot be saved — so its results cannot be
// reproduced, its memory grows with the data, and a trained model cannot ship in a bundle. It stays as a baseline in
// the ODDS benchmark (test/bench/odds.bench.ts).
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { z } from 'zod';
import { averagePathLength } from './average-path.js';
import { isMatrix, type Matrix, toMatrix } from './matrix.js';

export interface IsolationForestOptions {
  /** Trees (t). */
  trees: number;
  /** Subsample size per tree (ψ); capped at the number of training rows. */
  sampleSize: number;
  seed: number;
}

export const DEFAULT_OPTIONS: IsolationForestOptions = { trees: 100, sampleSize: 256, seed: 0 };

const serialised = z.object({
  format: z.literal('vigil-isolation-forest'),
  version: z.literal(1),
  options: z.object({
    trees: z.number().int().positive(),
    sampleSize: z.number().int().positive(),
    seed: z.number().int(),
  }),
  psi: z.number().int().positive(),
  cols: z.number().int().nonnegative(),
  medians: z.array(z.number()),
  roots: z.array(z.number().int().nonnegative()),
  feature: z.array(z.number().int()),
  threshold: z.array(z.number()),
  left: z.array(z.number().int()),
  size: z.array(z.number().int().nonnegative()),
});
export type SerialisedForest = z.infer<typeof serialised>;

interface Trees {
  psi: number;
  cols: number;
  medians: Float64Array;
  roots: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  /** Leaf size's c(n) plus nothing else: precomputed so scoring adds it without a log. */
  leafDepth: Float64Array;
  size: Int32Array;
}

type Rows = Matrix | ArrayLike<ArrayLike<number>>;
const asMatrix = (x: Rows): Matrix => (isMatrix(x) ? x : toMatrix(x as ArrayLike<ArrayLike<number>>));

export class IsolationForest {
  readonly options: IsolationForestOptions;
  private trees: Trees | undefined;

  constructor(options: Partial<IsolationForestOptions> = {}) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
    const { trees, sampleSize, seed } = this.options;
    if (!Number.isInteger(trees) || trees < 1) throw new Error(`trees must be a positive integer, got ${trees}`);
    if (!Number.isInteger(sampleSize) || sampleSize < 2)
      throw new Error(`sampleSize must be an integer of at least 2, got ${sampleSize}`);
    if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  }

  get fitted(): boolean {
    return this.trees !== undefined;
  }

  /** Number of features the forest was trained on. */
  get cols(): number {
    return this.model().cols;
  }

  /** Grows the forest. The input is not modified. */
  fit(rows: Rows): this {
    const x = asMatrix(rows);
    if (x.rows < 2) throw new Error(`an isolation forest needs at least 2 training rows, got ${x.rows}`);
    assertFinite(x);
    const rng = xoroshiro128plus(this.options.seed);
    const sampleSize = Math.min(this.options.sampleSize, x.rows);
    const grower = new TreeGrower(x, sampleSize, rng);
    const roots: number[] = [];
    for (let t = 0; t < this.options.trees; t++) roots.push(grower.grow());
    this.trees = build({ psi: sampleSize, cols: x.cols, medians: medians(x), roots, ...grower.nodes });
    return this;
  }

  private model(): Trees {
    if (!this.trees) throw new Error('the isolation forest is not fitted: call fit() or load a saved forest first');
    return this.trees;
  }

  /** Path length of row r of data in one tree (edges to its leaf plus c(leaf size)). */
  private pathLength(m: Trees, data: Float64Array, base: number, root: number): number {
    let node = root;
    let depth = 0;
    for (;;) {
      const f = m.feature[node] as number;
      if (f < 0) return depth + (m.leafDepth[node] as number);
      let v = data[base + f] as number;
      if (Number.isNaN(v)) v = m.medians[f] as number;
      node = v < (m.threshold[node] as number) ? (m.left[node] as number) : (m.left[node] as number) + 1;
      depth++;
    }
  }

  /** Anomaly scores in (0, 1], one per row: 2^(−E[h(x)]/c(ψ)). */
  score(rows: Rows): Float64Array {
    const m = this.model();
    const x = asMatrix(rows);
    if (x.rows > 0 && x.cols !== m.cols)
      throw new Error(`rows have ${x.cols} features, the forest was trained on ${m.cols}`);
    const out = new Float64Array(x.rows);
    const norm = averagePathLength(m.psi) * m.roots.length;
    for (let r = 0; r < x.rows; r++) {
      let total = 0;
      const base = r * x.cols;
      for (let t = 0; t < m.roots.length; t++) total += this.pathLength(m, x.data, base, m.roots[t] as number);
      out[r] = 2 ** (-total / norm);
    }
    return out;
  }

  /** The score of one row. */
  scoreOne(row: ArrayLike<number>): number {
    return this.score({ data: Float64Array.from(row), rows: 1, cols: row.length })[0] as number;
  }

  /**
   * How much each feature isolated the row, summing to 1: along the row's path in every tree, each split credits its
   * feature with 1/h, h the row's path length in that tree — features that cut the row off early, in trees where it
   * is isolated quickly, get the most (a simplified depth-based attribution in the spirit of DIFFI, Carletti et al.
   * 2020).
   */
  contributions(row: ArrayLike<number>): Float64Array {
    const m = this.model();
    if (row.length !== m.cols)
      throw new Error(`the row has ${row.length} features, the forest was trained on ${m.cols}`);
    const data = Float64Array.from(row);
    const credit = new Float64Array(m.cols);
    for (let t = 0; t < m.roots.length; t++) {
      const root = m.roots[t] as number;
      const h = this.pathLength(m, data, 0, root);
      let node = root;
      for (;;) {
        const f = m.feature[node] as number;
        if (f < 0) break;
        credit[f] = (credit[f] as number) + 1 / Math.max(h, 1);
        let v = data[f] as number;
        if (Number.isNaN(v)) v = m.medians[f] as number;
        node = v < (m.threshold[node] as number) ? (m.left[node] as number) : (m.left[node] as number) + 1;
      }
    }
    const sum = credit.reduce((a, b) => a + b, 0);
    if (sum > 0) for (let f = 0; f < m.cols; f++) credit[f] = (credit[f] as number) / sum;
    return credit;
  }

  toJSON(): SerialisedForest {
    const m = this.model();
    return {
      format: 'vigil-isolation-forest',
      version: 1,
      options: { ...this.options },
      psi: m.psi,
      cols: m.cols,
      medians: Array.from(m.medians),
      roots: Array.from(m.roots),
      feature: Array.from(m.feature),
      threshold: Array.from(m.threshold),
      left: Array.from(m.left),
      size: Array.from(m.size),
    };
  }

  static fromJSON(json: unknown): IsolationForest {
    const parsed = serialised.safeParse(json);
    if (!parsed.success)
      throw new Error(`not a saved vigil isolation forest: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    const s = parsed.data;
    const n = s.feature.length;
    if (s.threshold.length !== n || s.left.length !== n || s.size.length !== n || s.medians.length !== s.cols) {
      throw new Error('not a saved vigil isolation forest: its arrays have different lengths');
    }
    for (let i = 0; i < n; i++) {
      const f = s.feature[i] as number;
      const l = s.left[i] as number;
      if (f >= s.cols || (f >= 0 && (l <= i || l + 1 >= n)))
        throw new Error(`not a saved vigil isolation forest: node ${i} is malformed`);
    }
    const forest = new IsolationForest(s.options);
    forest.trees = build(s);
    return forest;
  }
}

function build(s: {
  psi: number;
  cols: number;
  medians: ArrayLike<number>;
  roots: number[];
  feature: number[];
  threshold: number[];
  left: number[];
  size: number[];
}): Trees {
  const size = Int32Array.from(s.size);
  return {
    psi: s.psi,
    cols: s.cols,
    medians: Float64Array.from(s.medians),
    roots: Int32Array.from(s.roots),
    feature: Int32Array.from(s.feature),
    threshold: Float64Array.from(s.threshold),
    left: Int32Array.from(s.left),
    size,
    leafDepth: Float64Array.from(size, (n) => averagePathLength(n)),
  };
}

function medians(x: Matrix): Float64Array {
  const out = new Float64Array(x.cols);
  const column = new Float64Array(x.rows);
  for (let j = 0; j < x.cols; j++) {
    for (let i = 0; i < x.rows; i++) column[i] = x.data[i * x.cols + j] as number;
    column.sort();
    const mid = x.rows >> 1;
    out[j] = x.rows % 2 ? (column[mid] as number) : ((column[mid - 1] as number) + (column[mid] as number)) / 2;
  }
  return out;
}

function assertFinite(x: Matrix): void {
  for (let i = 0; i < x.data.length; i++) {
    const value = x.data[i] as number;
    if (!Number.isFinite(value)) {
      const where = `training row ${Math.floor(i / x.cols)}, feature ${i % x.cols}`;
      throw new Error(`${where} is ${value}: training data must be finite`);
    }
  }
}

type Rng = ReturnType<typeof xoroshiro128plus>;

/** One node's split: the feature, and the range of its values among the node's rows. */
interface Split {
  feature: number;
  min: number;
  max: number;
}

/**
 * Grows the trees of one forest into shared flat arrays (see the file's head), one tree per grow() call. The random
 * draws happen in a fixed order — the subsample, then per node the feature and the split value — so a seed gives
 * the same forest every time.
 */
class TreeGrower {
  readonly nodes = { feature: [] as number[], threshold: [] as number[], left: [] as number[], size: [] as number[] };
  private readonly heightLimit: number;
  /** Row indices of the current tree's subsample, partitioned in place as nodes split. */
  private readonly sample: Int32Array;
  private readonly pool: Int32Array;
  private readonly candidates: Int32Array;

  constructor(
    private readonly x: Matrix,
    private readonly sampleSize: number,
    private readonly rng: Rng,
  ) {
    this.heightLimit = Math.ceil(Math.log2(sampleSize));
    this.sample = new Int32Array(sampleSize);
    this.pool = new Int32Array(x.rows);
    this.candidates = new Int32Array(x.cols);
  }

  /** Grows one tree on a fresh subsample; returns its root's index. */
  grow(): number {
    this.drawSample();
    const root = this.newNode();
    // Iterative growth: [node, lo, hi, depth] over the sample's index range.
    const stack: number[] = [root, 0, this.sampleSize, 0];
    while (stack.length > 0) {
      const depth = stack.pop() as number;
      const hi = stack.pop() as number;
      const lo = stack.pop() as number;
      const at = stack.pop() as number;
      const split = depth >= this.heightLimit || hi - lo <= 1 ? undefined : this.chooseSplit(lo, hi);
      if (!split) {
        this.nodes.size[at] = hi - lo;
        continue;
      }
      const threshold = split.min + uniformFloat64(this.rng) * (split.max - split.min);
      const middle = this.partition(lo, hi, split.feature, threshold);
      const left = this.newNode();
      this.newNode();
      this.nodes.feature[at] = split.feature;
      this.nodes.threshold[at] = threshold;
      this.nodes.left[at] = left;
      stack.push(left + 1, middle, hi, depth + 1, left, lo, middle, depth + 1);
    }
    return root;
  }

  /** ψ rows without replacement: a partial Fisher–Yates shuffle of the row indices. */
  private drawSample(): void {
    const { pool, sample } = this;
    for (let i = 0; i < this.x.rows; i++) pool[i] = i;
    for (let i = 0; i < this.sampleSize; i++) {
      const j = uniformInt(this.rng, i, this.x.rows - 1);
      const drawn = pool[j] as number;
      pool[j] = pool[i] as number;
      pool[i] = drawn;
      sample[i] = drawn;
    }
  }

  /** A feature drawn uniformly among those not constant in the node's rows; undefined when every one is constant. */
  private chooseSplit(lo: number, hi: number): Split | undefined {
    const { candidates } = this;
    for (let j = 0; j < this.x.cols; j++) candidates[j] = j;
    for (let remaining = this.x.cols; remaining > 0; remaining--) {
      const drawn = uniformInt(this.rng, 0, remaining - 1);
      const feature = candidates[drawn] as number;
      const { min, max } = this.range(lo, hi, feature);
      if (max > min) return { feature, min, max };
      // Constant here: swap it out of the candidates still to draw from.
      candidates[drawn] = candidates[remaining - 1] as number;
      candidates[remaining - 1] = feature;
    }
    return undefined;
  }

  private range(lo: number, hi: number, feature: number): { min: number; max: number } {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = lo; i < hi; i++) {
      const value = this.x.data[(this.sample[i] as number) * this.x.cols + feature] as number;
      if (value < min) min = value;
      if (value > max) max = value;
    }
    return { min, max };
  }

  /** Moves the rows whose feature is below the threshold to the front of [lo, hi); returns where the rest begin. */
  private partition(lo: number, hi: number, feature: number, threshold: number): number {
    const { sample } = this;
    let middle = lo;
    for (let i = lo; i < hi; i++) {
      const row = sample[i] as number;
      if ((this.x.data[row * this.x.cols + feature] as number) < threshold) {
        sample[i] = sample[middle] as number;
        sample[middle] = row;
        middle++;
      }
    }
    return middle;
  }

  private newNode(): number {
    this.nodes.feature.push(-1);
    this.nodes.threshold.push(0);
    this.nodes.left.push(-1);
    this.nodes.size.push(0);
    return this.nodes.feature.length - 1;
  }
}
