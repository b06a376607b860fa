// A stateful stage on the in-memory bus: the same StatefulTask a KafkaStatefulProcessor runs on a Kafka partition,
// run here over one in-memory topic (one partition) for the embedded demo and offline runs. No checkpoints: state
// lives as long as the process, so the task's changelog records are drained and dropped (which also keeps the task's
// change tracking bounded). Outputs are written with the stage's serializer, as on Kafka, so the next stage reads
// the bytes a Kafka topic would hold; poison records go where the stage's poison goes (its dead-letter topic).
import type { PoisonWriter } from '../poison.js';
import type { SinkRecord, StatefulTask } from '../types.js';
import { type MemoryBus, memoryRecord } from './bus.js';

export interface MemoryStatefulOptions<T> {
  /** The topics it reads, in this order within each step. */
  inputTopics: readonly string[];
  /** Where outputs go unless a record names its own topic (SinkRecord.topic: a side output). */
  outputTopic: string;
  task: StatefulTask<T>;
  /** A record's value as the topic it goes to carries it (its codec). */
  serialize: (value: T, topic: string) => Buffer | string;
  /**
   * Where the records the task set aside as poison go (deadLetterPoisonWriter onto a MemorySink: the bus is
   * written at once, so nothing is awaited).
   */
  poison: PoisonWriter;
}

export class MemoryStatefulProcessor<T> {
  private readonly next: number[];

  constructor(
    private readonly bus: MemoryBus,
    private readonly o: MemoryStatefulOptions<T>,
  ) {
    this.next = o.inputTopics.map(() => 0);
  }

  /** Processes what its input topics hold beyond what it has read, up to `max` records; returns how many. */
  step(max = Number.POSITIVE_INFINITY): number {
    let taken = 0;
    for (const [i, topic] of this.o.inputTopics.entries()) {
      const from = this.next[i] as number;
      const to = Math.min(this.bus.end(topic), from + (max - taken));
      if (to <= from) continue;
      const records = this.bus.read<unknown>(topic, from, to).map((r, j) => memoryRecord(topic, from + j, r));
      this.next[i] = to;
      taken += to - from;
      this.write(this.o.task.process(records));
    }
    return taken;
  }

  /** The offset of the next record it reads of `topic`, one of its inputs. */
  position(topic: string): number {
    return this.next[this.o.inputTopics.indexOf(topic)] ?? 0;
  }

  /** Input records that arrived later than the task's reorder bound, so far (StatefulTask.late). */
  late(): number {
    return this.o.task.late?.() ?? 0;
  }

  /** The input has ended: what the task still holds is released (StatefulTask.flush). */
  finish(): void {
    this.write(this.o.task.flush?.() ?? []);
  }

  private write(outputs: SinkRecord<T>[]): void {
    this.o.task.drainChanges();
    const poisoned = this.o.task.drainPoison?.() ?? [];
    if (poisoned.length > 0) void this.o.poison(poisoned);
    if (outputs.length === 0) return;
    const byTopic = new Map<string, SinkRecord<Buffer>[]>();
    for (const out of outputs) {
      const topic = out.topic ?? this.o.outputTopic;
      const list = byTopic.get(topic) ?? [];
      byTopic.set(topic, list);
      // Bytes, as a Kafka topic holds them.
      const value = this.o.serialize(out.value, topic);
      list.push({ key: out.key ?? null, value: Buffer.from(value), headers: out.headers ?? {} });
    }
    for (const [topic, records] of byTopic) this.bus.append(topic, records);
  }
}
