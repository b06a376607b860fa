// Training a bundle from feature vectors of normal traffic: the scaler, the forest and the autoencoder learn from the
// fit rows; the held-out rows (whole principals the models never saw) calibrate each model and set the thresholds per
// action for target false-positive rates per principal-day, and report what those thresholds give per event and per
// principal-day on that held-out traffic.
import { randomUUID } from 'node:crypto';
import { Autoencoder, type AutoencoderOptions, backendName } from '@vigil/autoencoder';
import { groupThreshold, RobustScaler, ScoreCalibrator } from '@vigil/calibration';
import { IsolationForest } from '@vigil/isolation-forest';
import { clipForAutoencoder, combine, ENSEMBLE_DESCRIPTION, ModelBundle } from './bundle.js';
import { ACTIONS, type Action, type Manifest } from './manifest.js';

export interface TrainingSet {
  data: Float64Array;
  rows: number;
  cols: number;
  /** Principal-day of each row, e.g. "sub:alice|2026-11-02": the unit of the per-principal-day rates. */
  groups: string[];
  /** 1 for rows held out for calibration and thresholds. */
  holdout: Uint8Array;
  fromTs: number;
  toTs: number;
  features: { names: string[]; hash: string; schema: unknown };
}

export interface TrainOptions {
  seed: number;
  trees: number;
  sampleSize: number;
  autoencoder: Partial<AutoencoderOptions>;
  /** Target false-positive rates per principal-day. */
  targets: Record<Action, number>;
  /**
   * The autoencoder trains on at most this many of the fit rows (an even spread of them), to keep training in minutes.
   */
  autoencoderMaxRows: number;
  onProgress?: (stage: string, detail?: string) => void;
  /**
   * The policy's rule thresholds fitted on the same traffic, carried in the manifest (see Manifest.rule_thresholds).
   */
  ruleThresholds?: Manifest['rule_thresholds'];
}

// False-positive targets per principal-day on held-out principals. The alert target is a quarter of a percent: a
// deployment's budget is about 5 false alerts per 1,000 principals a day in all, and the policy's rules (payment
// anomalies, impossible travel) and the gap between the training population and the next one need the rest — at
// 0.5 % the models alone spent the whole budget (npm run bench:quality: 6.1 per 1,000).
export const DEFAULT_TARGETS: Record<Action, number> = { alert: 0.0025, step_up: 0.001, revoke: 0.0005 };

export interface TrainingSummary {
  bundleId: string;
  rows: number;
  fitRows: number;
  holdoutRows: number;
  holdoutPrincipalDays: number;
  features: number;
  backend: string;
  autoencoderEpochs: number;
  thresholds: Manifest['thresholds'];
}

function pick(x: TrainingSet, want: 0 | 1): { data: Float64Array; rows: number; groups: string[] } {
  let rows = 0;
  for (let i = 0; i < x.rows; i++) if (x.holdout[i] === want) rows++;
  const data = new Float64Array(rows * x.cols);
  const groups: string[] = [];
  let r = 0;
  for (let i = 0; i < x.rows; i++) {
    if (x.holdout[i] !== want) continue;
    data.set(x.data.subarray(i * x.cols, (i + 1) * x.cols), r * x.cols);
    groups.push(x.groups[i] as string);
    r++;
  }
  return { data, rows, groups };
}

