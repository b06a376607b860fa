// Statistics and tables for the notebooks: precision and recall of a score against analysts' labels, drift of a
// feature between two time windows, markdown tables. Self-contained (tslab loads a local module without resolving its
// own relative imports).

export interface Confusion {
  /** Labelled attacks the score is above the threshold on. */
  tp: number;
  /** Requests not labelled attacks that it is above the threshold on. */
  fp: number;
  /** Labelled attacks it is not above the threshold on. */
  fn: number;
  /** tp / (tp + fp); undefined when it is above the threshold on nothing. */
  precision: number | undefined;
  /** tp / (tp + fn); undefined when nothing is labelled an attack. */
  recall: number | undefined;
}

/** Counts at one threshold: an action is taken when the score is strictly above its threshold, as in the bundle. */
export function confusionAt(scores: ArrayLike<number>, positive: ArrayLike<boolean>, threshold: number): Confusion {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const over = (scores[i] as number) > threshold;
    if (positive[i]) {
      if (over) tp++;
      else fn++;
    } else if (over) fp++;
  }
  return {
    tp,
    fp,
    fn,
    precision: tp + fp > 0 ? tp / (tp + fp) : undefined,
    recall: tp + fn > 0 ? tp / (tp + fn) : undefined,
  };
}

export interface PrPoint {
  /** Everything scoring at least this is flagged. */
  threshold: number;
  precision: number;
  recall: number;
}

/**
 * The precision-recall curve of a score (higher = more suspicious): one point per distinct score value, from the
 * highest down, thinned to about `maxPoints`; with the average precision (the area under the step curve).
 */
export function prCurve(
  scores: ArrayLike<number>,
  positive: ArrayLike<boolean>,
  maxPoints = 400,
): { points: PrPoint[]; averagePrecision: number } {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number),
  );
  let positives = 0;
  for (let i = 0; i < positive.length; i++) if (positive[i]) positives++;
  const all: PrPoint[] = [];
  let tp = 0;
  let flagged = 0;
  let ap = 0;
  let lastRecall = 0;
  for (let k = 0; k < order.length; ) {
    const s = scores[order[k] as number] as number;
    // Equal scores are flagged together.
    while (k < order.length && scores[order[k] as number] === s) {
      if (positive[order[k] as number]) tp++;
      flagged++;
      k++;
    }
    const recall = positives > 0 ? tp / positives : 0;
    const precision = tp / flagged;
    ap += (recall - lastRecall) * precision;
    lastRecall = recall;
    all.push({ threshold: s, precision, recall });
  }
  const step = Math.max(1, Math.ceil(all.length / maxPoints));
  const points = all.filter((_, i) => i % step === 0 || i === all.length - 1);
  return { points, averagePrecision: ap };
}

const finite = (values: ArrayLike<number>) =>
  Float64Array.from(Array.from(values).filter((v) => Number.isFinite(v))).sort();

/** The q-quantile of sorted values (nearest rank). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/**
 * Population stability index of `current` against `reference`: bins at the reference's deciles (merged where a
 * feature's values repeat, as sparse counts do), shares floored at 1e-4 so an empty bin stays finite;
 * Σ (current − reference) · ln(current / reference). Rule of thumb: under 0.1 stable, 0.1–0.25 moderate, above
 * 0.25 a shift. Non-finite values are left out.
 */
export function psi(reference: ArrayLike<number>, current: ArrayLike<number>, bins = 10): number {
  const ref = finite(reference);
  const cur = finite(current);
  if (ref.length === 0 || cur.length === 0) return Number.NaN;
  const edges = [...new Set(Array.from({ length: bins - 1 }, (_, k) => quantile(ref, (k + 1) / bins)))];
  const shares = (sorted: Float64Array) => {
    const counts = new Array<number>(edges.length + 1).fill(0);
    for (const v of sorted) {
      let b = 0;
      while (b < edges.length && v > (edges[b] as number)) b++;
      counts[b] = (counts[b] as number) + 1;
    }
    return counts.map((c) => Math.max(1e-4, c / sorted.length));
  };
  const r = shares(ref);
  const c = shares(cur);
  return r.reduce((sum, rv, i) => sum + ((c[i] as number) - rv) * Math.log((c[i] as number) / rv), 0);
}

/** Two-sample Kolmogorov–Smirnov statistic: the largest gap between the two empirical distribution functions. */
export function ks(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  const a = finite(reference);
  const b = finite(current);
  if (a.length === 0 || b.length === 0) return Number.NaN;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < a.length && j < b.length) {
    const v = Math.min(a[i] as number, b[j] as number);
    while (i < a.length && a[i] === v) i++;
    while (j < b.length && b[j] === v) j++;
    d = Math.max(d, Math.abs(i / a.length - j / b.length));
  }
  return d;
}

/** A markdown table (tslab's display.markdown; GitHub and JupyterLab render it). */
export function markdownTable(header: string[], rows: (string | number)[][], align?: ('l' | 'r')[]): string {
  const cell = (v: string | number) => String(v).replace(/\|/g, '\\|');
  const rule = header.map((_, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'r' ? '---:' : ':---'));
  return [header, rule, ...rows.map((r) => r.map(cell))].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** A share as a percentage, e.g. "0.250 %". */
export const pct = (x: number, digits = 3) => `${(x * 100).toFixed(digits)} %`;

/**
 * The note `vigil train` prints under a threshold its held-out traffic cannot measure (the manifest's `resolved` is
 * false), word for word: services/cli/src/commands/train.ts.
 */
export function unresolvedNote(target: number): string {
  return (
    `(too few held-out principal-days to measure ${pct(target)}: ` +
    `need ${Math.ceil(1 / target).toLocaleString('en')}; ` +
    'the threshold sits at the highest held-out score — train on more traffic)'
  );
}
