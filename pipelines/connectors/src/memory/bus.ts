// In-memory topics for the embedded demo, offline runs and unit tests — never a stand-in for Kafka in an integration
// test. A topic is an append-only log with Kafka's offsets; a source reads it in batches and counts acknowledgements
// like Kafka's would. What every reader has read can be trimmed (a long offline run keeps only what is in flight, as
// a Kafka topic's retention would): offsets stay where they were.
import type { Poisoned } from '../poison.js';
import type { Sink, SinkRecord, Source, SourceBatch, SourceRecord } from '../types.js';

interface Log {
  /** The offset of records[0]: how many records were trimmed. */
  base: number;
  records: SinkRecord<unknown>[];
}

export class MemoryBus {
  private readonly logs = new Map<string, Log>();
  private readonly waiters = new Set<() => void>();

  private log(name: string): Log {
    let t = this.logs.get(name);
    if (!t) {
      t = { base: 0, records: [] };
      this.logs.set(name, t);
    }
    return t;
  }

  /** The records a topic still holds (all of them unless trimmed), oldest first. */
  topic<T>(name: string): SinkRecord<T>[] {
    return this.log(name).records as SinkRecord<T>[];
  }

  /** The offset the next record appended to `name` gets. */
  end(name: string): number {
    const t = this.log(name);
    return t.base + t.records.length;
  }

  /** The records at offsets [from, to), as many of them as the topic still holds. */
  read<T>(name: string, from: number, to: number): SinkRecord<T>[] {
    const t = this.log(name);
    return t.records.slice(Math.max(0, from - t.base), Math.max(0, to - t.base)) as SinkRecord<T>[];
  }

  /** Drops the records below offset `before` (every reader is past them). */
  trim(name: string, before: number): void {
    const t = this.log(name);
    const n = Math.min(before - t.base, t.records.length);
    if (n <= 0) return;
    t.records = n === t.records.length ? [] : t.records.slice(n);
    t.base += n;
  }

  append<T>(name: string, records: SinkRecord<T>[]): void {
    const t = this.log(name).records;
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
    while (!this.stopped) {
      if (this.next >= this.bus.end(this.topicName)) {
        if (this.options.stopWhenDrained && this.unacked === 0) return;
        await this.bus.changed(20);
        continue;
      }
      const slice = this.bus.read(this.topicName, this.next, this.next + this.options.batchSize);
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
