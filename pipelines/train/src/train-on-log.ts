// A bundle from a gateway log of normal traffic, in one call: the log's feature rows (the detector's code, streamed),
// a seeded reservoir with one principal in five held out, then the models. What `vigil train` runs, and the benches.
import type { Adapter } from '@vigil/adapters';
import { trainBundle } from '@vigil/bundle';
import type { FeatureExtractor } from '@vigil/features';
import { type LogFeaturesResult, logFeatures } from './log-features.js';
import { TrainingSample } from './training-sample.js';

export interface TrainOnLogOptions {
  adapter: Adapter;
  input: string;
  boundMs: number;
  maxRows: number;
  seed: number;
  extractor?: FeatureExtractor;
  onProgress?: (read: number, total: number, rowsSeen: number) => void;
  /** Called once the log is read, before the models train. */
  onRead?: (read: LogFeaturesResult) => void;
  onStage?: (stage: string, detail?: string) => void;
}

export async function trainOnLog(o: TrainOnLogOptions): Promise<{ read: LogFeaturesResult } & Awaited<ReturnType<typeof trainBundle>>> {
  const sample = new TrainingSample({ maxRows: o.maxRows, holdoutShare: 0.2, seed: o.seed });
  const read = await logFeatures({
    adapter: o.adapter,
    input: o.input,
    boundMs: o.boundMs,
    ...(o.extractor ? { extractor: o.extractor } : {}),
    onRows: (rows) => sample.add(rows),
    ...(o.onProgress ? { onProgress: (done: number, total: number) => o.onProgress?.(done, total, sample.rowsSeen) } : {}),
  });
  o.onRead?.(read);
  const trained = await trainBundle(sample.finish(read.schema), { seed: o.seed, ...(o.onStage ? { onProgress: o.onStage } : {}) });
  return { read, ...trained };
}
