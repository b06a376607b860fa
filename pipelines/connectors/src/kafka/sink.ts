// Kafka sink: an idempotent producer with acks=all. write() resolves when the brokers have the records; while
// Kafka is unreachable it retries with backoff and does not resolve, so the source stops committing and pauses.
// Writes that arrive while a send is in flight are coalesced into the next send: batching without a linger delay.
import type { Kafka, Message, Producer } from 'kafkajs';
import { nonRetriable, retriable } from '../errors.js';
import { DEFAULT_RETRY, type RetryOptions, withRetry } from '../retry.js';
import type { Sink, SinkRecord } from '../types.js';

export interface KafkaSinkOptions<T> {
  topic: string;
  serialize?: (value: T) => Buffer | string;
  retry?: RetryOptions;
  onRetry?: (err: unknown) => void;
  /** Most bytes of values coalesced into one send (default 512 KiB). */
  maxRequestBytes?: number;
}

interface Pending {
  messages: Message[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class KafkaSink<T> implements Sink<T> {
  private producer: Producer | undefined;
  private queue: Pending[] = [];
  private sending = false;
  private connecting: Promise<Producer> | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: KafkaSinkOptions<T>,
  ) {}

  private connect(): Promise<Producer> {
    this.connecting ??= (async () => {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      this.producer = producer;
      return producer;
    })().catch((err: unknown) => {
      this.connecting = undefined;
      throw retriable('kafka_connect', 'cannot connect the Kafka producer', err);
    });
    return this.connecting;
  }

  write(records: SinkRecord<T>[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const serialize = this.options.serialize ?? ((v: T) => JSON.stringify(v));
    const messages: Message[] = records.map((r) => ({ key: r.key ?? null, value: serialize(r.value), headers: r.headers ?? {} }));
    const limit = this.options.maxRequestBytes ?? 512 * 1024;
    const chunks: Message[][] = [[]];
    let bytes = 0;
    for (const m of messages) {
      const size = m.value?.length ?? 0;
      if (bytes + size > limit && (chunks[chunks.length - 1] as Message[]).length > 0) {
        chunks.push([]);
        bytes = 0;
      }
      (chunks[chunks.length - 1] as Message[]).push(m);
      bytes += size;
    }
    const sent = chunks.map(
      (chunk) =>
        new Promise<void>((resolve, reject) => {
          this.queue.push({ messages: chunk, bytes: chunk.reduce((s, m) => s + (m.value?.length ?? 0), 0), resolve, reject });
        }),
    );
    void this.drain();
    return Promise.all(sent).then(() => undefined);
  }

  /**
   * Takes queued writes up to maxRequestBytes (at least one write). Kafka refuses a record batch over the topic's
   * max.message.bytes (1 MiB by default), so coalescing must stop well short of it.
   */
  private takeBatch(): Pending[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length) {
      const size = (this.queue[n] as Pending).bytes;
      if (n > 0 && bytes + size > (this.options.maxRequestBytes ?? 512 * 1024)) break;
      bytes += size;
      n++;
    }
    return this.queue.splice(0, n);
  }

  /** Sends everything queued as one request, then whatever queued meanwhile, until the queue is empty. */
  private async drain(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.takeBatch();
        try {
          await this.send(batch.flatMap((p) => p.messages));
          for (const p of batch) p.resolve();
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  private send(messages: Message[]): Promise<void> {
    return withRetry(
      async () => {
        const producer = await this.connect();
        try {
          await producer.send({ topic: this.options.topic, acks: -1, messages });
        } catch (err) {
          const name = (err as { name?: string }).name ?? '';
          // A record too large or a topic that does not exist will not fix itself by retrying.
          if (/MessageSizeTooLarge|UnknownTopicOrPartition|TopicAuthorization/i.test(`${name} ${(err as Error).message}`)) {
            throw nonRetriable('kafka_rejected', `Kafka rejected the write to ${this.options.topic}`, err);
          }
          throw retriable('kafka_send', `cannot write to ${this.options.topic}`, err);
        }
      },
      this.options.retry ?? DEFAULT_RETRY,
      { signal: this.abort.signal, onRetry: (err) => this.options.onRetry?.(err) },
    );
  }

  async close(): Promise<void> {
    this.abort.abort(new Error('sink closed'));
    await this.producer?.disconnect();
  }
}
