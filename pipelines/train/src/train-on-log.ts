// A bundle from a gateway log of normal traffic, in one call: the log's feature records (the detector's stages on the
// in-memory bus, streamed),
// a seeded reservoir with one principal in five held out, then the models. What `vigil train` runs, and the benches.
import type { Adapter } from '@vigil/adapters';
import { trainBundle } from '@vigil/bundle';
import type { FeatureExtractor } from '@vigil/features';
import {
  applyLabels,
  type LabelledVector,
  type PolicyConfig,
  policyConfigSchema,
  RuleThresholdFitter,
} from '@vigil/policy';
import { type LabelledRequest, type LabelReport, type Labels, labelReport } from './labels.js';
import { type RunLogResult, runLog, standardExtractors } from './run-log.js';
import { TrainingSample } from './training-sample.js';

export interface TrainOnLogOptions {
  adapter: Adapter;
  input: string;
  boundMs: number;
  maxRows: number;
  seed: number;
  /** A new extractor for each feature stage's task (default: the standard families on the bundled GeoIP database). */
  extractor?: () => FeatureExtractor;
  /** The policy whose rule thresholds are fitted on the log (default: the default policy). */
  policy?: PolicyConfig;
  /** Target false-positive rates per principal-day of rules, by action (default DEFAULT_RULE_TARGETS). */
  ruleTargets?: Record<string, number>;
  /** Analyst labels (readLabels): labelled attacks leave the benign fit, false positives move rule thresholds. */
  labels?: Labels;
  onProgress?: (read: number, total: number, rowsSeen: number) => void;
  /** Called once the log is read, before the models train. */
  onRead?: (read: RunLogResult) => void;
  onStage?: (stage: string, detail?: string) => void;
}

export async function trainOnLog(
  o: TrainOnLogOptions,
): Promise<{ read: RunLogResult; labels?: LabelReport } & Awaited<ReturnType<typeof trainBundle>>> {
  const sample = new TrainingSample({ maxRows: o.maxRows, holdoutShare: 0.2, seed: o.seed });
  const newExtractor = o.extractor ?? standardExtractors();
  const extractor = newExtractor();
  const policy = o.policy ?? policyConfigSchema.parse({});
  // Every request of the log (not only the sampled ones) feeds the rules' fit: tail rates need every principal-day.
  const rules = new RuleThresholdFitter(policy.rules, extractor.names, o.ruleTargets);
  const labelled: LabelledRequest[] = [];
  const read = await runLog({
    adapter: o.adapter,
    input: o.input,
    boundMs: o.boundMs,
    extractor: newExtractor,
    onFeatures: (records) => {
      for (const f of records) {
        const verdict = o.labels?.byRequest.get(f.request_id);
        if (verdict !== undefined) labelled.push({ record: f, vector: Float64Array.from(f.v), verdict });
        // A labelled attack is not benign traffic: not a model's training row, and its principal-day not a rule's.
        if (verdict === 'true_positive') {
          rules.exclude(f.principal, f.ts);
          continue;
        }
        sample.addVector(f.v, f.principal, f.ts);
        rules.add(f.v, f.principal, f.ts, f.ids?.client_id);
      }
    },
    ...(o.onProgress
      ? { onProgress: (done: number, total: number) => o.onProgress?.(done, total, sample.rowsSeen) }
      : {}),
  });
  o.onRead?.(read);
  const asVectors: LabelledVector[] = labelled.map((l) => ({
    vector: l.vector,
    verdict: l.verdict,
    ...(l.record.ids?.client_id !== undefined ? { cohort: l.record.ids.client_id } : {}),
  }));
  const ruleThresholds = applyLabels(rules.finish(), asVectors, policy.rules, extractor.names);
  const trained = await trainBundle(sample.finish(read.schema), {
    seed: o.seed,
    ruleThresholds,
    ...(o.onStage ? { onProgress: o.onStage } : {}),
  });
  return { read, ...trained, ...(o.labels ? { labels: labelReport(trained.bundle, policy, labelled, o.labels) } : {}) };
}
