// Kafka source: a kafkajs consumer group whose offsets are committed only after every sink has acknowledged what a
// batch produced (at-least-once). Batches keep flowing while earlier ones await acknowledgement, up to
// max_unacknowledged_batches; beyond that consumption pauses, which is how a down ClickHouse stops the intake
// instead of dropping data.
import type { Consumer, Kafka } from 'kafkajs';
import { OffsetTracker } from '../offset-tracker.js';
import type { Source, SourceBatch, SourceRecord } from '../types.js';
import { consumerSettings, type KafkaConsumerConfig } from './config.js';

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

export class KafkaSource implements Source {
  private consumer: Consumer | undefined;
  private readonly tracker = new OffsetTracker();
  private commitTimer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private settle: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: KafkaConsumerConfig,
  ) {}

  async run(handler: (batch: SourceBatch) => Promise<void>): Promise<void> {
    const c = this.config;
    const consumer = this.kafka.consumer(consumerSettings(c));
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: c.topics, fromBeginning: c.from_beginning });
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
        while (this.tracker.unacknowledged >= c.max_unacknowledged_batches) {
          if (!isRunning() || isStale() || this.failure) return;
          await heartbeat();
          await sleep(20);
        }
        if (this.failure) return;
        const ack = this.tracker.track(batch.topic, batch.partition, last.offset);
        const records: SourceRecord[] = batch.messages.map((m) => ({
          value: m.value ?? Buffer.alloc(0),
          key: m.key,
          headers: stringHeaders(m.headers),
          timestamp: Number(m.timestamp),
          position: { topic: batch.topic, partition: batch.partition, offset: m.offset },
        }));
        await handler({
          records,
          ack: (err) => {
            if (err) this.fail(err);
            else ack();
          },
          heartbeat,
        });
        // Advances the fetch position only; the commit waits for the acknowledgement.
        resolveOffset(last.offset);
      },
    });
    // consumer.run returns once the group is joined; the source lives until stop() or a fatal sink error.
    await finished;
  }

  private fail(err: Error) {
    if (this.failure) return;
    this.failure = err;
    this.settle?.reject(err);
  }

  /** Commits every acknowledged prefix. */
  async commit(): Promise<void> {
    const offsets = this.tracker.drain();
    if (offsets.length > 0 && this.consumer) await this.consumer.commitOffsets(offsets);
  }

  /** Waits (up to drainMs) for in-flight batches to be acknowledged, commits them, and leaves the group. */
  async stop(drainMs = 10_000): Promise<void> {
    if (this.commitTimer) clearInterval(this.commitTimer);
    const consumer = this.consumer;
    if (!consumer) return;
    consumer.pause(this.config.topics.map((topic) => ({ topic })));
    const deadline = Date.now() + drainMs;
    while (this.tracker.unacknowledged > 0 && Date.now() < deadline && !this.failure) await sleep(20);
    await this.commit().catch(() => undefined);
    await consumer.disconnect();
    this.settle?.resolve();
  }
}
