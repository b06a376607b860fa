// In-memory topics for the embedded demo and unit tests — never a stand-in for Kafka in an integration test.
// A topic is an append-only array; a source reads it in batches and counts acknowledgements like Kafka's would.
import type { Poisoned } from '../poison.js';
import type { Sink, SinkRecord, Source, SourceBatch, SourceRecord } from '../types.js';

export class MemoryBus {
  private readonly topics = new Map<string, SinkRecord<unknown>[]>();
  private readonly waiters = new Set<() => void>();

  topic<T>(name: string): SinkRecord<T>[] {
    let t = this.topics.get(name);
    if (!t) {
      t = [];
      this.topics.set(name, t);
    }
    return t as SinkRecord<T>[];
  }

  append<T>(name: string, records: SinkRecord<T>[]): void {
    const t = this.topic<T>(name);
    for (const r of records) t.push(r);
    for (const w of this.waiters) w();
  }

  /** Resolves at the next append anywhere, or after timeoutMs. */
  changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }
}

/** A record on the bus as a stage reads it: its value's bytes (a value not yet bytes as JSON), at its offset. */
export function memoryRecord(topic: string, offset: number, r: SinkRecord<unknown>): SourceRecord {
  const v = r.value;
  return {
    value: Buffer.isBuffer(v) ? v : Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)),
    key: r.key == null ? null : Buffer.from(r.key),
    headers: r.headers ?? {},
    position: { topic, partition: 0, offset: String(offset) },
  };
}

export class MemorySink<T> implements Sink<T> {
  /** `serialize`: the topic's codec, so readers get the bytes a Kafka topic would hold (else values as they are). */
  constructor(
    private readonly bus: MemoryBus,
    private readonly topicName: string,
    private readonly serialize?: (value: T) => Buffer | string,
  ) {}
  async write(records: SinkRecord<T>[]): Promise<void> {
    const serialize = this.serialize;
    this.bus.append<unknown>(
      this.topicName,
      serialize ? records.map((r) => ({ ...r, value: serialize(r.value) })) : records,
    );
  }
  async close(): Promise<void> {}
}

export interface MemorySourceOptions {
  batchSize: number;
  /** Stop once the topic is drained instead of waiting for more (the demo's finite input). */
  stopWhenDrained: boolean;
}

export class MemorySource implements Source {
  private stopped = false;
  private next = 0;
  private unacked = 0;
  acknowledged = 0;

  constructor(
    private readonly bus: MemoryBus,
    private readonly topicName: string,
    private readonly options: MemorySourceOptions,
  ) {}

  /** Records handlers set aside as poison (the demo reports them). */
  readonly poisoned: Poisoned[] = [];

  async run(handler: (batch: SourceBatch) => Promise<void>): Promise<void> {
    const topic = this.bus.topic<unknown>(this.topicName);
    while (!this.stopped) {
      if (this.next >= topic.length) {
        if (this.options.stopWhenDrained && this.unacked === 0) return;
        await this.bus.changed(20);
        continue;
      }
      const slice = topic.slice(this.next, this.next + this.options.batchSize);
      const records = slice.map((r, i) => memoryRecord(this.topicName, this.next + i, r));
      this.next += slice.length;
      this.unacked++;
      let acked = false;
      await handler({
        records,
        ack: (err) => {
          if (acked) return;
          acked = true;
          this.unacked--;
          if (err) throw err;
          this.acknowledged += records.length;
        },
        heartbeat: async () => {},
        poison: (record, detail) => this.poisoned.push({ record, detail }),
      });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}
