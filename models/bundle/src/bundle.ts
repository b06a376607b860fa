// A model bundle: scaler → isolation forest and autoencoder → per-model calibration → one combined
// score → actions.
//
// Ensemble rule ("min-exceedance-bonferroni"): each model's raw score x_m becomes its exceedance e_m = P(normal score
// > x_m) on held-out normal traffic; the combined exceedance is min(1, M · min_m e_m) — a request is as unusual as
// its most surprised model says, corrected (Bonferroni) for having asked M = 2 models, so normal traffic still exceeds
// a combined level α at most at rate α. The combined score is 1 − that, in [0, 1]. The forest sees one feature at a
// time and the autoencoder sees combinations, so either may be the one that is surprised.
//
// Thresholds per action are chosen on held-out normal traffic for a target false-positive rate per principal-day and
// stated in both units; an action is taken when the combined score is above its threshold (strictly).
//
// Explanations: the model that drove the combined score (the smaller exceedance) attributes it — the forest by its
// per-feature isolation credit, the autoencoder by its per-feature reconstruction error — and each reason carries the
// feature's value and its baseline (the training median).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Autoencoder } from '@vigil/autoencoder';
import { RobustScaler, ScoreCalibrator } from '@vigil/calibration';
import { IsolationForest } from '@vigil/isolation-forest';
import { ACTIONS, type Action, type Manifest, manifestSchema } from './manifest.js';

export interface Rows {
  data: Float64Array;
  rows: number;
  cols: number;
}

export interface Scored {
  /** Combined calibrated score in [0, 1]. */
  score: Float64Array;
  iforest: Float64Array;
  autoencoder: Float64Array;
  /** The autoencoder's squared error per row and feature (row-major), for explanations without a second pass. */
  autoencoderErrors: Float32Array;
  /** Per-model exceedances (P(normal > raw)). */
  iforestExceedance: Float64Array;
  autoencoderExceedance: Float64Array;
}

export interface Reason {
  feature: string;
  value: number;
  baseline: number;
  contribution: number;
}

/**
 * Scaled values beyond ±CLIP are clipped for the autoencoder: one extreme feature must not drown the others' errors.
 */
export const AUTOENCODER_CLIP = 10;

export const ENSEMBLE_DESCRIPTION =
  'combined exceedance = min(1, 2 · min(e_iforest, e_autoencoder)), ' +
  'e_m = P(held-out normal score > raw score of model m); score = 1 − combined exceedance';

export function combine(eIf: number, eAe: number): number {
  return 1 - Math.min(1, 2 * Math.min(eIf, eAe));
}

export function clipForAutoencoder(scaled: Float64Array): Float64Array {
  const out = new Float64Array(scaled.length);
  for (let i = 0; i < scaled.length; i++) {
    const v = scaled[i] as number;
    out[i] = Number.isNaN(v) ? v : Math.max(-AUTOENCODER_CLIP, Math.min(AUTOENCODER_CLIP, v));
  }
  return out;
}

export class ModelBundle {
  constructor(
    readonly manifest: Manifest,
    readonly scaler: RobustScaler,
    readonly forest: IsolationForest,
    readonly autoencoder: Autoencoder,
    readonly calibration: { iforest: ScoreCalibrator; autoencoder: ScoreCalibrator },
  ) {}

  get id(): string {
    return this.manifest.bundle_id;
  }

  /** Scores rows of raw feature vectors (in the bundle's feature order), in micro-batches. */
  score(x: Rows): Scored {
    if (x.cols !== this.manifest.features.names.length) {
      throw new Error(`rows have ${x.cols} features, bundle ${this.id} expects ${this.manifest.features.names.length}`);
    }
    const scaled = this.scaler.transform(x.data, x.rows, x.cols);
    const iforest = this.forest.score({ data: scaled, rows: x.rows, cols: x.cols });
    const { scores: autoencoder, featureErrors } = this.autoencoder.reconstruct({
      data: clipForAutoencoder(scaled),
      rows: x.rows,
      cols: x.cols,
    });
    const out: Scored = {
      score: new Float64Array(x.rows),
      iforest,
      autoencoder,
      autoencoderErrors: featureErrors,
      iforestExceedance: new Float64Array(x.rows),
      autoencoderExceedance: new Float64Array(x.rows),
    };
    for (let i = 0; i < x.rows; i++) {
      const eIf = this.calibration.iforest.exceedance(iforest[i] as number);
      const eAe = this.calibration.autoencoder.exceedance(autoencoder[i] as number);
      out.iforestExceedance[i] = eIf;
      out.autoencoderExceedance[i] = eAe;
      out.score[i] = combine(eIf, eAe);
    }
    return out;
  }

