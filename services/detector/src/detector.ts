// Wires the detector service: Kafka in → ingest (parse, dead-letter, re-key) → keyed topic, DLQ and ClickHouse.
// No domain logic here; it lives in @vigil/ingest and below.

import { readFileSync } from 'node:fs';
import { type AdapterOptions, adapterFor, heuristicTemplater, openApiTemplater } from '@vigil/adapters';
import { backendName, ModelBundle } from '@vigil/bundle';
import {
  accessEventRow,
  ClickHouseSink,
  clickhouseClient,
  createKafka,
  deadLetterPoisonWriter,
  decisionRow,
  dropExpiredPartitions,
  ensureTopics,
  featureRow,
  identity,
  KafkaSink,
  KafkaSource,
  KafkaStatefulProcessor,
  keyedHash,
  migrate,
  type StatefulProcessorOptions,
  storeHandler,
  topicPartitions,
} from '@vigil/connectors';
import { DEFAULT_RETRY, withRetry } from '@vigil/core';
import { type AccessEvent, type DeadLetter, type Decision, decodeDecision, unitHash } from '@vigil/events';
import {
  decodeFeatureRecord,
  EntityFeatureTask,
  type EntityPart,
  FeatureExtractor,
  type FeatureRecord,
  MmdbGeoLookup,
  PrincipalFeatureTask,
  StateBudget,
} from '@vigil/features';
import { createIngestHandler, type DeadLetterPolicy, parseEncryptionKey } from '@vigil/ingest';
import { DecisionPolicy } from '@vigil/policy';
import { ConfigError, installTracing, logEvent, retryReporter, startOpsServer } from '@vigil/runtime';
import { BundleScorer, BundleWatcher, createDecisionHandler } from '@vigil/scoring';
import { observeStateBudget, pipelineCounters } from '@vigil/telemetry';
import { parse as parseYaml } from 'yaml';
import type { DetectorConfig } from './config.js';

export interface RunningDetector {
  stop(): Promise<void>;
  /** Resolves when the source stops (stop() or a fatal sink error). */
  done: Promise<void>;
  opsPort: number;
}

function routesFrom(path: string | undefined): AdapterOptions['routes'] {
  if (path === undefined) return heuristicTemplater;
  const text = readFileSync(path, 'utf8');
  return openApiTemplater(path.endsWith('.json') ? JSON.parse(text) : parseYaml(text));
}

/** What dead letters keep of a record (config: dead_letters); the key was checked by the config's schema. */
function deadLetterPolicy(config: DetectorConfig): DeadLetterPolicy {
  const d = config.dead_letters;
  const key = d.encryption_key === undefined ? undefined : parseEncryptionKey(d.encryption_key);
  return { original: d.original, ...(key ? { encryptionKey: key } : {}) };
}

/**
 * A stage's run, marked as handled at once: the stages start one after another while the detector is still starting,
 * and a stage that fails meanwhile must reach `done` (and a clean exit 1), not crash the process as an unhandled
 * rejection before `done` is built.
 */
function held<T>(run: Promise<T>): Promise<T> {
  run.catch(() => undefined);
  return run;
}

/** Deterministic sampling by request id, so a replay stores the same sample. */
const sampledById = (requestId: string, rate: number) => rate >= 1 || unitHash(requestId) < rate;

