// Robust scaling fit on training data: each feature minus its median, divided by its interquartile range (or, when
// the IQR is 0 — a feature that is 0 for most requests, like "a payment to a new payee" — by 1.4826 × the mean
// absolute deviation from the median, else 1). Medians and quantiles ignore the heavy tails that attacks put in the
// data, unlike a mean and standard deviation. NaN stays NaN (the models' missing-value rule handles it).
import { z } from 'zod';

export const scalerSchema = z.object({
  kind: z.literal('robust'),
  center: z.array(z.number()),
  scale: z.array(z.number().positive()),
});
export type SerialisedScaler = z.infer<typeof scalerSchema>;

function quantileSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

export class RobustScaler {
  private constructor(
    readonly center: Float64Array,
    readonly scale: Float64Array,
  ) {}

  static fit(data: ArrayLike<number>, rows: number, cols: number): RobustScaler {
    const center = new Float64Array(cols);
    const scale = new Float64Array(cols);
    const column = new Float64Array(rows);
    for (let j = 0; j < cols; j++) {
      let n = 0;
      for (let i = 0; i < rows; i++) {
        const v = data[i * cols + j] as number;
        if (Number.isFinite(v)) column[n++] = v;
      }
      const sorted = column.subarray(0, n).sort();
      const median = quantileSorted(sorted, 0.5);
      const iqr = quantileSorted(sorted, 0.75) - quantileSorted(sorted, 0.25);
      let mad = 0;
      for (let i = 0; i < n; i++) mad += Math.abs((sorted[i] as number) - median);
      mad = n > 0 ? (1.4826 * mad) / n : 0;
      center[j] = Number.isFinite(median) ? median : 0;
      scale[j] = iqr > 0 ? iqr : mad > 0 ? mad : 1;
    }
    return new RobustScaler(center, scale);
  }

  /** A scaled copy of row-major data. */
  transform(data: ArrayLike<number>, rows: number, cols: number): Float64Array {
    if (cols !== this.center.length)
      throw new Error(`rows have ${cols} features, the scaler was fit on ${this.center.length}`);
    const out = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++)
        out[i * cols + j] = ((data[i * cols + j] as number) - (this.center[j] as number)) / (this.scale[j] as number);
    }
    return out;
  }

  toJSON(): SerialisedScaler {
    return { kind: 'robust', center: Array.from(this.center), scale: Array.from(this.scale) };
  }

  static fromJSON(json: unknown): RobustScaler {
    const s = scalerSchema.parse(json);
    if (s.center.length !== s.scale.length) throw new Error('scaler center and scale differ in length');
    return new RobustScaler(Float64Array.from(s.center), Float64Array.from(s.scale));
  }
}
