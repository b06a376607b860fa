// The decision stage: feature records → the bundle (and a shadow bundle, when set) → decision records, with the
// policy's rules; a watcher swaps in a new bundle written to the bundle's directory. The bundle loads before the
// detector reports ready, so a missing or mismatched bundle stops the start with its message.
import { backendName, ModelBundle } from '@vigil/bundle';
import { deadLetterPoisonWriter, ensureTopics, KafkaSink, KafkaSource } from '@vigil/connectors';
import type { Decision } from '@vigil/events';
import { FeatureExtractor } from '@vigil/features';
import { DecisionPolicy } from '@vigil/policy';
import { ConfigError, logEvent } from '@vigil/runtime';
import { BundleScorer, BundleWatcher, createDecisionHandler } from '@vigil/scoring';
import { retried, type Wiring } from './context.js';

export interface DecisionStage {
  source: KafkaSource;
  handler: ReturnType<typeof createDecisionHandler>;
  sinks: KafkaSink<Decision>[];
  watcher: BundleWatcher;
}

/** Loads the bundle(s) and builds the stage (not yet running); undefined when no bundle is configured. */
export async function decisionStage(w: Wiring): Promise<DecisionStage | undefined> {
  const { config, kafka, onRetry, dlqSink, geo } = w;
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
  await retried(w, 'kafka_admin', () =>
    ensureTopics(kafka, [
      { topic: sc.topic, partitions: config.topics.partitions },
      { topic: sc.shadow_topic, partitions: config.topics.partitions },
    ]),
  );
  const decisionSink = new KafkaSink<Decision>(kafka, { topic: sc.topic, onRetry: onRetry('kafka_decisions') });
  const shadowSink =
    sc.shadow_bundle === undefined
      ? undefined
      : new KafkaSink<Decision>(kafka, { topic: sc.shadow_topic, onRetry: onRetry('kafka_decisions') });
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
  const source = new KafkaSource(
    kafka,
    { ...config.consumer, group_id: `${config.consumer.group_id}.decisions`, topics: [config.features.topic] },
    { poison: deadLetterPoisonWriter('decisions', dlqSink) },
  );
  const handler = createDecisionHandler({
    scorer,
    policy,
    geo: geo(),
    schemaHash: () => schema.hash,
    decisions: decisionSink,
    ...(shadowSink ? { shadow: shadowSink } : {}),
    dryRun: sc.dry_run,
    writeAllow: sc.write_allow,
  });
  logEvent('info', 'decision stage started', {
    bundle: scorer.activeId,
    shadow: scorer.shadowId ?? 'none',
    dry_run: sc.dry_run,
    autoencoder_backend: backendName(),
  });
  return { source, handler, sinks: [decisionSink, ...(shadowSink ? [shadowSink] : [])], watcher };
}
