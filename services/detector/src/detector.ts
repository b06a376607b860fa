// Wires the detector service from its topology (topology.ts: the stages and topics the config declares): Kafka in →
// ingest (parse, dead-letter, re-key) → keyed topic, DLQ and ClickHouse; then the feature stages (the decisions fused
// into the principal one, or a decision stage of its own) and the ClickHouse stores (wiring/), each started here and
// stopped in reverse. No domain logic here; it lives in @vigil/ingest and below.

import { readFileSync } from 'node:fs';
import { type AdapterOptions, adapterFor, heuristicTemplater, openApiTemplater } from '@vigil/adapters';
import { createKafka, deadLetterPoisonWriter, KafkaSink, KafkaSource, storeHandler } from '@vigil/connectors';
import type { AccessEvent, DeadLetter, Decision } from '@vigil/events';
import { type FeatureRecord, MmdbGeoLookup } from '@vigil/features';
import { createIngestHandler, type DeadLetterPolicy, type EntityPacer, parseEncryptionKey } from '@vigil/ingest';
import { type RunningService, startService } from '@vigil/runtime';
import { codecOf } from '@vigil/topology';
import { parse as parseYaml } from 'yaml';
import type { DetectorConfig } from './config.js';
import { topologyOf } from './topology.js';
import { clickhouseStores } from './wiring/clickhouse-stores.js';
import type { Wiring } from './wiring/context.js';
import { fusedDecisions, loadDecider, separateDecisionStage } from './wiring/decision-stage.js';
import { featureStages } from './wiring/feature-stages.js';
import { createTopics } from './wiring/topics.js';

/** The running detector: stop(), done (resolves when the source stops: stop() or a fatal sink error), its ops port. */
export type RunningDetector = RunningService<object>;

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

export function startDetector(config: DetectorConfig): Promise<RunningDetector> {
  return startService('detector', config.telemetry, async ({ counters, onRetry, runs }) => {
    const kafka = createKafka(config.kafka);
    const topology = topologyOf(config);
    const dlqSink = new KafkaSink<DeadLetter>(kafka, {
      topic: topology.topic('dead_letters').name,
      serialize: codecOf<DeadLetter>(topology, 'dead_letters', 'dead letter').encode,
      onRetry: onRetry('kafka_dlq'),
    });
    let geoLookup: MmdbGeoLookup | undefined;
    const geo = () => {
      geoLookup ??=
        config.features.geoip === undefined ? MmdbGeoLookup.bundled() : MmdbGeoLookup.maxmind(config.features.geoip);
      return geoLookup;
    };
    const w: Wiring = { config, kafka, onRetry, dlqSink, geo, topology };

    const packPartitions = await createTopics(w);
    const keyed = topology.topic('keyed').name;
    const eventsSink = new KafkaSink<AccessEvent>(kafka, {
      topic: keyed,
      serialize: codecOf<AccessEvent>(topology, 'keyed', 'access event').encode,
      onRetry: onRetry('kafka_keyed'),
      packPartitions: packPartitions.get(keyed),
    });
    const stores = await clickhouseStores(w);

    // The bundle loads first: a fused principal task decides as it computes (scoring.fused).
    const decider = await loadDecider(w);
    const fused = decider !== undefined && config.scoring.fused;
    const features = config.features.enabled
      ? featureStages(w, counters, packPartitions, fused ? fusedDecisions(w, decider) : undefined)
      : undefined;
    for (const s of features?.stages ?? []) runs.push(s.run());
    // With ClickHouse, feature records are kept there too (features table), for analysts and for training from it.
    const featureStore = stores?.features;
    if (featureStore) {
      const codec = codecOf<FeatureRecord>(topology, 'features', 'feature record');
      runs.push(featureStore.source.run(storeHandler(featureStore.sink, (r) => codec.decode(r.value))));
    }

    const decisions = decider && !fused ? separateDecisionStage(w, decider) : undefined;
    if (decisions) runs.push(decisions.source.run(decisions.handler));
    // The decision records into ClickHouse (vigil explain, analysts), from the topic, in their own group.
    const decisionStore = decider ? stores?.decisions : undefined;
    if (decisionStore) {
      const codec = codecOf<Decision>(topology, 'decisions', 'decision');
      runs.push(decisionStore.source.run(storeHandler(decisionStore.sink, (r) => codec.decode(r.value))));
    }

    const pacer = features?.pacer(eventsSink);
    pacer?.start();
    const source = ingestSource(w, pacer);
    const handler = createIngestHandler({
      adapterFor: ingestAdapters(config),
      sinks: {
        events: eventsSink,
        deadLetters: dlqSink,
        ...(stores ? { analytics: stores.analytics } : {}),
        ...(features ? { entities: features.entitiesSink } : {}),
      },
      deadLetters: deadLetterPolicy(config),
      traceOneIn: config.telemetry.trace_one_in,
    });
    runs.push(source.run(handler));
    return {
      fields: { format: config.format, topics: config.consumer.topics.join(',') },
      exposes: {},
      teardown: async () => {
        await pacer?.stop();
        await source.stop();
        // The last checkpoints include the events the reorder buffers still hold; the next owners restore them.
        await Promise.allSettled((features?.stages ?? []).map((s) => s.stop()));
        decider?.watcher.stop();
        await decisions?.source.stop();
        await Promise.allSettled((decisions?.sinks ?? []).map((s) => s.close()));
        await Promise.allSettled([
          eventsSink.close(),
          dlqSink.close(),
          features?.entitiesSink.close(),
          stores?.close(),
        ]);
      },
    };
  });
}

/**
 * Ingest's consumer of the gateways' topics; with the feature stages, it waits while the entity stage trails it by
 * more than the principal stage can hold waiting (a backlog: @vigil/ingest's entity-pacer.ts).
 */
function ingestSource(w: Wiring, pacer: EntityPacer | undefined): KafkaSource {
  return new KafkaSource(w.kafka, w.config.consumer, {
    poison: deadLetterPoisonWriter('ingest', w.dlqSink),
    ...(pacer ? { gate: (heartbeat, isRunning) => pacer.wait(heartbeat, isRunning) } : {}),
  });
}

/** Each consumed topic's log format (topic_formats, else format), with the adapter options they share. */
function ingestAdapters(config: DetectorConfig): (topic: string | undefined) => ReturnType<typeof adapterFor> {
  const options = {
    pepper: config.pepper,
    routes: routesFrom(config.adapter.openapi),
    maxRecordBytes: config.adapter.max_record_bytes,
    maxPastSkewMs: config.adapter.max_past_skew_ms,
    maxFutureSkewMs: config.adapter.max_future_skew_ms,
    txField: config.adapter.tx_field,
  };
  const byTopic = new Map(
    config.consumer.topics.map((topic) => [topic, adapterFor(config.topic_formats[topic] ?? config.format, options)]),
  );
  const fallback = adapterFor(config.format, options);
  return (topic) => byTopic.get(topic ?? '') ?? fallback;
}