// biome-ignore lint/complexity/noExcessiveCognitiveComplexity: written before the rule; to split (issue 19)
export async function startDetector(config: DetectorConfig): Promise<RunningDetector> {
  const ops = await startOpsServer(config.telemetry.port);
  const tracing = installTracing(config.telemetry.otlp_traces_url);
  const counters = pipelineCounters();
  const kafka = createKafka(config.kafka);
  const onRetry = retryReporter(counters.retried);

  const partitions = config.topics.partitions;
  await withRetry(
    () =>
      ensureTopics(kafka, [
        { topic: config.topics.keyed, partitions },
        { topic: config.topics.dead_letter, partitions },
        ...(config.features.enabled ? [{ topic: config.topics.entities, partitions }] : []),
      ]),
    DEFAULT_RETRY,
    { onRetry: onRetry('kafka_admin') },
  );
  // vigil's own topics between stages carry packed records (many events per Kafka record, routed as the client's
  // partitioner routes their keys): their writers need each topic's partition count, which may differ from
  // topics.partitions when the topic was made by hand.
  const internal = [config.topics.keyed, ...(config.features.enabled ? [config.topics.entities] : [])];
  const packPartitions = config.topics.packed
    ? await withRetry(() => topicPartitions(kafka, internal), DEFAULT_RETRY, { onRetry: onRetry('kafka_admin') })
    : new Map<string, number>();

  const adapterOptions = {
    pepper: config.pepper,
    routes: routesFrom(config.adapter.openapi),
    maxRecordBytes: config.adapter.max_record_bytes,
    maxPastSkewMs: config.adapter.max_past_skew_ms,
    maxFutureSkewMs: config.adapter.max_future_skew_ms,
    txField: config.adapter.tx_field,
  };
  const adapters = new Map(
    config.consumer.topics.map((topic) => [
      topic,
      adapterFor(config.topic_formats[topic] ?? config.format, adapterOptions),
    ]),
  );

  const eventsSink = new KafkaSink<AccessEvent>(kafka, {
    topic: config.topics.keyed,
    onRetry: onRetry('kafka_keyed'),
    packPartitions: packPartitions.get(config.topics.keyed),
  });
  const dlqSink = new KafkaSink<DeadLetter>(kafka, { topic: config.topics.dead_letter, onRetry: onRetry('kafka_dlq') });
  let analytics: ClickHouseSink<AccessEvent, ReturnType<typeof accessEventRow>> | undefined;
  let closeClickHouse = async () => {};
  let featureStore:
    | { source: KafkaSource; sink: ClickHouseSink<FeatureRecord, ReturnType<typeof featureRow>> }
    | undefined;
  let decisionStore:
    | { source: KafkaSource; sink: ClickHouseSink<Decision, ReturnType<typeof decisionRow>> }
    | undefined;
  const ch = config.clickhouse;
  if (ch) {
    // The client's own error logs print request details; vigil reports failures through its own events.
    const client = clickhouseClient(ch);
    await withRetry(() => migrate(client, ch.table_prefix), DEFAULT_RETRY, { onRetry: onRetry('clickhouse_migrate') });
    const pseudo = ch.pseudonymise ? keyedHash(config.pepper.secret) : identity;
    analytics = new ClickHouseSink(client, {
      table: `${ch.table_prefix}access_events`,
      maxRows: ch.batch_max_rows,
      maxAgeMs: ch.batch_max_age_ms,
      onRetry: onRetry('clickhouse_insert'),
      toRow: (r) =>
        r.position && sampledById(r.value.request_id, ch.access_sample_rate)
          ? accessEventRow(r.value, r.position, pseudo, Date.now())
          : undefined,
    });
    // Retention: ClickHouse 18.16 has no TTL, so expired daily partitions are dropped hourly (wall clock: I/O only).
    const retention = setInterval(() => {
      dropExpiredPartitions(client, ch.database, ch.table_prefix, ch.retention_days, Date.now()).then(
        (dropped) => dropped.length > 0 && logEvent('info', 'dropped expired partitions', { count: dropped.length }),
        () => logEvent('warn', 'retention run failed; will retry', { stage: 'clickhouse_retention' }),
      );
    }, 3_600_000);
    retention.unref();
    if (config.features.enabled && config.scoring.bundle !== undefined) {
      const sc = config.scoring;
      decisionStore = {
        source: new KafkaSource(
          kafka,
          {
            ...config.consumer,
            group_id: `${config.consumer.group_id}.decisions-store`,
            topics: [sc.topic, sc.shadow_topic],
          },
          { poison: deadLetterPoisonWriter('decisions_store', dlqSink) },
        ),
        sink: new ClickHouseSink(client, {
          table: `${ch.table_prefix}decisions`,
          maxRows: ch.batch_max_rows,
          maxAgeMs: ch.batch_max_age_ms,
          onRetry: onRetry('clickhouse_insert'),
          toRow: (r) =>
            r.position
              ? decisionRow(r.value, r.key ?? '', r.position.topic === sc.shadow_topic, r.position, pseudo, Date.now())
              : undefined,
        }),
      };
    }
    if (config.features.enabled) {
      featureStore = {
        source: new KafkaSource(
          kafka,
          {
            ...config.consumer,
            group_id: `${config.consumer.group_id}.features-store`,
            topics: [config.features.topic],
          },
          { poison: deadLetterPoisonWriter('features_store', dlqSink) },
        ),
        sink: new ClickHouseSink(client, {
          table: `${ch.table_prefix}features`,
          maxRows: ch.batch_max_rows,
          maxAgeMs: ch.batch_max_age_ms,
          onRetry: onRetry('clickhouse_insert'),
          toRow: (r) => (r.position ? featureRow(r.value, r.position, pseudo, Date.now()) : undefined),
        }),
      };
    }
    closeClickHouse = async () => {
      clearInterval(retention);
      await featureStore?.source.stop();
      await decisionStore?.source.stop();
      await Promise.allSettled([analytics?.close(), featureStore?.sink.close(), decisionStore?.sink.close()]);
      await client.close();
    };
  }

  // Two feature stages, each in its own consumer group and each exactly once by default (KafkaStatefulProcessor): the entity
  // stage reads events keyed by IP / username / tenant and writes each event's entity parts back onto the
  // principal-keyed topic; the principal stage computes the principal's own features and joins the parts on.
  // One GeoIP reader (and its cache) for every extractor of this process, opened only when features run.
  let geoLookup: MmdbGeoLookup | undefined;
  const geo = () => {
    geoLookup ??=
      config.features.geoip === undefined ? MmdbGeoLookup.bundled() : MmdbGeoLookup.maxmind(config.features.geoip);
    return geoLookup;
  };
  const stages: KafkaStatefulProcessor<unknown>[] = [];
  const stagesDone: Promise<void>[] = [];
  let entitiesSink: KafkaSink<AccessEvent> | undefined;
  if (config.features.enabled) {
    const f = config.features;
    // One budget for every partition's state in both stages: the process's memory is what it bounds.
    const budget = new StateBudget(f.state_budget_mb * 2 ** 20);
    observeStateBudget(() => ({ used: budget.used, limit: budget.limitBytes, evicted: budget.evicted }));
    const group = config.consumer.group_id;
    const changelog = f.changelog_topic ?? `${group}.features-changelog`;
    const entityChangelog = `${group}.entities-changelog`;
    await withRetry(
      () =>
        ensureTopics(kafka, [
          { topic: f.topic, partitions },
          { topic: changelog, partitions, compacted: true },
          { topic: entityChangelog, partitions, compacted: true },
        ]),
      DEFAULT_RETRY,
      { onRetry: onRetry('kafka_admin') },
    );
    entitiesSink = new KafkaSink<AccessEvent>(kafka, {
      topic: config.topics.entities,
      onRetry: onRetry('kafka_entities'),
      packPartitions: packPartitions.get(config.topics.entities),
    });
    const stage = <T>(
      name: string,
      options: Omit<
        StatefulProcessorOptions<T>,
        'onRetry' | 'onCheckpoint' | 'onRestore' | 'commitIntervalMs' | 'guarantee'
      >,
    ) =>
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
      });
    stages.push(
      stage<EntityPart>('entity_features', {
        consumer: { ...config.consumer, group_id: `${group}.entities`, topics: [config.topics.entities] },
        changelogTopic: entityChangelog,
        outputTopic: config.topics.keyed,
        packPartitions: packPartitions.get(config.topics.keyed),
        makeTask: () =>
          new EntityFeatureTask(FeatureExtractor.standard(geo(), { budget }), f.reorder_bound_ms, {
            idleRelease: f.idle_release,
          }),
      }) as KafkaStatefulProcessor<unknown>,
      stage<FeatureRecord>('features', {
        consumer: { ...config.consumer, group_id: `${group}.features`, topics: [config.topics.keyed] },
        changelogTopic: changelog,
        outputTopic: f.topic,
        makeTask: () =>
          new PrincipalFeatureTask(FeatureExtractor.standard(geo(), { budget }), f.reorder_bound_ms, {
            idleRelease: f.idle_release,
          }),
      }) as KafkaStatefulProcessor<unknown>,
    );
    for (const s of stages) stagesDone.push(held(s.run()));
    // With ClickHouse, feature records are kept there too (features table), for analysts and for training from it.
    if (featureStore)
      stagesDone.push(
        held(featureStore.source.run(storeHandler(featureStore.sink, (r) => decodeFeatureRecord(r.value)))),
      );
  }

  // The decision stage: feature records → the bundle → decision records. Loaded before the detector reports ready,
  // so a missing or mismatched bundle stops the start with its message.
  let decisions: { source: KafkaSource; sinks: KafkaSink<Decision>[]; watcher: BundleWatcher } | undefined;
  const sc = config.scoring;
  if (sc.bundle !== undefined) {
    if (!config.features.enabled)
      throw new ConfigError(['scoring.bundle needs the feature stage: set features.enabled: true']);
    const schemaHash = FeatureExtractor.standard(geo()).schema.hash;
    const load = (dir: string) =>
      ModelBundle.load(dir, schemaHash).catch((err: unknown) => {
        throw new ConfigError([`scoring: ${(err as Error).message}`]);
      });
    const scorer = new BundleScorer(await load(sc.bundle));
    const featureNames = FeatureExtractor.standard(geo()).names;
    const policy = new DecisionPolicy(config.policy, featureNames);
    if (policy.inactiveRules.length > 0)
      logEvent('warn', 'policy rules without their features are off', { rules: policy.inactiveRules.join(',') });
    if (sc.shadow_bundle !== undefined) scorer.setShadow(await load(sc.shadow_bundle));
    await withRetry(
      () =>
        ensureTopics(kafka, [
          { topic: sc.topic, partitions: config.topics.partitions },
          { topic: sc.shadow_topic, partitions: config.topics.partitions },
        ]),
      DEFAULT_RETRY,
      { onRetry: onRetry('kafka_admin') },
    );
    const decisionSink = new KafkaSink<Decision>(kafka, { topic: sc.topic, onRetry: onRetry('kafka_decisions') });
    const shadowSink =
      sc.shadow_bundle === undefined
        ? undefined
        : new KafkaSink<Decision>(kafka, { topic: sc.shadow_topic, onRetry: onRetry('kafka_decisions') });
    const watcher = new BundleWatcher(sc.bundle, schemaHash, scorer.activeId, {
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
      schemaHash: () => schemaHash,
      decisions: decisionSink,
      ...(shadowSink ? { shadow: shadowSink } : {}),
      dryRun: sc.dry_run,
      writeAllow: sc.write_allow,
    });
    stagesDone.push(held(source.run(handler)));
    // The decision records into ClickHouse (vigil explain, analysts), from the topic, in their own group.
    if (decisionStore)
      stagesDone.push(held(decisionStore.source.run(storeHandler(decisionStore.sink, (r) => decodeDecision(r.value)))));
    decisions = { source, sinks: [decisionSink, ...(shadowSink ? [shadowSink] : [])], watcher };
    logEvent('info', 'decision stage started', {
      bundle: scorer.activeId,
      shadow: scorer.shadowId ?? 'none',
      dry_run: sc.dry_run,
      autoencoder_backend: backendName(),
    });
  }

  const source = new KafkaSource(kafka, config.consumer, { poison: deadLetterPoisonWriter('ingest', dlqSink) });
  const handler = createIngestHandler({
    adapterFor: (topic) => adapters.get(topic ?? '') ?? adapterFor(config.format, adapterOptions),
    sinks: {
      events: eventsSink,
      deadLetters: dlqSink,
      ...(analytics ? { analytics } : {}),
      ...(entitiesSink ? { entities: entitiesSink } : {}),
    },
    deadLetters: deadLetterPolicy(config),
    traceOneIn: config.telemetry.trace_one_in,
  });
  const done = Promise.all([source.run(handler), ...stagesDone]).then(() => undefined);
  done.catch(() => ops.setHealthy(false));
  ops.setReady(true);
  logEvent('info', 'detector started', {
    format: config.format,
    topics: config.consumer.topics.join(','),
    ops_port: ops.port,
  });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    ops.setReady(false);
    await source.stop();
    // The last checkpoints include the events the reorder buffers still hold; the next owners restore them.
    await Promise.allSettled(stages.map((s) => s.stop()));
    decisions?.watcher.stop();
    await decisions?.source.stop();
    await Promise.allSettled((decisions?.sinks ?? []).map((s) => s.close()));
    await Promise.allSettled([eventsSink.close(), dlqSink.close(), entitiesSink?.close(), closeClickHouse()]);
    await ops.close();
    await tracing.shutdown();
    logEvent('info', 'detector stopped');
  };
  return { stop, done, opsPort: ops.port };
}
