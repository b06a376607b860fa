// The two feature stages, each in its own consumer group, checkpointed by KafkaStatefulProcessor (at least once by
// default, for the enforcement loop's latency; exactly once when features.guarantee says so):
// the entity stage reads events keyed by IP / username / tenant and writes each event's entity parts back onto the
// principal-keyed topic; the principal stage computes the principal's own features and joins the parts on. One state
// budget for every partition's state in both stages: the process's memory is what it bounds.
import {
  deadLetterPoisonWriter,
  ensureTopics,
  KafkaSink,
  KafkaStatefulProcessor,
  type StatefulProcessorOptions,
  type StatefulTask,
} from '@vigil/connectors';
import type { AccessEvent, Decision } from '@vigil/events';
import {
  EntityFeatureTask,
  type EntityPart,
  FeatureExtractor,
  type FeatureRecord,
  PrincipalFeatureTask,
  StateBudget,
} from '@vigil/features';
import { logEvent } from '@vigil/runtime';
import { observeStateBudget, type pipelineCounters } from '@vigil/telemetry';
import { retried, type Wiring } from './context.js';

export interface FeatureStages {
  stages: KafkaStatefulProcessor<unknown>[];
  /** Where ingest writes events keyed by entity (IP, username, tenant) for the entity stage. */
  entitiesSink: KafkaSink<AccessEvent>;
}

type StageOptions<T> = Omit<
  StatefulProcessorOptions<T>,
  'onRetry' | 'onCheckpoint' | 'onRestore' | 'onSlow' | 'commitIntervalMs' | 'guarantee' | 'poison'
>;

/**
 * Creates the stages' topics and the stages (not yet running); `packPartitions`: each internal topic's partitions;
 * `fuse`: what wraps each principal task (the decisions fused in, wiring/decision-stage.ts).
 */
export async function featureStages(
  w: Wiring,
  counters: ReturnType<typeof pipelineCounters>,
  packPartitions: Map<string, number>,
  fuse?: (task: StatefulTask<FeatureRecord>) => StatefulTask<FeatureRecord | Decision>,
): Promise<FeatureStages> {
  const { config, kafka, onRetry, dlqSink, geo } = w;
  const f = config.features;
  const budget = new StateBudget(f.state_budget_mb * 2 ** 20);
  observeStateBudget(() => ({ used: budget.used, limit: budget.limitBytes, evicted: budget.evicted }));
  const group = config.consumer.group_id;
  const partitions = config.topics.partitions;
  const changelog = f.changelog_topic ?? `${group}.features-changelog`;
  const entityChangelog = `${group}.entities-changelog`;
  await retried(w, 'kafka_admin', () =>
    ensureTopics(kafka, [
      { topic: f.topic, partitions },
      { topic: changelog, partitions, compacted: true },
      { topic: entityChangelog, partitions, compacted: true },
    ]),
  );
  const entitiesSink = new KafkaSink<AccessEvent>(kafka, {
    topic: config.topics.entities,
    onRetry: onRetry('kafka_entities'),
    packPartitions: packPartitions.get(config.topics.entities),
  });
  const stage = <T>(name: string, options: StageOptions<T>) =>
    new KafkaStatefulProcessor<T>(kafka, {
      ...options,
      commitIntervalMs: f.commit_interval_ms,
      guarantee: f.guarantee,
      onRetry: onRetry(`kafka_${name}`),
      poison: deadLetterPoisonWriter(name, dlqSink),
      onCheckpoint: () => counters.checkpoints(name),
      onRestore: ({ partition, records, ms }) => {
        counters.restored(name, records);
        logEvent('info', 'feature state restored', { stage: name, partition, records, ms });
      },
      onSlow: ({ partition, step, ms }) =>
        logEvent('warn', 'feature stage waiting', { stage: name, partition, step, ms }),
    }) as KafkaStatefulProcessor<unknown>;
  const extractor = () => FeatureExtractor.standard(geo(), { budget });
  const taskOptions = { idleRelease: f.idle_release };
  const stages = [
    stage<EntityPart>('entity_features', {
      consumer: { ...config.consumer, group_id: `${group}.entities`, topics: [config.topics.entities] },
      changelogTopic: entityChangelog,
      outputTopic: config.topics.keyed,
      packPartitions: packPartitions.get(config.topics.keyed),
      makeTask: () => new EntityFeatureTask(extractor(), f.reorder_bound_ms, taskOptions),
    }),
    stage<FeatureRecord | Decision>('features', {
      consumer: { ...config.consumer, group_id: `${group}.features`, topics: [config.topics.keyed] },
      changelogTopic: changelog,
      outputTopic: f.topic,
      // The fused decisions (wiring/decision-stage.ts) write these, in the same transactions.
      sideOutputTopics: fuse ? [config.scoring.topic, config.scoring.shadow_topic] : [],
      makeTask: () => {
        const task = new PrincipalFeatureTask(extractor(), f.reorder_bound_ms, taskOptions);
        return fuse ? fuse(task) : task;
      },
    }),
  ];
  return { stages, entitiesSink };
}
