// A dense autoencoder in TensorFlow.js: it learns to reconstruct normal feature vectors through a narrow middle layer,
// so a vector unlike the training data reconstructs badly. Score = mean squared reconstruction error of a row; the
// per-feature errors are kept for explanations.
//
// - Layers: d → ⌈d/2⌉ → ⌈d/4⌉ → ⌈d/2⌉ → d by default (ELU inside, linear output), weights
//   initialised from the seed.
// - Training: a seeded split holds out `validationSplit` of the rows; each epoch visits the training rows in a seeded
//   order; training stops when the validation loss has not improved for `patience` epochs and keeps the best weights.
//   The same data and seed give the same model on a given backend.
// - Input is expected scaled (vigil's robust scaler: median 0, spread 1). Training data must be finite; when scoring,
//   a NaN feature is replaced by 0 — the training median after scaling — so a missing value neither raises nor
//   hides the error.
// - Scoring runs in micro-batches (one predict call per row costs tens of µs; a batch of 1,024 costs well under a µs
//   a row) and returns scores in input order.
// - Save/load go through tf.io.withSaveHandler / tf.io.fromMemory: `model.json` (topology + weight manifest) and
//   `weights.bin`, written and read with node:fs, so no tfjs-node is needed.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { useBackend } from './backend.js';

export interface Matrix {
  data: Float64Array | Float32Array;
  rows: number;
  cols: number;
}

export interface AutoencoderOptions {
  /** Hidden layer widths, encoder then decoder; default [⌈d/2⌉, ⌈d/4⌉, ⌈d/2⌉]. */
  hidden?: number[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  validationSplit: number;
  patience: number;
  seed: number;
}

export const DEFAULT_AUTOENCODER_OPTIONS: AutoencoderOptions = {
  epochs: 100,
  batchSize: 256,
  learningRate: 0.001,
  validationSplit: 0.1,
  patience: 5,
  seed: 0,
};

export interface TrainingReport {
  epochs: number;
  bestEpoch: number;
  trainLoss: number[];
  validationLoss: number[];
  backend: string;
}

export interface Reconstruction {
  /** Mean squared reconstruction error per row. */
  scores: Float64Array;
  /** Squared error per row and feature (row-major), for explanations. */
  featureErrors: Float32Array;
}

const SCORE_BATCH = 1024;

function toFloat32(x: Matrix, nanAsZero: boolean): Float32Array {
  const out = new Float32Array(x.rows * x.cols);
  for (let i = 0; i < out.length; i++) {
    const v = x.data[i] as number;
    out[i] = nanAsZero && Number.isNaN(v) ? 0 : v;
  }
  return out;
}

export class Autoencoder {
  readonly options: AutoencoderOptions;
  private model: tfl.LayersModel | undefined;
  private cols = 0;

  constructor(options: Partial<AutoencoderOptions> = {}) {
    this.options = { ...DEFAULT_AUTOENCODER_OPTIONS, ...options };
    const o = this.options;
    if (!(o.validationSplit > 0 && o.validationSplit < 1))
      throw new Error(`validationSplit must be in (0, 1), got ${o.validationSplit}`);
    if (!Number.isInteger(o.epochs) || o.epochs < 1)
      throw new Error(`epochs must be a positive integer, got ${o.epochs}`);
  }

  get fitted(): boolean {
    return this.model !== undefined;
  }

