// Poison records: a record a stage cannot handle (not what its topic should carry, or one that trips a defect) must
// not stop the stage. It is set aside with a reason, written to the dead-letter topic with its position, counted,
// and consumption goes past it — Kafka Streams' "log and continue" with a dead-letter queue. A record on an internal
// topic carries nothing a dead letter needs to keep (the position finds it again while the topic retains it), so its
// content is dropped rather than copied: no pepper needed, nothing to leak.
import { type DeadLetter, InvalidRecordError } from '@vigil/events';
import { pipelineCounters } from '@vigil/telemetry';
import type { RecordPosition, Sink, SourceRecord } from './types.js';

export interface Poisoned {
  record: SourceRecord;
  /** What was wrong, in words: a field path and expectation, never a value from the record. */
  detail: string;
}

/** Writes a stage's poison records somewhere durable; resolves once they are. */
export type PoisonWriter = (poisoned: Poisoned[]) => Promise<void>;

/** What a handler says of a record it set aside: the decoder's words for a record it refused (never a value from
 * the record), a generic line for anything else (a defect must not echo internals). */
export function poisonDetail(err: unknown): string {
  return err instanceof InvalidRecordError ? err.message : 'the stage failed on this record';
}

/** Decodes a record, or sets it aside as poison (with the decoder's reason) and returns undefined. */
export function decodeOrPoison<T>(
  record: SourceRecord,
  decode: (value: Buffer) => T,
  poison: (record: SourceRecord, detail: string) => void,
): T | undefined {
  try {
    return decode(record.value);
  } catch (err) {
    poison(record, poisonDetail(err));
    return undefined;
  }
}

/** Where a dead-lettered record came from, as the dead letter states it (only the fields the position has). */
export function deadLetterSource(at: RecordPosition): DeadLetter['source'] {
  const source: DeadLetter['source'] = {};
  if (at.topic !== undefined) source.topic = at.topic;
  if (at.partition !== undefined) source.partition = at.partition;
  if (at.offset !== undefined) source.offset = at.offset;
  if (at.file !== undefined) source.file = at.file;
  if (at.line !== undefined) source.line = at.line;
  if (at.index !== undefined) source.index = at.index;
  return source;
}

export function poisonDeadLetter(stage: string, p: Poisoned): DeadLetter {
  const source = deadLetterSource(p.record.position);
  return {
    reason: 'unprocessable',
    detail: p.detail,
    format: stage,
    source,
    original_mode: 'dropped',
    original_bytes: p.record.value.length,
  };
}

/** Poison records of `stage` as dead letters on `sink` (the dead-letter topic), counted by stage. */
export function deadLetterPoisonWriter(stage: string, sink: Sink<DeadLetter>): PoisonWriter {
  const counters = pipelineCounters();
  return async (poisoned) => {
    counters.deadLettered('unprocessable', stage, poisoned.length);
    await sink.write(
      poisoned.map((p) => ({ key: null, value: poisonDeadLetter(stage, p), position: p.record.position })),
    );
  };
}

/** Poison records only counted (where no dead-letter topic is configured): still skipped, never fatal. */
export function countingPoisonWriter(stage: string): PoisonWriter {
  const counters = pipelineCounters();
  return async (poisoned) => {
    counters.deadLettered('unprocessable', stage, poisoned.length);
  };
}
