// The decision stage fused into the principal feature task (operator chaining, in Kafka Streams' and Flink's words):
// each batch's feature records are scored and decided in the task that computed them, and the decisions leave as a
// side output on the decisions topic, in the same checkpoint as the feature records, the state changes and the input
// offset. What that saves against a decision stage of its own: a consumer group, a fetch and a JSON decode of every
// feature record, and a Kafka hop on the way from a log line to its enforcement; and the decisions become exactly
// once with the features when the stage is (features.guarantee exactly_once; a separate stage wrote them at least
// once). The feature records still go to their topic: ClickHouse and analysts read them there.
import type { SinkRecord, SourceRecord, StatefulTask } from '@vigil/connectors';
import type { Decision } from '@vigil/events';
import type { FeatureRecord } from '@vigil/features';
import { pipelineCounters } from '@vigil/telemetry';
import { type DecisionStageOptions, decisionRecords } from './decision-stage.js';

export interface FusedDecisionOptions
  extends Pick<DecisionStageOptions, 'scorer' | 'policy' | 'geo' | 'dryRun' | 'writeAllow' | 'schemaHash' | 'now'> {
  /** Where the active bundle's decisions go. */
  decisionsTopic: string;
  /** Where the shadow bundle's go (only when the scorer has a shadow bundle). */
  shadowTopic?: string;
}

/** The principal task with its decisions as side outputs (SinkRecord.topic); every other call goes to the task. */
export function withDecisions(
  task: StatefulTask<FeatureRecord>,
  o: FusedDecisionOptions,
): StatefulTask<FeatureRecord | Decision> {
  const counters = pipelineCounters();
  const now = o.now ?? Date.now;
  const decide = (features: SinkRecord<FeatureRecord>[]): SinkRecord<FeatureRecord | Decision>[] => {
    if (features.length === 0) return features;
    // Counted as computed, as the principal task counts its feature records: a rewound checkpoint counts again.
    counters.recordsIn('decisions', features.length);
    const { active, shadow } = decisionRecords(
      o,
      features.map((r) => r.value),
      now(),
      counters,
    );
    counters.recordsOut('decisions', active.length);
    const out: SinkRecord<FeatureRecord | Decision>[] = [...features];
    for (const d of active) out.push({ ...d, topic: o.decisionsTopic });
    const shadowTopic = o.shadowTopic;
    if (shadowTopic !== undefined) for (const d of shadow) out.push({ ...d, topic: shadowTopic });
    return out;
  };
  const { tick, flush, drainPoison, close, late } = task;
  return {
    process: (records: SourceRecord[]) => decide(task.process(records)),
    ...(tick ? { tick: (wallNow: number) => decide(tick.call(task, wallNow)) } : {}),
    ...(flush ? { flush: () => decide(flush.call(task)) } : {}),
    drainChanges: () => task.drainChanges(),
    restore: (records) => task.restore(records),
    ...(drainPoison ? { drainPoison: drainPoison.bind(task) } : {}),
    ...(close ? { close: close.bind(task) } : {}),
    ...(late ? { late: late.bind(task) } : {}),
    ...(task.packedState ? { packedState: task.packedState } : {}),
  };
}
