// The NAB score (Numenta Anomaly Benchmark v1.1), as its published scorer computes it (numenta/NAB: nab/sweeper.py,
// the optimizer and the normalisation in nab/runner.py), for detectors that give every record of a series a score:
// - The first min(⌊0.15·n⌋, 0.15·5000) records of a series are its probationary period: never scored.
// - A record inside a labelled window [start, end] (inclusive, by timestamp) counts as a true positive worth
//   tpWeight · σs(−(right − i + 1)/width) / σs(−1), where σs(x) = 2·sigmoid(−5x) − 1 (σs(x) = −1 for
//   x ≥ 3); only the best, i.e. earliest, detection of a window counts; a window without one costs −fnWeight.
// - A detection outside every window costs fpWeight · σs(|i − right of the previous window| / (width of that
//   window − 1)) — close behind a window almost nothing, far behind it −fpWeight — and −fpWeight before any
//   window.
// - A detection is a record whose score ≥ the threshold; one threshold serves the whole set of series scored and is
//   the one that maximises the summed score (NAB optimises over its corpus the same way).
// - Normalised: 100 · (S − S_null) / (S_perfect − S_null), S_perfect = windows · tpWeight, S_null = the optimised
//   score of NAB's null detector (one constant score for every record), −windows · fnWeight for the standard
//   profile.
// This module knows nothing about files: the bench parses NAB's CSVs and labels and passes epoch-ms timestamps.

export interface CostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

/** NAB's standard profile (config/profiles.json). */
export const STANDARD_PROFILE: CostMatrix = { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 };

export interface NabSeries {
  name: string;
  /** Epoch ms, ascending. */
  timestamps: ArrayLike<number>;
  /** The detector's score per record; higher is more anomalous. */
  scores: ArrayLike<number>;
  /** Labelled anomaly windows [start, end], epoch ms, ascending and disjoint. */
  windows: readonly (readonly [number, number])[];
}

export interface NabResult {
  /** Raw score at the best threshold, summed over the series. */
  score: number;
  /** Records with score ≥ threshold are detections; +Infinity means no detection at all was best. */
  threshold: number;
  normalised: number;
  nullScore: number;
  perfectScore: number;
  windows: number;
  /** Windows with at least one detection at the best threshold. */
  windowsDetected: number;
  /** Detections outside every window (after the probationary period) at the best threshold. */
  falsePositives: number;
}

export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition >= 3) return -1;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1;
}

export function probationaryLength(rows: number, probationPercent = 0.15): number {
  return Math.min(Math.floor(probationPercent * rows), probationPercent * 5000);
}

/** A scorable record: its detector score, its weighted contribution if detected, its window (−1: none). */
interface SweepPoint {
  score: number;
  sweepScore: number;
  window: number;
}

/** Indices [left, right] of the records inside each window; windows holding no record are dropped. */
export function windowIndices(timestamps: ArrayLike<number>, windows: NabSeries['windows']): [number, number][] {
  const out: [number, number][] = [];
  for (const [start, end] of windows) {
    let left = -1;
    let right = -1;
    for (let i = 0; i < timestamps.length; i++) {
      const t = timestamps[i] as number;
      if (t >= start && t <= end) {
        if (left < 0) left = i;
        right = i;
      }
    }
    if (left >= 0) out.push([left, right]);
  }
  return out;
}