  private build(d: number): tfl.LayersModel {
    const hidden = this.options.hidden ?? [
      Math.max(2, Math.ceil(d / 2)),
      Math.max(2, Math.ceil(d / 4)),
      Math.max(2, Math.ceil(d / 2)),
    ];
    const model = tfl.sequential();
    hidden.forEach((units, i) => {
      model.add(
        tfl.layers.dense({
          units,
          activation: 'elu',
          kernelInitializer: tfl.initializers.glorotUniform({ seed: this.options.seed * 1000 + i }),
          ...(i === 0 ? { inputShape: [d] } : {}),
        }),
      );
    });
    model.add(
      tfl.layers.dense({
        units: d,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: this.options.seed * 1000 + hidden.length }),
      }),
    );
    model.compile({ optimizer: tf.train.adam(this.options.learningRate), loss: 'meanSquaredError' });
    return model;
  }

  /** Trains on the rows (not modified). */
  async fit(
    x: Matrix,
    onEpoch?: (epoch: number, trainLoss: number, validationLoss: number) => void,
  ): Promise<TrainingReport> {
    await useBackend();
    if (x.rows < 10) throw new Error(`an autoencoder needs at least 10 training rows, got ${x.rows}`);
    for (let i = 0; i < x.data.length; i++) {
      if (!Number.isFinite(x.data[i] as number))
        throw new Error(
          `training row ${Math.floor(i / x.cols)}, feature ${i % x.cols} is ${x.data[i]}: training data must be finite`,
        );
    }
    const o = this.options;
    const rng = xoroshiro128plus(o.seed);
    const order = Int32Array.from({ length: x.rows }, (_, i) => i);
    shuffle(order, rng);
    const holdOut = Math.max(1, Math.round(x.rows * o.validationSplit));
    const data = toFloat32(x, false);
    const gather = (idx: Int32Array) => {
      const out = new Float32Array(idx.length * x.cols);
      for (let i = 0; i < idx.length; i++)
        out.set(data.subarray((idx[i] as number) * x.cols, ((idx[i] as number) + 1) * x.cols), i * x.cols);
      return tf.tensor2d(out, [idx.length, x.cols]);
    };
    const validation = gather(order.subarray(0, holdOut));
    const trainIdx = order.slice(holdOut);

    this.model?.dispose();
    const model = this.build(x.cols);
    this.cols = x.cols;
    const report: TrainingReport = {
      epochs: 0,
      bestEpoch: 0,
      trainLoss: [],
      validationLoss: [],
      backend: tf.getBackend(),
    };
    let best = Number.POSITIVE_INFINITY;
    let bestWeights: tf.Tensor[] | undefined;
    let waited = 0;
    try {
      for (let epoch = 0; epoch < o.epochs; epoch++) {
        shuffle(trainIdx, rng);
        const train = gather(trainIdx);
        const h = await model.fit(train, train, { epochs: 1, batchSize: o.batchSize, shuffle: false, verbose: 0 });
        train.dispose();
        const trainLoss = Number(h.history.loss?.[0]);
        const val = tf.tidy(() => tf.losses.meanSquaredError(validation, model.predict(validation) as tf.Tensor));
        const validationLoss = (await val.data())[0] as number;
        val.dispose();
        report.trainLoss.push(trainLoss);
        report.validationLoss.push(validationLoss);
        report.epochs = epoch + 1;
        onEpoch?.(epoch, trainLoss, validationLoss);
        if (validationLoss < best - 1e-7) {
          best = validationLoss;
          report.bestEpoch = epoch + 1;
          for (const w of bestWeights ?? []) w.dispose();
          bestWeights = model.getWeights().map((w) => w.clone());
          waited = 0;
        } else if (++waited >= o.patience) {
          break;
        }
      }
      if (bestWeights) model.setWeights(bestWeights);
    } finally {
      for (const w of bestWeights ?? []) w.dispose();
      validation.dispose();
    }
    this.model = model;
    return report;
  }

  private fittedModel(): tfl.LayersModel {
    if (!this.model) throw new Error('the autoencoder is not fitted: call fit() or load a saved model first');
    return this.model;
  }

  /** Reconstruction errors, in micro-batches of `batchSize` rows. */
  reconstruct(x: Matrix, batchSize = SCORE_BATCH): Reconstruction {
    const model = this.fittedModel();
    if (x.rows > 0 && x.cols !== this.cols)
      throw new Error(`rows have ${x.cols} features, the autoencoder was trained on ${this.cols}`);
    const data = toFloat32(x, true);
    const scores = new Float64Array(x.rows);
    const featureErrors = new Float32Array(x.rows * x.cols);
    for (let start = 0; start < x.rows; start += batchSize) {
      const n = Math.min(batchSize, x.rows - start);
      const input = data.subarray(start * x.cols, (start + n) * x.cols);
      // The tensor leaves tidy() and is read outside it: tidy walks whatever its callback returns looking for
      // tensors, and a returned Float32Array is walked element by element (a tenth of replay's time, measured).
      const predicted = tf.tidy(() => model.predict(tf.tensor2d(input, [n, x.cols])) as tf.Tensor);
      const output = predicted.dataSync() as Float32Array;
      predicted.dispose();
      for (let r = 0; r < n; r++) {
        let sum = 0;
        for (let c = 0; c < x.cols; c++) {
          const i = r * x.cols + c;
          const e = ((output[i] as number) - (input[i] as number)) ** 2;
          featureErrors[start * x.cols + i] = e;
          sum += e;
        }
        scores[start + r] = sum / x.cols;
      }
    }
    return { scores, featureErrors };
  }

  score(x: Matrix, batchSize = SCORE_BATCH): Float64Array {
    return this.reconstruct(x, batchSize).scores;
  }

  /** Writes model.json and weights.bin to dir (created if needed). */
  async save(dir: string): Promise<void> {
    const model = this.fittedModel();
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    if (!artifacts?.weightData || !artifacts.weightSpecs) throw new Error('TensorFlow.js returned no weights to save');
    const weights = Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
    await mkdir(dir, { recursive: true });
    const json = {
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
      convertedBy: null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      vigil: { options: this.options, cols: this.cols },
    };
    await writeFile(join(dir, 'model.json'), `${JSON.stringify(json)}\n`);
    await writeFile(join(dir, 'weights.bin'), weights);
  }

  static async load(dir: string): Promise<Autoencoder> {
    await useBackend();
    let json: {
      modelTopology: object;
      weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
      vigil?: { options: AutoencoderOptions; cols: number };
    };
    try {
      json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    } catch (err) {
      throw new Error(`cannot read the autoencoder's model.json in ${dir}: ${(err as Error).message}`);
    }
    if (!json.vigil || !Array.isArray(json.weightsManifest))
      throw new Error(`${join(dir, 'model.json')} is not a vigil autoencoder`);
    const weights = await readFile(join(dir, 'weights.bin'));
    const model = await tfl.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((m) => m.weights),
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      }),
    );
    const ae = new Autoencoder(json.vigil.options);
    ae.model = model;
    ae.cols = json.vigil.cols;
    return ae;
  }

  dispose(): void {
    this.model?.dispose();
    this.model = undefined;
  }
}

function shuffle(a: Int32Array, rng: ReturnType<typeof xoroshiro128plus>) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    const t = a[i] as number;
    a[i] = a[j] as number;
    a[j] = t;
  }
}
