// A gateway log file through the detector's topology on the in-memory bus, streamed: the detector's ingest, its
// entity and principal feature stages and — when asked — the decisions fused into the principal task, as `vigil
// detect` runs them on Kafka (the same declaration, tasks and codecs; @vigil/topology's MemoryRun). Memory stays
// bounded: the reorder buffers hold `boundMs` of event time and the bus drops what has been read. Shared by
// `vigil features`, `vigil train` and `vigil replay`.
import { statSync } from 'node:fs';
import type { Adapter } from '@vigil/adapters';
import { JsonlFileSource, type StatefulTask } from '@vigil/connectors';
import type { AccessEvent, DeadLetter, Decision } from '@vigil/events';
import { FeatureExtractor, type FeatureRecord, MmdbGeoLookup } from '@vigil/features';
import { DEFAULT_TOPIC_NAMES, featureStageTasks, MemoryRun, memoryTopology } from '@vigil/topology';

export interface RunLogOptions {
  adapter: Adapter;
  input: string;
  boundMs: number;
  /** A new extractor for each stage's task (default: the standard families on the bundled GeoIP database). */
  extractor?: () => FeatureExtractor;
  /**
   * Fuses the decisions into the principal task (@vigil/scoring's withDecisions, writing to the topics named);
   * without it nothing decides.
   */
  decide?: (
    task: StatefulTask<FeatureRecord>,
    topics: { decisions: string; shadow: string },
  ) => StatefulTask<FeatureRecord | Decision>;
  /** Receives the events ingest passed on, batch by batch (in log order). */
  onEvents?: (events: AccessEvent[]) => Promise<void> | void;
  /** Receives each step's feature records, one per event, in the order the principal stage released them. */
  onFeatures?: (records: FeatureRecord[]) => Promise<void> | void;
  /** Receives each step's decisions (with `decide`): the active bundle's, and the shadow bundle's of the same step. */
  onDecisions?: (active: Decision[], shadow: Decision[]) => Promise<void> | void;
  /** Bytes read of the file's total, for progress displays. */
  onProgress?: (read: number, total: number) => void;
}

export interface RunLogResult {
  events: number;
  deadLetters: number;
  /** The reason codes of the dead letters (to tell a wrong --format from a few bad lines). */
  reasons: string[];
  /** Events later than the bound, as the principal stage counted them. */
  late: number;
  schema: FeatureExtractor['schema'];
}

/** A new extractor of the standard families for each task, all on one bundled GeoIP database (read once: ~44 MB). */
export function standardExtractors(): () => FeatureExtractor {
  const geo = MmdbGeoLookup.bundled();
  return () => FeatureExtractor.standard(geo);
}

export async function runLog(o: RunLogOptions): Promise<RunLogResult> {
  const total = statSync(o.input).size;
  const extractor = o.extractor ?? standardExtractors();
  const decide = o.decide;
  const topology = memoryTopology({
    group: 'vigil-offline',
    input: 'vigil.access',
    format: o.adapter.format,
    decisions: decide ? 'fused' : 'none',
  });
  const decisionTopics = { decisions: DEFAULT_TOPIC_NAMES.decisions, shadow: DEFAULT_TOPIC_NAMES.shadowDecisions };
  const tasks = featureStageTasks(topology, {
    extractor,
    reorderBoundMs: o.boundMs,
    // Offline, in event time only: the wall clock releases nothing, and nothing restores the state.
    idleRelease: false,
    checkpointed: false,
    ...(decide ? { fuse: (task: StatefulTask<FeatureRecord>) => decide(task, decisionTopics) } : {}),
  });
  let deadLetters = 0;
  const reasons = new Set<string>();
  const run = new MemoryRun({
    topology,
    tasks: { ...tasks },
    adapter: o.adapter,
    deadLetters: { original: 'dropped' },
    ...(o.onEvents ? { onEvents: o.onEvents } : {}),
    onStep: async (take) => {
      for (const d of take<DeadLetter>('dead_letters')) {
        deadLetters++;
        reasons.add(d.reason);
      }
      if (o.onFeatures) await o.onFeatures(take<FeatureRecord>('features'));
      if (o.onDecisions) await o.onDecisions(take<Decision>('decisions'), take<Decision>('shadow_decisions'));
    },
  });
  let read = 0;
  await new JsonlFileSource(o.input, 4096).run(async (batch) => {
    for (const r of batch.records) read += r.value.length + 1;
    await run.push(batch.records);
    batch.ack();
    o.onProgress?.(Math.min(read, total), total);
  });
  await run.finish();
  return { events: run.events, deadLetters, reasons: [...reasons], late: run.late(), schema: extractor().schema };
}
