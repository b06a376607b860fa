// Kafka source: a kafkajs consumer group whose offsets are committed only after every sink has acknowledged what a
// batch produced (at-least-once). Batches keep flowing while earlier ones await acknowledgement, up to
// max_unacknowledged_batches; beyond that consumption pauses, which is how a down ClickHouse stops the intake
// instead of dropping data.

import { withRetry } from '@vigil/core';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { OffsetTracker } from '../offset-tracker.js';
import { countingPoisonWriter, type Poisoned, type PoisonWriter } from '../poison.js';
import type { Source, SourceBatch, SourceRecord } from '../types.js';
import { consumerSettings, JOIN_RETRY, type KafkaConsumerConfig } from './config.js';
import { PACKED_HEADER, unpackEntries } from './packed.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** kafkajs headers (Buffers, arrays) as the first value of each, as strings. */
export function stringHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [k, v] of Object.entries(headers)) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined && first !== null) out[k] = first.toString();
  }
  return out;
}

/** Marks the empty record an exactly-once stage writes when it takes a partition over (stateful-processor.ts). */
export const FENCE_HEADER = 'vigil-fence';

/**
 * A fetched Kafka record as the records it carries: itself, or the records a packed one holds (packed.ts), all at
 * its position; none for a fence record. A packed record that does not unpack passes on as it is, for the stage's
 * decoder to dead-letter.
 */
export function sourceRecords(topic: string, partition: number, m: KafkaMessage, out: SourceRecord[]): void {
  const headers = stringHeaders(m.headers);
  if (headers[FENCE_HEADER] !== undefined) return;
  const position = { topic, partition, offset: m.offset };
  const timestamp = Number(m.timestamp);
  const value = m.value ?? Buffer.alloc(0);
  if (headers[PACKED_HEADER] !== undefined) {
    let entries: ReturnType<typeof unpackEntries> | undefined;
    try {
      entries = unpackEntries(value);
    } catch {
      entries = undefined;
    }
    if (entries) {
      for (const e of entries) out.push({ value: e.value, key: e.key, headers: e.headers, timestamp, position });
      return;
    }
  }
  out.push({ value, key: m.key, headers, timestamp, position });
}

export interface KafkaSourceOptions {
  /** Where records a handler sets aside as poison go (the dead-letter topic); default: counted only. */
  poison?: PoisonWriter;
  /** The stage's name in metrics and dead letters. */
  stage?: string;
  /**
   * Waited on before each batch is handed over (ingest's pacing by the entity stage): resolves when the batch may go
   * on; `heartbeat` keeps the group membership alive meanwhile, and `isRunning` turns false when the batch is stale.
   */
  gate?: (heartbeat: () => Promise<void>, isRunning: () => boolean) => Promise<void>;
}

export class KafkaSource implements Source {
  private consumer: Consumer | undefined;
  private readonly tracker = new OffsetTracker();
  private commitTimer: NodeJS.Timeout | undefined;
  /** The commit in flight, if any. */
  private committing: Promise<void> | undefined;
  private failure: Error | undefined;
  private settle: { resolve: () => void; reject: (err: Error) => void } | undefined;

  private readonly writePoison: PoisonWriter;
  private readonly gate: KafkaSourceOptions['gate'];

  constructor(
    private readonly kafka: Kafka,
    private readonly config: KafkaConsumerConfig,
    options: KafkaSourceOptions = {},
  ) {
    this.writePoison = options.poison ?? countingPoisonWriter(options.stage ?? config.group_id);
    this.gate = options.gate;
  }

