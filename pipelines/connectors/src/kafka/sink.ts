// Kafka sink: an idempotent producer with acks=all. write() resolves when the brokers have the records; while
// Kafka is unreachable it retries with backoff and does not resolve, so the source stops committing and pauses.
import type { Kafka, Message, Producer } from 'kafkajs';
import { nonRetriable, retriable } from '../errors.js';
import { DEFAULT_RETRY, type RetryOptions, withRetry } from '../retry.js';
import type { Sink, SinkRecord } from '../types.js';

export interface KafkaSinkOptions<T> {
  topic: string;
  serialize?: (value: T) => Buffer | string;
  retry?: RetryOptions;
  onRetry?: (err: unknown) => void;
  compression?: 'none' | 'gzip';
}

export class KafkaSink<T> implements Sink<T> {
  private producer: Producer | undefined;
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

  async write(records: SinkRecord<T>[]): Promise<void> {
    if (records.length === 0) return;
    const serialize = this.options.serialize ?? ((v: T) => JSON.stringify(v));
    const messages: Message[] = records.map((r) => ({ key: r.key ?? null, value: serialize(r.value), headers: r.headers ?? {} }));
    await withRetry(
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
