// Calibration of a raw anomaly score (higher = more anomalous) against its distribution on held-out normal traffic:
// calibrated(x) = 1 − P(normal score > x), in [0, 1], so a threshold is a false-positive rate —
// calibrated ≥ 0.999 flags one normal event in a thousand.
// - Below the tail threshold u (the `tailQuantile` quantile, 0.98 by default) P comes from the empirical
//   distribution, kept as a table of quantiles.
// - Above u the data are too few for empirical quantiles, so the exceedances x − u are fit with a generalised Pareto
//   distribution (peaks over threshold, Pickands–Balkema–de Haan), by probability-weighted moments (Hosking &
//   Wallis 1987): P(S > x) = (1 − q)·(1 + ξ(x − u)/σ)^(−1/ξ), the exponential tail when ξ = 0. ξ is clamped
//   to [0, 0.5]: a negative shape puts a hard upper end on normal scores, past which every score would look equally
//   impossible, and with a few hundred exceedances the estimate swings by ±0.15 around 0 — so the tail is taken as
//   at least exponential, which overstates rather than understates how often normal traffic scores that high; 0.5 is
//   where the estimator stops being reliable. When clamped, σ comes from the mean excess,
//   E[x − u] = σ / (1 − ξ).
import { z } from 'zod';

export const calibratorSchema = z.object({
  kind: z.literal('pot'),
  /** Raw-score quantiles at probabilities 0, 1/(n−1), …, tailQuantile. */
  quantiles: z.array(z.number()),
  tailQuantile: z.number().gt(0).lt(1),
  threshold: z.number(),
  xi: z.number(),
  sigma: z.number().nonnegative(),
  samples: z.number().int().positive(),
});
export type SerialisedCalibrator = z.infer<typeof calibratorSchema>;

export interface CalibratorOptions {
  tailQuantile: number;
  /** Points in the quantile table. */
  tableSize: number;
}

const DEFAULTS: CalibratorOptions = { tailQuantile: 0.98, tableSize: 1001 };

export class ScoreCalibrator {
  private constructor(private readonly s: SerialisedCalibrator) {}

  static fit(scores: ArrayLike<number>, options: Partial<CalibratorOptions> = {}): ScoreCalibrator {
    const o = { ...DEFAULTS, ...options };
    const sorted = Float64Array.from(scores)
      .filter((x) => Number.isFinite(x))
      .sort();
    const n = sorted.length;
    if (n < 100) throw new Error(`calibration needs at least 100 held-out scores, got ${n}`);
    const at = (p: number) => {
      const pos = (n - 1) * p;
      const lo = Math.floor(pos);
      const hi = Math.ceil(pos);
      return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
    };
    const quantiles = Array.from({ length: o.tableSize }, (_, i) => at((o.tailQuantile * i) / (o.tableSize - 1)));
    const u = at(o.tailQuantile);
    const exceed = sorted.filter((x) => x > u).map((x) => x - u);
    let xi = 0;
    let sigma = 0;
    const m = exceed.length;
    if (m >= 2) {
      let a0 = 0;
      let a1 = 0;
      for (let i = 0; i < m; i++) {
        a0 += exceed[i] as number;
        a1 += ((exceed[i] as number) * (m - 1 - i)) / (m - 1);
      }
      a0 /= m;
      a1 /= m;
      const denom = a0 - 2 * a1;
      const estimate = denom > 0 ? 2 - a0 / denom : Number.NaN;
      xi = Number.isFinite(estimate) ? Math.min(0.5, Math.max(0, estimate)) : 0;
      sigma = xi === estimate ? (2 * a0 * a1) / denom : a0 * (1 - xi);
    }
    return new ScoreCalibrator({
      kind: 'pot',
      quantiles,
      tailQuantile: o.tailQuantile,
      threshold: u,
      xi,
      sigma,
      samples: n,
    });
  }

  /** P(normal score > x). */
  exceedance(x: number): number {
    const { quantiles, tailQuantile, threshold: u, xi, sigma } = this.s;
    if (Number.isNaN(x)) return 1;
    if (x > u) {
      if (!(sigma > 0)) return 0;
      const y = x - u;
      const tail = xi === 0 ? Math.exp(-y / sigma) : Math.max(0, 1 + (xi * y) / sigma) ** (-1 / xi);
      return (1 - tailQuantile) * tail;
    }
    // Position in the quantile table by binary search, interpolated.
    if (x < (quantiles[0] as number)) return 1;
    let lo = 0;
    let hi = quantiles.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((quantiles[mid] as number) <= x) lo = mid;
      else hi = mid;
    }
    const a = quantiles[lo] as number;
    const b = quantiles[hi] as number;
    const frac = b > a ? Math.min(1, (x - a) / (b - a)) : 1;
    const p = ((lo + frac) / (quantiles.length - 1)) * tailQuantile;
    return 1 - p;
  }

  calibrate(x: number): number {
    return 1 - this.exceedance(x);
  }

  /** The raw score whose exceedance is `rate` (a target false-positive rate per event). */
  rawThreshold(rate: number): number {
    if (!(rate > 0 && rate < 1)) throw new Error(`a false-positive rate must be in (0, 1), got ${rate}`);
    const { quantiles, tailQuantile, threshold: u, xi, sigma } = this.s;
    if (rate < 1 - tailQuantile) {
      const r = rate / (1 - tailQuantile);
      return u + (xi === 0 ? -sigma * Math.log(r) : (sigma / xi) * (r ** -xi - 1));
    }
    const pos = ((1 - rate) / tailQuantile) * (quantiles.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(quantiles.length - 1, lo + 1);
    return (quantiles[lo] as number) + ((quantiles[hi] as number) - (quantiles[lo] as number)) * (pos - lo);
  }

  get tail(): { threshold: number; xi: number; sigma: number; samples: number } {
    return { threshold: this.s.threshold, xi: this.s.xi, sigma: this.s.sigma, samples: this.s.samples };
  }

  toJSON(): SerialisedCalibrator {
    return structuredClone(this.s);
  }

  static fromJSON(json: unknown): ScoreCalibrator {
    return new ScoreCalibrator(calibratorSchema.parse(json));
  }
}

/**
 * The calibrated threshold that gives a target false-positive rate per group (principal-day): the (1 − rate)
 * quantile of each group's highest calibrated score on held-out normal traffic. A principal sends many requests a
 * day, so a per-event rate of 1/1000 would flag far more than 1 principal-day in 1000.
 */
export function groupThreshold(calibrated: ArrayLike<number>, groups: ArrayLike<string>, rate: number): number {
  const max = new Map<string, number>();
  for (let i = 0; i < calibrated.length; i++) {
    const g = groups[i] as string;
    const v = calibrated[i] as number;
    if (!(v <= (max.get(g) ?? Number.NEGATIVE_INFINITY))) max.set(g, v);
  }
  const sorted = Float64Array.from(max.values()).sort();
  if (sorted.length === 0) throw new Error('no groups to set a threshold on');
  // The smallest threshold that at most `rate` of the groups exceed (strictly).
  const allowed = Math.floor(rate * sorted.length);
  return sorted[sorted.length - 1 - allowed] as number;
}
