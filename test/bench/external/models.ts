// vigil's two models with the settings vigil trains its bundle with (models/bundle/src/train.ts): a robust scaler
// fit on the training rows; an isolation forest of 100 trees, ψ = 256, on the scaled rows; an autoencoder with the
// package defaults and at most 40 epochs (layers d → ⌈d/2⌉ → ⌈d/4⌉ → ⌈d/2⌉ → d, batch 256, learning
// rate 0.001, early stopping on a 10 % validation split, patience 5) on the scaled rows clipped to ±AUTOENCODER_CLIP.
// The prepared inputs are exported so that the scikit-learn peer gets exactly the rows vigil's models get.
import { Autoencoder, backendName } from '@vigil/autoencoder';
import { AUTOENCODER_CLIP } from '@vigil/bundle';
import { RobustScaler, ScoreCalibrator } from '@vigil/calibration';
import { IsolationForest } from '@vigil/isolation-forest';

export interface Matrix {
  data: Float64Array;
  rows: number;
  cols: number;
}

/** What a model trains on and what it scores. */
export interface ModelInput {
  train: Matrix;
  test: Matrix;
}

/** The rows of a matrix for which `keep` is true, in order. */
export function rowsOf(x: Matrix, keep: (i: number) => boolean): Matrix {
  let rows = 0;
  for (let i = 0; i < x.rows; i++) if (keep(i)) rows++;
  const data = new Float64Array(rows * x.cols);
  let r = 0;
  for (let i = 0; i < x.rows; i++) {
    if (!keep(i)) continue;
    data.set(x.data.subarray(i * x.cols, (i + 1) * x.cols), r * x.cols);
    r++;
  }
  return { data, rows, cols: x.cols };
}

/** Both matrices scaled by vigil's robust scaler fit on the training rows: the forest's input. */
export function forestInput(train: Matrix, test: Matrix): ModelInput {
  const scaler = RobustScaler.fit(train.data, train.rows, train.cols);
  return {
    train: { data: scaler.transform(train.data, train.rows, train.cols), rows: train.rows, cols: train.cols },
    test: { data: scaler.transform(test.data, test.rows, test.cols), rows: test.rows, cols: test.cols },
  };
}

/** The bundle's clipForAutoencoder (models/bundle/src/bundle.ts), which the package does not export. */
function clip(x: Matrix): Matrix {
  return {
    ...x,
    data: Float64Array.from(x.data, (v) =>
      Number.isNaN(v) ? v : Math.max(-AUTOENCODER_CLIP, Math.min(AUTOENCODER_CLIP, v)),
    ),
  };
}

/** Scaled, then clipped: the autoencoder's input. */
export function autoencoderInput(train: Matrix, test: Matrix): ModelInput {
  const s = forestInput(train, test);
  return { train: clip(s.train), test: clip(s.test) };
}

export function vigilIsolationForest(input: ModelInput, seed: number): Float64Array {
  return new IsolationForest({ trees: 100, sampleSize: 256, seed }).fit(input.train).score(input.test);
}

export async function vigilAutoencoder(
  input: ModelInput,
  seed: number,
): Promise<{ scores: Float64Array; epochs: number; backend: string }> {
  const ae = new Autoencoder({ seed, epochs: 40 });
  try {
    const report = await ae.fit(input.train);
    return { scores: ae.score(input.test), epochs: report.epochs, backend: backendName() };
  } finally {
    ae.dispose();
  }
}

/**
 * Scores mapped through vigil's ScoreCalibrator (the bundle's per-model calibration: 1 − P(normal score > x), an
 * empirical table with a generalised-Pareto tail) fit on `reference` scores of normal rows, so that one threshold
 * means the same false-positive rate for every model it is fit for.
 */
export function calibrated(scores: Float64Array, reference: Float64Array): Float64Array {
  const calibrator = ScoreCalibrator.fit(reference);
  return Float64Array.from(scores, (s) => calibrator.calibrate(s));
}
