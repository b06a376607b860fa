// The offline decision path: the same fusion the live principal stage runs (withDecisions over its feature task),
// for a run of the detector's topology on the in-memory bus (@vigil/train's runLog: `vigil replay`, the quality and
// replay benches). The same bundle, policy and GeoIP as live give the live service's decision records (all but
// decided_at). Scores do not depend on how records are batched.
import type { ModelBundle } from '@vigil/bundle';
import type { StatefulTask } from '@vigil/connectors';
import type { Decision } from '@vigil/events';
import type { FeatureRecord, GeoLookup } from '@vigil/features';
import { DecisionPolicy, type PolicyConfig, policyConfigSchema } from '@vigil/policy';
import { withDecisions } from './fused-task.js';
import { BundleScorer } from './scorer.js';

export interface OfflineDecisionOptions {
  scorer: BundleScorer;
  policy: DecisionPolicy;
  geo?: GeoLookup;
  dryRun: boolean;
  /** Decisions to allow as well (every request decided: replay's counts and comparisons). */
  writeAllow: boolean;
  /** The feature schema the bundle reads (records of another are skipped, counted). */
  schema: string;
}

/** What an offline run fuses into its principal task; the shadow bundle's decisions go out when the scorer has one. */
export function offlineDecisions(
  o: OfflineDecisionOptions,
): (
  task: StatefulTask<FeatureRecord>,
  topics: { decisions: string; shadow: string },
) => StatefulTask<FeatureRecord | Decision> {
  return (task, topics) =>
    withDecisions(task, {
      scorer: o.scorer,
      policy: o.policy,
      ...(o.geo ? { geo: o.geo } : {}),
      schemaHash: () => o.schema,
      dryRun: o.dryRun,
      writeAllow: o.writeAllow,
      decisionsTopic: topics.decisions,
      ...(o.scorer.shadowId !== undefined ? { shadowTopic: topics.shadow } : {}),
    });
}

/** The usual set-up: one bundle, the given policy (default: the default policy), every request decided. */
export function bundleDecisions(o: {
  bundle: ModelBundle;
  geo: GeoLookup;
  policy?: PolicyConfig;
  dryRun: boolean;
}): ReturnType<typeof offlineDecisions> {
  return offlineDecisions({
    scorer: new BundleScorer(o.bundle),
    policy: new DecisionPolicy(o.policy ?? policyConfigSchema.parse({}), o.bundle.manifest.features.names),
    geo: o.geo,
    dryRun: o.dryRun,
    writeAllow: true,
    schema: o.bundle.manifest.features.hash,
  });
}