export async function trainBundle(
  x: TrainingSet,
  options: Partial<TrainOptions> = {},
): Promise<{ bundle: ModelBundle; summary: TrainingSummary }> {
  const o: TrainOptions = {
    seed: 0,
    trees: 100,
    sampleSize: 256,
    autoencoder: {},
    targets: DEFAULT_TARGETS,
    autoencoderMaxRows: 200_000,
    ...options,
  };
  const fit = pick(x, 0);
  const held = pick(x, 1);
  if (fit.rows < 100 || held.rows < 100)
    throw new Error(`training needs at least 100 fit rows and 100 held-out rows, got ${fit.rows} and ${held.rows}`);

  o.onProgress?.('scaler');
  const scaler = RobustScaler.fit(fit.data, fit.rows, x.cols);
  const fitScaled = scaler.transform(fit.data, fit.rows, x.cols);
  const heldScaled = scaler.transform(held.data, held.rows, x.cols);

  o.onProgress?.('isolation forest', `${o.trees} trees, ψ = ${o.sampleSize}`);
  const forest = new IsolationForest({ trees: o.trees, sampleSize: o.sampleSize, seed: o.seed }).fit({
    data: fitScaled,
    rows: fit.rows,
    cols: x.cols,
  });

  // The sample is in random order (a reservoir), so every k-th row is an even spread.
  const stride = Math.max(1, Math.ceil(fit.rows / o.autoencoderMaxRows));
  const aeRows = Math.ceil(fit.rows / stride);
  const aeData = new Float64Array(aeRows * x.cols);
  for (let i = 0; i < aeRows; i++)
    aeData.set(fitScaled.subarray(i * stride * x.cols, (i * stride + 1) * x.cols), i * x.cols);
  const autoencoder = new Autoencoder({ seed: o.seed, epochs: 40, ...o.autoencoder });
  const report = await autoencoder.fit(
    { data: clipForAutoencoder(aeData), rows: aeRows, cols: x.cols },
    (epoch, train, validation) =>
      o.onProgress?.(
        'autoencoder',
        `epoch ${epoch + 1}: loss ${train.toFixed(5)}, validation ${validation.toFixed(5)}`,
      ),
  );

  o.onProgress?.('calibration', `${held.rows} held-out rows`);
  const heldIf = forest.score({ data: heldScaled, rows: held.rows, cols: x.cols });
  const heldAe = autoencoder.score({ data: clipForAutoencoder(heldScaled), rows: held.rows, cols: x.cols });
  const calIf = ScoreCalibrator.fit(heldIf);
  const calAe = ScoreCalibrator.fit(heldAe);
  const combined = Float64Array.from(heldIf, (s, i) =>
    combine(calIf.exceedance(s), calAe.exceedance(heldAe[i] as number)),
  );

  const principalDays = new Set(held.groups).size;
  const thresholds = Object.fromEntries(
    ACTIONS.map((a) => {
      const score = groupThreshold(combined, held.groups, o.targets[a]);
      const over = new Set<string>();
      let events = 0;
      for (let i = 0; i < held.rows; i++) {
        if ((combined[i] as number) > score) {
          events++;
          over.add(held.groups[i] as string);
        }
      }
      return [
        a,
        {
          score,
          target_principal_day_fpr: o.targets[a],
          validation_event_fpr: events / held.rows,
          validation_principal_day_fpr: over.size / principalDays,
          resolved: principalDays * o.targets[a] >= 1,
        },
      ];
    }),
  ) as Manifest['thresholds'];

  const bundleId = `vigil-${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;
  const manifest: Manifest = {
    format: 'vigil-bundle',
    version: 1,
    bundle_id: bundleId,
    created_at: new Date().toISOString(),
    features: x.features,
    scaler: scaler.toJSON(),
    calibration: { iforest: calIf.toJSON(), autoencoder: calAe.toJSON() },
    ensemble: { rule: 'min-exceedance-bonferroni', description: ENSEMBLE_DESCRIPTION },
    thresholds,
    training: {
      rows: x.rows,
      fit_rows: fit.rows,
      holdout_rows: held.rows,
      holdout_principal_days: principalDays,
      from_ts: x.fromTs,
      to_ts: x.toTs,
      seed: o.seed,
      autoencoder_backend: backendName(),
      autoencoder_epochs: report.epochs,
      autoencoder_rows: aeRows,
    },
    files: { iforest: 'iforest.json', autoencoder: 'autoencoder' },
    ...(o.ruleThresholds ? { rule_thresholds: o.ruleThresholds } : {}),
  };
  const bundle = new ModelBundle(manifest, scaler, forest, autoencoder, { iforest: calIf, autoencoder: calAe });
  return {
    bundle,
    summary: {
      bundleId,
      rows: x.rows,
      fitRows: fit.rows,
      holdoutRows: held.rows,
      holdoutPrincipalDays: principalDays,
      features: x.cols,
      backend: backendName(),
      autoencoderEpochs: report.epochs,
      thresholds,
    },
  };
}
