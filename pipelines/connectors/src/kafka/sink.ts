// Kafka sink: an idempotent producer with acks=all. write() resolves when the brokers have the records; while
// Kafka is unreachable it retries with backoff and does not resolve, so the source stops committing and pauses.
// Writes that arrive while a send is in flight are coalesced into the next send: batching without a linger delay.

import { DEFAULT_RETRY, nonRetriable, type RetryOptions, retriable, withRetry } from '@vigil/core';
import type { Kafka, Message } from 'kafkajs';
import type { Sink, SinkRecord } from '../types.js';
import { MAX_PACK_BYTES, packMessages, partitionerFor } from './packed.js';
import { type RecordWriter, recordWriter, rejectedForGood } from './writer.js';

export interface KafkaSinkOptions<T> {
  topic: string;
  serialize?: (value: T) => Buffer | string;
  retry?: RetryOptions;
  onRetry?: (err: unknown) => void;
  /** Most bytes of values coalesced into one send (default 512 KiB). */
  maxRequestBytes?: number;
  /** The topic's partition count: each write's records are packed per partition (packed.ts). Unset: one each. */
  packPartitions?: number;
}

interface Pending {
  messages: Message[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class KafkaSink<T> implements Sink<T> {
  private producer: RecordWriter | undefined;
  private queue: Pending[] = [];
  private sending = false;
  private connecting: Promise<RecordWriter> | undefined;
  private readonly abort = new AbortController();
  private readonly maxRequestBytes: number;
  private readonly partitionOf: ((key: string | Buffer | null) => number) | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: KafkaSinkOptions<T>,
  ) {
    this.maxRequestBytes = options.maxRequestBytes ?? 512 * 1024;
    this.partitionOf = options.packPartitions === undefined ? undefined : partitionerFor(options.packPartitions);
  }

  /** Records handed to write(), and the Kafka records they went out in (fewer when packed): how many a record carries. */
  recordsWritten = 0;
  kafkaRecordsWritten = 0;

  /** The records as Kafka messages: one each, or packed per partition. */
  private messages(records: SinkRecord<T>[]): Message[] {
    const serialize = this.options.serialize ?? ((v: T) => JSON.stringify(v));
    const messages = records.map((r) => ({ key: r.key ?? null, value: serialize(r.value), headers: r.headers ?? {} }));
    const out = this.partitionOf
      ? packMessages(messages, this.partitionOf, Math.min(MAX_PACK_BYTES, this.maxRequestBytes))
      : messages;
    this.recordsWritten += records.length;
    this.kafkaRecordsWritten += out.length;
    return out;
  }

  private connect(): Promise<RecordWriter> {
    this.connecting ??= (async () => {
      const producer = recordWriter(this.kafka);
      await producer.connect([this.options.topic]);
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
    // Split into chunks of at most maxRequestBytes, measured in bytes (a string's length counts characters).
    const chunks: Pending[] = [];
    const sent: Promise<void>[] = [];
    let current: Pending | undefined;
    for (const message of this.messages(records)) {
      const value = message.value as Buffer | string;
      const size = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
      // A chunk always gets at least one message, so one oversized value still goes out (and Kafka judges it).
      if (!current || current.bytes + size > this.maxRequestBytes) {
        // The executor runs synchronously, so the chunk exists as soon as the promise does.
        sent.push(
          new Promise<void>((resolve, reject) => {
            current = { messages: [], bytes: 0, resolve, reject };
          }),
        );
        chunks.push(current as Pending);
      }
      (current as Pending).messages.push(message);
      (current as Pending).bytes += size;
    }
    this.queue.push(...chunks);
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
      if (n > 0 && bytes + size > this.maxRequestBytes) break;
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
          await producer.sendBatch({ acks: -1, topicMessages: [{ topic: this.options.topic, messages }] });
        } catch (err) {
          // A record too large or a topic that does not exist will not fix itself by retrying.
          if (rejectedForGood(err)) {
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
