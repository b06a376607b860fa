// The two feature stages, each in its own consumer group, checkpointed by KafkaStatefulProcessor (at least once by
// default, for the enforcement loop's latency; exactly once when features.guarantee says so):
// the entity stage reads events keyed by IP / username / tenant and writes each event's entity parts back onto the
// principal-keyed topic; the principal stage computes the principal's own features and joins the parts on. One state
// budget for every partition's state in both stages: the process's memory is what it bounds.
import {
  deadLetterPoisonWriter,
  groupLagReader,
  KafkaSink,
  KafkaStatefulProcessor,
  type StatefulProcessorOptions,
  type StatefulTask,
} from '@vigil/connectors';
import type { AccessEvent, Decision } from '@vigil/events';
import { FeatureExtractor, type FeatureRecord, StateBudget, waitingRequestBytes } from '@vigil/features';
import { EntityPacer } from '@vigil/ingest';
import { logEvent } from '@vigil/runtime';
import { observeStateBudget, type pipelineCounters } from '@vigil/telemetry';
import { codecOf, featureStageTasks, type StageDeclaration, type StageTask } from '@vigil/topology';
import { stageConsumer, type Wiring } from './context.js';

export interface FeatureStages {
  stages: KafkaStatefulProcessor<unknown>[];
  /** Where ingest writes events keyed by entity (IP, username, tenant) for the entity stage. */
  entitiesSink: KafkaSink<AccessEvent>;
  /**
   * What ingest waits on while the entity stage trails it by more than the principal stage can hold waiting; `events`
   * is where ingest writes the requests themselves.
   */
  pacer(events: KafkaSink<AccessEvent>): EntityPacer;
}

type StageOptions<T> = Omit<
  StatefulProcessorOptions<T>,
  'onRetry' | 'onCheckpoint' | 'onRestore' | 'onSlow' | 'commitIntervalMs' | 'guarantee' | 'poison'
>;

/**
 * The stages as the topology declares them (not yet running; createTopics made their topics); `packPartitions`:
 * each packed topic's partitions;
 * `fuse`: what wraps each principal task (the decisions fused in, wiring/decision-stage.ts).
 */
export function featureStages(
  w: Wiring,
  counters: ReturnType<typeof pipelineCounters>,
  packPartitions: Map<string, number>,
  fuse?: (task: StatefulTask<FeatureRecord>) => StatefulTask<FeatureRecord | Decision>,
): FeatureStages {
  const { config, kafka, onRetry, dlqSink, geo, topology } = w;
  const f = config.features;
  const budget = new StateBudget(f.state_budget_mb * 2 ** 20);
  observeStateBudget(() => ({ used: budget.used, limit: budget.limitBytes, evicted: budget.evicted }));
  const name = (id: string) => topology.topic(id).name;
  const entities = name('entities');
  const entitiesSink = new KafkaSink<AccessEvent>(kafka, {
    topic: entities,
    serialize: codecOf<AccessEvent>(topology, 'entities', 'access event').encode,
    onRetry: onRetry('kafka_entities'),
    packPartitions: packPartitions.get(entities),
  });
  /** What a stage's declaration fixes: its group and input, its changelog, its output and side outputs. */
  const declared = (d: StageDeclaration) => ({
    consumer: stageConsumer(w, d.name),
    changelogTopic: name(d.changelog as string),
    outputTopic: name(d.outputs[0] as string),
    sideOutputTopics: d.outputs.slice(1).map(name),
    packPartitions: packPartitions.get(name(d.outputs[0] as string)),
  });
  const stage = <T>(name: string, options: StageOptions<T>) =>
    new KafkaStatefulProcessor<T>(kafka, {
      ...options,
      commitIntervalMs: f.commit_interval_ms,
      guarantee: f.guarantee,
      onRetry: onRetry(`kafka_${name}`),
      poison: deadLetterPoisonWriter(name, dlqSink),
      budget,
      onCheckpoint: ({ partition, mended }) => {
        counters.checkpoints(name);
        if (mended > 0) logEvent('warn', 'changelog bookkeeping mended', { stage: name, partition, segments: mended });
      },
      onRestore: ({ partition, records, ms }) => {
        counters.restored(name, records);
        logEvent('info', 'feature state restored', { stage: name, partition, records, ms });
      },
      onSlow: ({ partition, step, ms }) =>
        logEvent('warn', 'feature stage waiting', { stage: name, partition, step, ms }),
    }) as KafkaStatefulProcessor<unknown>;
  // The tasks and their writers' codecs, as every build of the topology runs them (@vigil/topology).
  const tasks = featureStageTasks(topology, {
    extractor: () => FeatureExtractor.standard(geo(), { budget }),
    reorderBoundMs: f.reorder_bound_ms,
    idleRelease: f.idle_release,
    ...(fuse ? { fuse } : {}),
  });
  const stages = (['entity_features', 'features'] as const).map((name) => {
    const t = tasks[name] as StageTask<unknown>;
    // The principal stage's side outputs, the fused decisions (wiring/decision-stage.ts), leave in the same
    // checkpoints as its feature records.
    return stage<unknown>(name, {
      ...declared(topology.stage(name)),
      makeTask: () => t.makeTask(),
      serialize: (v, topic) => t.serialize(v, topic),
    });
  });
  return { stages, entitiesSink, pacer: (events) => entityPacer(w, budget, entitiesSink, entities, events) };
}

/**
 * Ingest's pacing by the entity stage (@vigil/ingest's entity-pacer.ts): the entity stage may trail ingest by half of
 * the requests the principal stage can hold waiting — each member of its group its share of the budget (this
 * process's, as instances of one deployment share a config) over what one waiting request is charged. (A principal
 * partition with far more than its part of the traffic can still fill its own share first.) `events`: where ingest
 * writes the requests, whose count over the entity topic's records gives the requests a record stands for.
 */
function entityPacer(
  w: Wiring,
  budget: StateBudget,
  entitiesSink: KafkaSink<AccessEvent>,
  entities: string,
  events: KafkaSink<AccessEvent>,
): EntityPacer {
  const perRequest = waitingRequestBytes(FeatureExtractor.standard(w.geo()));
  const reader = groupLagReader(w.kafka, {
    topic: entities,
    group: w.topology.stage('entity_features').group,
    alsoCount: w.topology.stage('features').group,
  });
  return new EntityPacer({
    lag: async () => {
      const { partitions, members, otherMembers } = await reader.read();
      return { partitions, members, holders: otherMembers ?? 1 };
    },
    requestsPerRecord: () =>
      entitiesSink.kafkaRecordsWritten > 0 ? events.recordsWritten / entitiesSink.kafkaRecordsWritten : 1,
    maxLagRequests: Math.floor(budget.pendingLimitBytes / perRequest / 2),
    commitIntervalMs: w.config.features.commit_interval_ms,
    stallMs: Math.max(30_000, 3 * w.config.features.commit_interval_ms),
    onChange: (paced, lagRequests) =>
      logEvent('info', paced ? 'ingest waits for the entity stage' : 'ingest goes on', { lag_requests: lagRequests }),
    close: reader.close,
  });
}