/** nab/sweeper.py calcSweepScore: each record's contribution if it were a detection; probationary records dropped. */
function sweepSeries(
  series: NabSeries,
  cost: CostMatrix,
  windowBase: number,
  probationPercent: number,
): { points: SweepPoint[]; windows: number[] } {
  const n = series.timestamps.length;
  if (series.scores.length !== n) throw new Error(`${series.name}: ${n} timestamps but ${series.scores.length} scores`);
  const windows = windowIndices(series.timestamps, series.windows);
  const probation = probationaryLength(n, probationPercent);
  const maxTp = scaledSigmoid(-1);
  const points: SweepPoint[] = [];
  const scorableWindows = new Set<number>();
  let next = 0;
  let current = -1;
  let prevRight = -1;
  let prevWidth = 0;
  for (let i = 0; i < n; i++) {
    if (current < 0 && next < windows.length && i === (windows[next] as [number, number])[0]) current = next++;
    let sweepScore: number;
    if (current >= 0) {
      const [left, right] = windows[current] as [number, number];
      const width = right - left + 1;
      sweepScore = (scaledSigmoid(-(right - i + 1) / width) * cost.tpWeight) / maxTp;
    } else {
      const position = prevRight < 0 ? 3 : Math.abs(prevRight - i) / (prevWidth - 1);
      sweepScore = scaledSigmoid(position) * cost.fpWeight;
    }
    if (i >= probation) {
      const window = current >= 0 ? windowBase + current : -1;
      if (window >= 0) scorableWindows.add(window);
      points.push({ score: series.scores[i] as number, sweepScore, window });
    }
    if (current >= 0 && i === (windows[current] as [number, number])[1]) {
      const [left, right] = windows[current] as [number, number];
      prevRight = right;
      prevWidth = right - left + 1;
      current = -1;
    }
  }
  return { points, windows: [...scorableWindows] };
}

/**
 * nab/sweeper.py calcScoreByThreshold over every record of every series at once: the score at each threshold (all
 * records with score ≥ it detected), from "nothing detected" down; returns the best (the highest threshold on a tie).
 */
function optimise(points: SweepPoint[], windows: number[], cost: CostMatrix): { score: number; threshold: number } {
  const sorted = points.slice().sort((a, b) => b.score - a.score);
  const parts = new Map<number, number>(windows.map((w) => [w, -cost.fnWeight]));
  let total = -cost.fnWeight * windows.length;
  let best = { score: total, threshold: Number.POSITIVE_INFINITY };
  let threshold = Number.POSITIVE_INFINITY;
  for (const p of sorted) {
    if (p.score !== threshold) {
      if (total > best.score) best = { score: total, threshold };
      threshold = p.score;
    }
    if (p.window < 0) total += p.sweepScore;
    else {
      const old = parts.get(p.window) as number;
      if (p.sweepScore > old) {
        parts.set(p.window, p.sweepScore);
        total += p.sweepScore - old;
      }
    }
  }
  if (total > best.score) best = { score: total, threshold };
  return best;
}

/** Scores a set of series with one optimised threshold and normalises against the null and perfect detectors. */
export function nabScore(
  series: readonly NabSeries[],
  cost: CostMatrix = STANDARD_PROFILE,
  probationPercent = 0.15,
): NabResult {
  const all: SweepPoint[] = [];
  const allWindows: number[] = [];
  let windows = 0;
  const swept = series.map((s) => {
    const r = sweepSeries(s, cost, windows, probationPercent);
    windows += windowIndices(s.timestamps, s.windows).length;
    for (const p of r.points) all.push(p);
    allWindows.push(...r.windows);
    return r;
  });
  const best = optimise(all, allWindows, cost);
  // NAB's null detector: the same constant score for every record, threshold optimised like any detector's.
  const nullScore = optimise(
    all.map((p) => ({ ...p, score: 0.5 })),
    allWindows,
    cost,
  ).score;
  const perfectScore = windows * cost.tpWeight;
  const detected = new Set<number>();
  let falsePositives = 0;
  for (const r of swept) {
    for (const p of r.points) {
      if (!(p.score >= best.threshold)) continue;
      if (p.window >= 0) detected.add(p.window);
      else falsePositives++;
    }
  }
  return {
    score: best.score,
    threshold: best.threshold,
    normalised: (100 * (best.score - nullScore)) / (perfectScore - nullScore),
    nullScore,
    perfectScore,
    windows,
    windowsDetected: detected.size,
    falsePositives,
  };
}
