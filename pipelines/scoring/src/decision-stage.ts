// The decision stage: feature records in (from the principal feature stage), scored in micro-batches by the active
// bundle (and a shadow one), turned into actions by the decision policy (route-class thresholds, rules, entity),
// decision records out — the brief's contract — for every request whose action is not 'allow' (and 'allow' too when
// asked). Shadow verdicts go to their own sink, marked dry-run: recorded, never acted on. A batch is acknowledged
// when its decisions are durable. Records of another feature schema than the active bundle's are skipped and
// counted, never scored at the wrong positions.
import { decodeOrPoison, type Sink, type SinkRecord, type SourceBatch, type SourceRecord } from '@vigil/connectors';
import type { Decision, Principal } from '@vigil/events';
import { decodeFeatureRecord, type FeatureRecord, type GeoLookup } from '@vigil/features';
import type { DecisionPolicy, RequestContext, Thresholds } from '@vigil/policy';
import { pipelineCounters } from '@vigil/telemetry';
import type { BundleScorer, Verdict } from './scorer.js';

export interface DecisionStageOptions {
  scorer: BundleScorer;
  policy: DecisionPolicy;
  /** Places client IPs for geo-fences; without it geo-fences never fire. */
  geo?: GeoLookup;
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

const NO_CONTEXT: RequestContext = { route: '/', method: 'GET', status: 0 };

/** Scores feature records and applies the policy: the decision records, in input order (shadow ones alongside). */
export function decideRecords(
  o: Pick<DecisionStageOptions, 'scorer' | 'policy' | 'geo' | 'dryRun'>,
  features: FeatureRecord[],
  decidedAt: number,
): { active: Decision; shadow?: Decision }[] {
  if (features.length === 0) return [];
  const cols = features[0]?.v.length ?? 0;
  const data = new Float64Array(features.length * cols);
  const contexts: RequestContext[] = [];
  const thresholds: (Thresholds | undefined)[] = [];
  features.forEach((f, i) => {
    data.set(f.v, i * cols);
    const ip = f.ids?.client_ip;
    const country = ip !== undefined ? o.geo?.lookup(ip)?.country : undefined;
    const ctx = { ...(f.ctx ?? NO_CONTEXT), ...(country ? { country } : {}) };
    contexts.push(ctx);
    thresholds.push(o.policy.thresholdsFor(ctx.route));
  });
  const scored = o.scorer.score({ data, rows: features.length, cols }, thresholds);
  return scored.map((s, i) => {
    const f = features[i] as FeatureRecord;
    const ctx = contexts[i] as RequestContext;
    const active = decision(o, f, ctx, s.active, o.dryRun, decidedAt);
    return s.shadow ? { active, shadow: decision(o, f, ctx, s.shadow, true, decidedAt) } : { active };
  });
}

function decision(
  o: Pick<DecisionStageOptions, 'policy'>,
  f: FeatureRecord,
  ctx: RequestContext,
  v: Verdict,
  dryRun: boolean,
  decidedAt: number,
): Decision {
  const principal: Principal = f.ids ?? { client_ip: '' };
  const d = o.policy.decide({
    v: f.v,
    ctx,
    ids: principal,
    model: { score: v.score, action: v.action, scores: v.scores, reasons: v.reasons },
    learned: v.rules,
  });
  return {
    ts: f.ts,
    decided_at: decidedAt,
    request_id: f.request_id,
    action: d.action,
    entity: d.entity,
    score: d.score,
    scores: d.scores,
    principal,
    reasons: d.reasons,
    bundle: v.bundle,
    dry_run: dryRun,
    context: {
      route: ctx.route,
      route_class: d.route_class,
      ...(d.tenant !== undefined ? { tenant: d.tenant } : {}),
      ...(ctx.country !== undefined ? { country: ctx.country } : {}),
    },
  };
}

/**
 * The decision records of feature records, keyed by principal: the active bundle's, and the shadow bundle's apart
 * ('allow' ones only when writeAllow). Records of another feature schema than the active bundle's are skipped and
 * counted, never scored at the wrong positions.
 */
export function decisionRecords(
  o: Pick<DecisionStageOptions, 'scorer' | 'policy' | 'geo' | 'dryRun' | 'writeAllow' | 'schemaHash'>,
  records: readonly FeatureRecord[],
  decidedAt: number,
  counters = pipelineCounters(),
): { active: SinkRecord<Decision>[]; shadow: SinkRecord<Decision>[] } {
  const features: FeatureRecord[] = [];
  for (const f of records) {
    if (f.schema === o.schemaHash()) features.push(f);
    else counters.skipped('decisions', 'schema_mismatch');
  }
  const active: SinkRecord<Decision>[] = [];
  const shadow: SinkRecord<Decision>[] = [];
  decideRecords(o, features, decidedAt).forEach((d, i) => {
    const key = (features[i] as FeatureRecord).principal;
    if (o.writeAllow || d.active.action !== 'allow') active.push({ key, value: d.active });
    if (d.shadow && (o.writeAllow || d.shadow.action !== 'allow')) shadow.push({ key, value: d.shadow });
  });
  return { active, shadow };
}

export function createDecisionHandler(o: DecisionStageOptions): (batch: SourceBatch) => Promise<void> {
  const counters = pipelineCounters();
  const now = o.now ?? Date.now;
  return async (batch) => {
    counters.recordsIn('decisions', batch.records.length);
    const features: FeatureRecord[] = [];
    const poison = (record: SourceRecord, detail: string) => batch.poison(record, detail);
    for (const r of batch.records) {
      const f = decodeOrPoison(r, decodeFeatureRecord, poison);
      if (f) features.push(f);
    }
    const { active: out, shadow } = decisionRecords(o, features, now(), counters);
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
