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

export class MemorySink<T> implements Sink<T> {
  constructor(
    private readonly bus: MemoryBus,
    private readonly topicName: string,
  ) {}
  async write(records: SinkRecord<T>[]): Promise<void> {
    this.bus.append(this.topicName, records);
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
      const records: SourceRecord[] = slice.map((r, i) => ({
        value: Buffer.isBuffer(r.value)
          ? r.value
          : Buffer.from(typeof r.value === 'string' ? r.value : JSON.stringify(r.value)),
        key: r.key == null ? null : Buffer.from(r.key),
        headers: r.headers ?? {},
        position: { topic: this.topicName, partition: 0, offset: String(this.next + i) },
      }));
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
