// A bounded, seeded sample of feature rows for training: reservoir sampling (Algorithm R) keeps at most `maxRows`
// rows, each row of the stream equally likely, so a log of any size trains in fixed memory. Whole principals are held
// out (a hash of the principal key) for calibration and thresholds, so those are checked on principals the models
// never saw; each row's principal-day is kept for the per-principal-day rates.
import type { TrainingSet } from '@vigil/bundle';
import { unitHash } from '@vigil/events';
import type { FeatureRecord, FeatureSchema } from '@vigil/features';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export interface SampleOptions {
  maxRows: number;
  /** Share of principals held out (by hash), default 0.2. */
  holdoutShare: number;
  seed: number;
}

export class TrainingSample {
  private data: Float64Array | undefined;
  private cols = 0;
  private readonly groups: string[] = [];
  private readonly holdout: Uint8Array;
  private readonly rng;
  private seen = 0;
  private kept = 0;
  private fromTs = Number.POSITIVE_INFINITY;
  private toTs = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: SampleOptions) {
    this.holdout = new Uint8Array(options.maxRows);
    this.rng = xoroshiro128plus(options.seed);
  }

  get rowsSeen(): number {
    return this.seen;
  }

  /** Feature records (the features topic's, or runLog's): each one's vector, principal and time. */
  add(records: readonly Pick<FeatureRecord, 'v' | 'principal' | 'ts'>[]): void {
    for (const f of records) this.addVector(f.v, f.principal, f.ts);
  }

  /** One feature vector of a request by `principal` at event time `ts` (rows read back from ClickHouse, say). */
  addVector(vector: ArrayLike<number>, principal: string, ts: number): void {
    if (!this.data) {
      this.cols = vector.length;
      this.data = new Float64Array(this.options.maxRows * this.cols);
    }
    if (vector.length !== this.cols)
      throw new Error(`a vector of ${vector.length} features after vectors of ${this.cols}`);
    this.seen++;
    this.fromTs = Math.min(this.fromTs, ts);
    this.toTs = Math.max(this.toTs, ts);
    let slot: number;
    if (this.kept < this.options.maxRows) slot = this.kept++;
    else {
      slot = uniformInt(this.rng, 0, this.seen - 1);
      if (slot >= this.options.maxRows) return;
    }
    this.data.set(vector, slot * this.cols);
    this.groups[slot] = `${principal}|${new Date(ts).toISOString().slice(0, 10)}`;
    this.holdout[slot] = unitHash(principal) < this.options.holdoutShare ? 1 : 0;
  }

  finish(schema: FeatureSchema): TrainingSet {
    if (!this.data || this.kept === 0) throw new Error('the log produced no feature rows to train on');
    return {
      data: this.data.subarray(0, this.kept * this.cols),
      rows: this.kept,
      cols: this.cols,
      groups: this.groups.slice(0, this.kept),
      holdout: this.holdout.subarray(0, this.kept),
      fromTs: this.fromTs,
      toTs: this.toTs,
      features: { names: schema.names, hash: schema.hash, schema },
    };
  }
}
