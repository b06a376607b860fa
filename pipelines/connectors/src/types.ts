// The source and sink contracts every connector implements. Delivery is at-least-once end to end: a source
// commits a record only after every sink it was handed to has acknowledged it, and sinks are idempotent where
// a duplicate would matter (ClickHouse rows keyed by source position).
import type { ChangelogChange, PackedState } from './kafka/changelog-segments.js';

/** Where a record came from; enough to find it again and to make writes idempotent. */
export interface RecordPosition {
  topic?: string;
  partition?: number;
  offset?: string;
  file?: string;
  line?: number;
  /** Position inside a batch array (gateways that log several requests per message). */
  index?: number;
}

export interface SourceRecord {
  value: Buffer;
  key: Buffer | null;
  headers: Record<string, string>;
  /** The record's timestamp at the source (Kafka CreateTime/LogAppendTime), epoch ms; absent for files. */
  timestamp?: number;
  position: RecordPosition;
}

export interface SourceBatch {
  records: SourceRecord[];
  /**
   * Call once every sink has durably accepted what this batch produced (or with an error when that is impossible);
   * only then may the source commit past it. Sources bound how many batches may await acknowledgement, which is
   * how back-pressure reaches consumption.
   */
  ack(err?: Error): void;
  /** Keeps group membership alive while a handler waits for a slow dependency. */
  heartbeat(): Promise<void>;
  /**
   * Sets aside a record the handler cannot handle (see poison.ts): the source writes it to its dead-letter writer
   * before this batch counts as acknowledged, and goes on past it.
   */
  poison(record: SourceRecord, detail: string): void;
}

export interface Source {
  /** Delivers batches to handler in order per partition until stop(). */
  run(handler: (batch: SourceBatch) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface SinkRecord<T> {
  key?: string | null;
  value: T;
  headers?: Record<string, string>;
  /**
   * A stateful task's side output: the topic this record goes to instead of the stage's output topic (written in the
   * same transaction as the rest of the checkpoint). Other sinks ignore it.
   */
  topic?: string;
  /** Source position of the input this record came from, for idempotent writes. */
  position?: RecordPosition;
}

export interface Sink<T> {
  /** Resolves once the records are durable at the destination; rejects only with a non-retriable error. */
  write(records: SinkRecord<T>[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * One input partition's stateful processing, run by a transactional processor: records in, derived records out,
 * and the state changes that a checkpoint commits together with those outputs and the input offsets.
 */
export interface StatefulTask<T> {
  /** Processes records in partition order and returns what is due to be written. */
  process(records: SourceRecord[]): SinkRecord<T>[];
  /** State changes since the last drain as changelog records; null deletes a key. */
  drainChanges(): ChangelogChange[];
  /**
   * Rebuilds state from the changelog's latest record per key, before any process(). The processors give a
   * RestoredRecords (columns: a task may take its share by prefix without a tuple per record; deleted keys omitted);
   * read as an Iterable, a null value deletes its key.
   */
  restore(records: Iterable<[string, Buffer | null]>): void;
  /** Called every few milliseconds between batches with the wall clock: what is due without new input (optional). */
  tick?(wallNow: number): SinkRecord<T>[];
  /**
   * The input has ended (a finite run: the demo, a replay): releases everything the task still holds, as if time
   * had run on past it (optional; a live stage never ends).
   */
  flush?(): SinkRecord<T>[];
  /** Input records that arrived later than an event-time task's reorder bound, so far (optional). */
  late?(): number;
  /** Records process() set aside as poison since the last call (see poison.ts); the processor dead-letters them. */
  drainPoison?(): { record: SourceRecord; detail: string }[];
  /** The task is dropped (its partition moved away or the processor stopped): release what it holds (optional). */
  close?(): void;
  /**
   * Keys whose changelog records the processor may pack many to a Kafka record, and their current state (optional;
   * see kafka/changelog-segments.ts). Without it every change is one changelog record.
   */
  readonly packedState?: PackedState;
}
