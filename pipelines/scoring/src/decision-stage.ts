// The decision stage: feature records in (from the principal feature stage), scored in micro-batches by the active
// bundle (and a shadow one), decision records out — the brief's contract — for every request whose action is not
// 'allow' (and 'allow' too when asked). Shadow verdicts go to their own sink, marked dry-run: recorded, never acted on.
// A batch is acknowledged when its decisions are durable. Records of another feature schema than the active bundle's
// are skipped and counted, never scored at the wrong positions.
import type { Sink, SinkRecord, SourceBatch } from '@vigil/connectors';
import type { Decision, Principal } from '@vigil/events';
import type { FeatureRecord } from '@vigil/features';
import { pipelineCounters } from '@vigil/telemetry';
import type { BundleScorer, Verdict } from './scorer.js';

export interface DecisionStageOptions {
  scorer: BundleScorer;
  /** The feature-schema hash the active bundle reads. */
  schemaHash: () => string;
  decisions: Sink<Decision>;
  shadow?: Sink<Decision>;
  /** Enforcement off: every decision says dry_run, and the revoker only records what it would have done. */
  dryRun: boolean;
  writeAllow: boolean;
  /** Wall clock for decided_at (the only wall-clock field of a decision). */
  now?: () => number;
}

function decision(f: FeatureRecord, v: Verdict, dryRun: boolean, decidedAt: number): Decision {
  const principal: Principal = f.ids ?? { client_ip: '' };
  return {
    ts: f.ts,
    decided_at: decidedAt,
    request_id: f.request_id,
    action: v.action,
    entity: 'principal',
    score: v.score,
    scores: v.scores,
    principal,
    reasons: v.reasons,
    bundle: v.bundle,
    dry_run: dryRun,
  };
}

export function createDecisionHandler(o: DecisionStageOptions): (batch: SourceBatch) => Promise<void> {
  const counters = pipelineCounters();
  const now = o.now ?? Date.now;
  return async (batch) => {
    counters.recordsIn('decisions', batch.records.length);
    const features: FeatureRecord[] = [];
    for (const r of batch.records) {
      const f = JSON.parse(r.value.toString('utf8')) as FeatureRecord;
      if (f.schema !== o.schemaHash()) {
        counters.skipped('decisions', 'schema_mismatch');
        continue;
      }
      features.push(f);
    }
    const out: SinkRecord<Decision>[] = [];
    const shadow: SinkRecord<Decision>[] = [];
    if (features.length > 0) {
      const cols = features[0]?.v.length ?? 0;
      const data = new Float64Array(features.length * cols);
      features.forEach((f, i) => {
        data.set(f.v, i * cols);
      });
      const scored = o.scorer.score({ data, rows: features.length, cols });
      const decidedAt = now();
      scored.forEach((s, i) => {
        const f = features[i] as FeatureRecord;
        if (o.writeAllow || s.active.action !== 'allow') out.push({ key: f.principal, value: decision(f, s.active, o.dryRun, decidedAt) });
        if (s.shadow && (o.writeAllow || s.shadow.action !== 'allow')) shadow.push({ key: f.principal, value: decision(f, s.shadow, true, decidedAt) });
      });
    }
    const writes = [o.decisions.write(out)];
    if (o.shadow) writes.push(o.shadow.write(shadow));
    Promise.all(writes).then(
      () => {
        counters.recordsOut('decisions', out.length);
        batch.ack();
      },
      (err: unknown) => batch.ack(err instanceof Error ? err : new Error(String(err))),
    );
  };
}
