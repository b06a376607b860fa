// The topology's stateful stages built on the in-memory bus (MemoryRun: the demo, replay, features and train; the
// detector builds the same declaration on Kafka): one MemoryStatefulProcessor per stage with a changelog, reading and writing the topics the
// declaration names, in the declaration's order, each running the task its StageTask makes.
import { deadLetterPoisonWriter, type MemoryBus, MemorySink, MemoryStatefulProcessor } from '@vigil/connectors';
import type { DeadLetter } from '@vigil/events';
import { codecOf } from './detector-topology.js';
import type { StageTask } from './feature-tasks.js';
import type { Topology } from './topology.js';

export class MemoryStages {
  private readonly bus: MemoryBus;
  readonly stages: { name: string; inputs: string[]; processor: MemoryStatefulProcessor<unknown> }[];

  /** `tasks`: each stateful stage's task and serializer by stage name (featureStageTasks: the feature stages'). */
  constructor(topology: Topology, bus: MemoryBus, tasks: Readonly<Record<string, StageTask<unknown>>>) {
    const name = (id: string) => topology.topic(id).name;
    const deadLetters = (id: string) => codecOf<DeadLetter>(topology, id, 'dead letter');
    this.bus = bus;
    this.stages = topology.stages
      .filter((s) => s.changelog !== undefined)
      .map((s) => {
        const t = tasks[s.name];
        if (!t) throw new Error(`no task for the topology's stage ${s.name}`);
        const inputs = s.inputs.map(name);
        const processor = new MemoryStatefulProcessor<unknown>(bus, {
          inputTopics: inputs,
          outputTopic: name(s.outputs[0] as string),
          task: t.makeTask(),
          serialize: t.serialize,
          // As on Kafka: a dead letter on the stage's poison topic, with the record's position and the reason.
          poison: deadLetterPoisonWriter(s.name, new MemorySink(bus, name(s.poison), deadLetters(s.poison).encode)),
        });
        return { name: s.name, inputs, processor };
      });
  }

  /**
   * Runs the stages over what their inputs hold, up to `batch` records a step (default: all there is), until none
   * has anything left to read.
   */
  drain(batch = Number.POSITIVE_INFINITY): void {
    let moved = 1;
    while (moved > 0) {
      moved = 0;
      for (const { processor } of this.stages) moved += processor.step(batch);
    }
  }

  /** The input has ended: each stage in turn releases what it holds, and the stages after it read that. */
  finish(batch = Number.POSITIVE_INFINITY): void {
    for (const { processor } of this.stages) {
      this.drain(batch);
      processor.finish();
    }
    this.drain(batch);
  }

  /** Drops what every stage reading a topic has read (a long offline run keeps only what is in flight). */
  trimConsumed(): void {
    const upTo = new Map<string, number>();
    for (const { inputs, processor } of this.stages)
      for (const topic of inputs) upTo.set(topic, Math.min(upTo.get(topic) ?? Infinity, processor.position(topic)));
    for (const [topic, offset] of upTo) this.bus.trim(topic, offset);
  }

  /** Input events that arrived later than the reorder bound, as the stage `name`'s task counted them. */
  late(name: string): number {
    return this.stages.find((s) => s.name === name)?.processor.late() ?? 0;
  }
}
