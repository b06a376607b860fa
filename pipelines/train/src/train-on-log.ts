// A bundle from a gateway log of normal traffic, in one call: the log's feature rows (the detector's code, streamed),
// a seeded reservoir with one principal in five held out, then the models. What `vigil train` runs, and the benches.
import type { Adapter } from '@vigil/adapters';
import { trainBundle } from '@vigil/bundle';
import { principalKey } from '@vigil/events';
import { FeatureExtractor, MmdbGeoLookup } from '@vigil/features';
import { type PolicyConfig, policyConfigSchema, RuleThresholdFitter } from '@vigil/policy';
import { type LogFeaturesResult, logFeatures } from './log-features.js';
import { TrainingSample } from './training-sample.js';

export interface TrainOnLogOptions {
  adapter: Adapter;
  input: string;
  boundMs: number;
  maxRows: number;
  seed: number;
  extractor?: FeatureExtractor;
  /** The policy whose rule thresholds are fitted on the log (default: the default policy). */
  policy?: PolicyConfig;
  /** Target false-positive rates per principal-day of rules, by action (default DEFAULT_RULE_TARGETS). */
  ruleTargets?: Record<string, number>;
  onProgress?: (read: number, total: number, rowsSeen: number) => void;
  /** Called once the log is read, before the models train. */
  onRead?: (read: LogFeaturesResult) => void;
  onStage?: (stage: string, detail?: string) => void;
}

export async function trainOnLog(o: TrainOnLogOptions): Promise<{ read: LogFeaturesResult } & Awaited<ReturnType<typeof trainBundle>>> {
  const sample = new TrainingSample({ maxRows: o.maxRows, holdoutShare: 0.2, seed: o.seed });
  const extractor = o.extractor ?? FeatureExtractor.standard(MmdbGeoLookup.bundled());
  // Every request of the log (not only the sampled ones) feeds the rules' fit: tail rates need every principal-day.
  const rules = new RuleThresholdFitter((o.policy ?? policyConfigSchema.parse({})).rules, extractor.names, o.ruleTargets);
  const read = await logFeatures({
    adapter: o.adapter,
    input: o.input,
    boundMs: o.boundMs,
    extractor,
    onRows: (rows) => {
      sample.add(rows);
      for (const row of rows) rules.add(row.vector, principalKey(row.event), row.event.ts, row.event.principal.client_id);
    },
    ...(o.onProgress ? { onProgress: (done: number, total: number) => o.onProgress?.(done, total, sample.rowsSeen) } : {}),
  });
  o.onRead?.(read);
  const ruleThresholds = rules.finish();
  const trained = await trainBundle(sample.finish(read.schema), { seed: o.seed, ruleThresholds, ...(o.onStage ? { onProgress: o.onStage } : {}) });
  return { read, ...trained };
}
