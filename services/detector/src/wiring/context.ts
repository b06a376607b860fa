// What every part of the detector's wiring shares: its config, its topology, the Kafka client, the retry hook, the
// dead-letter sink poison records go to, and the process's one GeoIP reader.
import type { createKafka, KafkaSink } from '@vigil/connectors';
import { DEFAULT_RETRY, withRetry } from '@vigil/core';
import type { DeadLetter } from '@vigil/events';
import type { MmdbGeoLookup } from '@vigil/features';
import type { Topology } from '@vigil/topology';
import type { DetectorConfig } from '../config.js';

export interface Wiring {
  config: DetectorConfig;
  kafka: ReturnType<typeof createKafka>;
  /** The retry hook for a stage's connectors (counted by stage and error code, logged). */
  onRetry: (stage: string) => (err: unknown) => void;
  /** Where each stage's poison records go. */
  dlqSink: KafkaSink<DeadLetter>;
  /** The process's one GeoIP reader (and its cache), opened on first use: only when features run. */
  geo: () => MmdbGeoLookup;
  /** The stages and topics the config declares (topology.ts): what every part of the wiring builds from. */
  topology: Topology;
}

/** Runs an admin call (topic creation, partition counts, migrations) with the default retry, reported as `stage`. */
export function retried<T>(w: Pick<Wiring, 'onRetry'>, stage: string, call: () => Promise<T>): Promise<T> {
  return withRetry(call, DEFAULT_RETRY, { onRetry: w.onRetry(stage) });
}

/** The consumer a stage reads with: the config's consumer settings, in the group and on the topics it declares. */
export function stageConsumer(w: Pick<Wiring, 'config' | 'topology'>, stage: string) {
  const d = w.topology.stage(stage);
  return { ...w.config.consumer, group_id: d.group, topics: d.inputs.map((id) => w.topology.topic(id).name) };
}