  async run(handler: (batch: SourceBatch) => Promise<void>): Promise<void> {
    const c = this.config;
    const consumer = this.kafka.consumer(consumerSettings(c));
    this.consumer = consumer;
    // kafkajs restarts a consumer after a retriable error; after any other it stops for good. A stage that stopped
    // must not look alive: the source fails, so the service's health fails and the process exits non-zero.
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart)
        this.fail(e.payload.error instanceof Error ? e.payload.error : new Error('the consumer stopped'));
    });
    // After a rebalance kafkajs reads every assigned partition again from the group's committed offset: what was
    // fetched before it is not committed (offset-tracker.ts). A gap left: with several brokers, a batch one broker's
    // fetch returned before a rejoin that another's fetch set off can reach eachBatch after this reset, and count.
    consumer.on(consumer.events.GROUP_JOIN, () => this.tracker.reset());
    await withRetry(() => consumer.connect(), JOIN_RETRY);
    await withRetry(() => consumer.subscribe({ topics: c.topics, fromBeginning: c.from_beginning }), JOIN_RETRY);
    this.commitTimer = setInterval(() => void this.commit().catch(() => undefined), c.commit_interval_ms);

    const finished = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: c.partitions_consumed_concurrently,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const last = batch.messages[batch.messages.length - 1];
        if (!last) return;
        if (!(await this.mayGoOn(heartbeat, () => isRunning() && !isStale() && !this.failure))) return;
        const ack = this.tracker.track(batch.topic, batch.partition, last.offset);
        const records: SourceRecord[] = [];
        for (const m of batch.messages) sourceRecords(batch.topic, batch.partition, m, records);
        if (records.length === 0) {
          // Only fence records: nothing for the handler, and nothing to wait for.
          ack();
          resolveOffset(last.offset);
          return;
        }
        const poisoned: Poisoned[] = [];
        let acknowledged!: (err?: Error) => void;
        const handled = new Promise<Error | undefined>((resolve) => {
          acknowledged = resolve;
        });
        try {
          await handler({
            records,
            ack: (err) => acknowledged(err),
            heartbeat,
            poison: (record, detail) => poisoned.push({ record, detail }),
          });
        } catch (err) {
          // Handlers set bad records aside (poison); one that throws has a defect, and going on past its batch would
          // skip good records. Fail the stage rather than stop silently.
          this.fail(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        // The batch counts as acknowledged once its sinks and its poison records' dead letters are durable.
        const poisonWritten = poisoned.length === 0 ? undefined : this.writePoison(poisoned);
        Promise.all([handled, poisonWritten]).then(
          ([err]) => (err ? this.fail(err) : ack()),
          (err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))),
        );
        // Advances the fetch position only; the commit waits for the acknowledgement.
        resolveOffset(last.offset);
      },
    });
    // consumer.run returns once the group is joined; the source lives until stop() or a fatal sink error.
    await finished;
  }

  /**
   * Waits until a batch may be handed over: fewer than max_unacknowledged_batches await acknowledgement (a sink that is
   * down pauses consumption), and the gate lets it through. False when the batch is no longer wanted (stale, stopping,
   * failed): kafkajs fetches it again if it still should be.
   */
  private async mayGoOn(heartbeat: () => Promise<void>, going: () => boolean): Promise<boolean> {
    while (this.tracker.unacknowledged >= this.config.max_unacknowledged_batches) {
      if (!going()) return false;
      await heartbeat();
      await sleep(20);
    }
    if (this.gate) await this.gate(heartbeat, going);
    return going();
  }

  private fail(err: Error) {
    if (this.failure) return;
    this.failure = err;
    this.settle?.reject(err);
  }

  /**
   * Commits every acknowledged prefix, one commit at a time: two in flight can land out of order (kafkajs retries a
   * failed one), and the older offsets then win. While one is in flight the newer offsets wait in the tracker for the
   * next tick. A failed commit's offsets are not tried again: the usual failure is a rebalance, after which the
   * partition may be another member's, and committing them then could move its offset back (kafkajs is patched not to
   * retry a commit across one: patches/kafkajs+2.2.4.patch). Every partition is read again from its last commit after
   * a rebalance, and those batches carry its commit on.
   */
  commit(): Promise<void> {
    if (this.committing) return this.committing;
    const offsets = this.tracker.drain();
    if (offsets.length === 0 || !this.consumer) return Promise.resolve();
    const committing = this.consumer.commitOffsets(offsets).finally(() => {
      this.committing = undefined;
    });
    this.committing = committing;
    return committing;
  }

  /** Waits (up to drainMs) for in-flight batches to be acknowledged, commits them, and leaves the group. */
  async stop(drainMs = 10_000): Promise<void> {
    if (this.commitTimer) clearInterval(this.commitTimer);
    const consumer = this.consumer;
    if (!consumer) return;
    consumer.pause(this.config.topics.map((topic) => ({ topic })));
    const deadline = Date.now() + drainMs;
    while (this.tracker.unacknowledged > 0 && Date.now() < deadline && !this.failure) await sleep(20);
    // A commit still in flight first, then what was acknowledged since.
    await this.committing?.catch(() => undefined);
    await this.commit().catch(() => undefined);
    await consumer.disconnect();
    this.settle?.resolve();
  }
}
