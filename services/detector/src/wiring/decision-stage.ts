// Deciding: the bundle (and a shadow bundle, when set) and the policy's rules turn feature records into decision
// records; a watcher swaps in a new bundle written to the bundle's directory. The bundle loads before the detector
// reports ready, so a missing or mismatched bundle stops the start with its message. By default the decisions are
// made in the principal feature task itself (scoring.fused: @vigil/scoring's withDecisions, a side output in the
// task's checkpoint); with scoring.fused false, by a stage of its own that reads the features topic.
import { backendName, ModelBundle } from '@vigil/bundle';
import { deadLetterPoisonWriter, KafkaSink, KafkaSource, type StatefulTask } from '@vigil/connectors';
import type { Decision } from '@vigil/events';
import { FeatureExtractor, type FeatureRecord } from '@vigil/features';
import { DecisionPolicy } from '@vigil/policy';
import { ConfigError, logEvent } from '@vigil/runtime';
import { BundleScorer, BundleWatcher, createDecisionHandler, withDecisions } from '@vigil/scoring';
import { stageConsumer, type Wiring } from './context.js';

/** What decides: the scorer (its bundles swapped by the watcher), the policy, and the schema the bundle reads. */
export interface Decider {
  scorer: BundleScorer;
  policy: DecisionPolicy;
  watcher: BundleWatcher;
  schemaHash: string;
}

/** A decision stage of its own (scoring.fused: false), not yet running. */
export interface DecisionStage {
  source: KafkaSource;
  handler: ReturnType<typeof createDecisionHandler>;
  sinks: KafkaSink<Decision>[];
}

/** Loads the bundle(s) and the policy, starts the watcher; undefined without a bundle. */
export async function loadDecider(w: Wiring): Promise<Decider | undefined> {
  const { config, geo } = w;
  const sc = config.scoring;
  if (sc.bundle === undefined) return undefined;
  if (!config.features.enabled)
    throw new ConfigError(['scoring.bundle needs the feature stage: set features.enabled: true']);
  const { schema, names } = FeatureExtractor.standard(geo());
  const load = (dir: string) =>
    ModelBundle.load(dir, schema.hash).catch((err: unknown) => {
      throw new ConfigError([`scoring: ${(err as Error).message}`]);
    });
  const scorer = new BundleScorer(await load(sc.bundle));
  const policy = new DecisionPolicy(config.policy, names);
  if (policy.inactiveRules.length > 0)
    logEvent('warn', 'policy rules without their features are off', { rules: policy.inactiveRules.join(',') });
  if (sc.shadow_bundle !== undefined) scorer.setShadow(await load(sc.shadow_bundle));
  const watcher = new BundleWatcher(sc.bundle, schema.hash, scorer.activeId, {
    loaded: (b) => {
      const previous = scorer.activeId;
      scorer.swap(b);
      logEvent('info', 'bundle swapped', { from: previous, to: b.id });
    },
    failed: (err) =>
      logEvent('warn', 'new bundle refused; the active one keeps scoring', { error: err.message.slice(0, 300) }),
  });
  watcher.start(sc.watch_interval_ms);
  logEvent('info', 'decision stage started', {
    bundle: scorer.activeId,
    shadow: scorer.shadowId ?? 'none',
    dry_run: sc.dry_run,
    fused: sc.fused,
    autoencoder_backend: backendName(),
  });
  return { scorer, policy, watcher, schemaHash: schema.hash };
}

/** The principal task with the decisions fused in (scoring.fused). */
export function fusedDecisions(
  w: Wiring,
  d: Decider,
): (task: StatefulTask<FeatureRecord>) => StatefulTask<FeatureRecord | Decision> {
  const sc = w.config.scoring;
  return (task) =>
    withDecisions(task, {
      ...deciding(w, d),
      decisionsTopic: sc.topic,
      ...(sc.shadow_bundle !== undefined ? { shadowTopic: sc.shadow_topic } : {}),
    });
}

/** A decision stage of its own, reading the features topic in its own consumer group (scoring.fused: false). */
export function separateDecisionStage(w: Wiring, d: Decider): DecisionStage {
  const { config, kafka, onRetry, dlqSink } = w;
  const sc = config.scoring;
  const decisionSink = new KafkaSink<Decision>(kafka, { topic: sc.topic, onRetry: onRetry('kafka_decisions') });
  const shadowSink =
    sc.shadow_bundle === undefined
      ? undefined
      : new KafkaSink<Decision>(kafka, { topic: sc.shadow_topic, onRetry: onRetry('kafka_decisions') });
  const source = new KafkaSource(kafka, stageConsumer(w, 'decisions'), {
    poison: deadLetterPoisonWriter('decisions', dlqSink),
  });
  const handler = createDecisionHandler({
    ...deciding(w, d),
    decisions: decisionSink,
    ...(shadowSink ? { shadow: shadowSink } : {}),
  });
  return { source, handler, sinks: [decisionSink, ...(shadowSink ? [shadowSink] : [])] };
}

/** What deciding needs, fused or not. */
function deciding(w: Wiring, d: Decider) {
  const sc = w.config.scoring;
  return {
    scorer: d.scorer,
    policy: d.policy,
    geo: w.geo(),
    schemaHash: () => d.schemaHash,
    dryRun: sc.dry_run,
    writeAllow: sc.write_allow,
  };
}