  /** The strongest action whose threshold the score exceeds, else 'allow'. Thresholds may be overridden (policy). */
  action(score: number, thresholds: Partial<Record<Action, number>> = {}): Action | 'allow' {
    for (const a of [...ACTIONS].reverse()) {
      const t = thresholds[a] ?? this.manifest.thresholds[a].score;
      if (score > t) return a;
    }
    return 'allow';
  }

  /** The top features behind one row's score, with value, baseline and contribution (shares summing to ≤ 1). */
  explain(
    row: Float64Array,
    scored: { iforestExceedance: number; autoencoderExceedance: number; autoencoderErrors?: ArrayLike<number> },
    top = 3,
  ): Reason[] {
    const names = this.manifest.features.names;
    const scaled = this.scaler.transform(row, 1, row.length);
    let shares: Float64Array;
    if (scored.iforestExceedance <= scored.autoencoderExceedance) {
      shares = this.forest.contributions(scaled);
    } else {
      const errors =
        scored.autoencoderErrors ??
        this.autoencoder.reconstruct({ data: clipForAutoencoder(scaled), rows: 1, cols: row.length }).featureErrors;
      let sum = 0;
      for (let i = 0; i < errors.length; i++) sum += errors[i] as number;
      shares = Float64Array.from(errors, (e) => (sum > 0 ? e / sum : 0));
    }
    // Features whose value is off its baseline come first: the autoencoder can reconstruct an ordinary value badly
    // (its error then says more about the model than the request), and an analyst needs what is unusual. Within each
    // group, the larger share first; shares stay the models' own.
    const off = (i: number) => (shares[i] as number) > 0 && row[i] !== this.scaler.center[i];
    return Array.from(shares, (contribution, i) => ({ i, contribution, off: off(i) }))
      .sort((a, b) => Number(b.off) - Number(a.off) || b.contribution - a.contribution || a.i - b.i)
      .slice(0, top)
      .map(({ i, contribution }) => ({
        feature: names[i] as string,
        value: row[i] as number,
        baseline: this.scaler.center[i] as number,
        contribution: Math.round(contribution * 1000) / 1000,
      }));
  }

  async save(dir: string): Promise<void> {
    await this.autoencoder.save(join(dir, this.manifest.files.autoencoder));
    await writeFile(join(dir, this.manifest.files.iforest), `${JSON.stringify(this.forest)}\n`);
    await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(this.manifest, null, 2)}\n`);
  }

  /**
   * Loads a bundle; with `expectedHash`, refuses one trained on another feature schema (names, order or parameters),
   * since its models would read every feature at the wrong place or scale.
   */
  static async load(dir: string, expectedHash?: string): Promise<ModelBundle> {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    } catch (err) {
      throw new Error(
        `cannot read ${join(dir, 'manifest.json')}: ${(err as Error).message} ` +
          `— is ${dir} a bundle written by \`vigil train\`?`,
      );
    }
    const parsed = manifestSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(
        (
          `${join(dir, 'manifest.json')} is not a vigil bundle manifest: ` +
          `${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`
        ).trim(),
      );
    }
    const manifest = parsed.data;
    if (expectedHash !== undefined && manifest.features.hash !== expectedHash) {
      throw new Error(
        `bundle ${manifest.bundle_id} was trained on feature schema ${manifest.features.hash}, ` +
          `but this vigil computes ${expectedHash} (features, their order or parameters differ): ` +
          `retrain it with \`vigil train\` on this version, or run the version that wrote it`,
      );
    }
    const forest = IsolationForest.fromJSON(JSON.parse(await readFile(join(dir, manifest.files.iforest), 'utf8')));
    const autoencoder = await Autoencoder.load(join(dir, manifest.files.autoencoder));
    return new ModelBundle(manifest, RobustScaler.fromJSON(manifest.scaler), forest, autoencoder, {
      iforest: ScoreCalibrator.fromJSON(manifest.calibration.iforest),
      autoencoder: ScoreCalibrator.fromJSON(manifest.calibration.autoencoder),
    });
  }
}
