// The whole topology on the in-memory bus, fed batch by batch: ingest (the detector's handler: parse, validate,
// fingerprint, re-key) writes the principal- and entity-keyed topics in their codecs, the stateful stages run over
// them, and what they wrote on the output topics is handed to the caller, decoded with the topics' codecs. The demo,
// `vigil replay`, `vigil features` and `vigil train` run this — the detector's own stages, not a copy of their logic.
// A long run keeps only what is in flight: records every reader has read, and outputs once handed out, are dropped
// (`retain` keeps them, for a caller that reads the bus afterwards).
import type { Adapter } from '@vigil/adapters';
import { MemoryBus, MemorySink, type SourceRecord } from '@vigil/connectors';
import type { AccessEvent, DeadLetter } from '@vigil/events';
import { createIngestHandler, type DeadLetterPolicy, REDACTED_DEAD_LETTERS } from '@vigil/ingest';
import { codecOf } from './detector-topology.js';
import type { StageTask } from './feature-tasks.js';
import { MemoryStages } from './memory-stages.js';
import type { Topology } from './topology.js';

/** The records an output topic got since the last step, decoded with the topic's codec. */
export type TakeOutputs = <T>(topicId: string) => T[];

export interface MemoryRunOptions {
  topology: Topology;
  /** Each stateful stage's task and serializer by stage name (featureStageTasks). */
  tasks: Readonly<Record<string, StageTask<unknown>>>;
  /** The gateway log's adapter (the input topics' format). */
  adapter: Adapter;
  /** What dead letters keep of the original record (default: redacted, as the detector's default). */
  deadLetters?: DeadLetterPolicy;
  /** Trace one input record in N (default: none). */
  traceOneIn?: number;
  /** Records a stage reads per step (default: all its inputs hold; tests vary it). */
  stageBatch?: number;
  /** Keep every record on the bus (default false: what every reader has read is dropped). */
  retain?: boolean;
  /** Receives the events ingest passed on, each batch's before the stages run (ClickHouse's access events, say). */
  onEvents?: (events: AccessEvent[]) => Promise<void> | void;
  /**
   * Called after each step with what the output topics (decisions, features, dead letters …) got since the last
   * one, in the order written; what it does not take is dropped unless `retain`.
   */
  onStep?: (take: TakeOutputs) => Promise<void> | void;
}

export class MemoryRun {
  readonly bus = new MemoryBus();
  private readonly stages: MemoryStages;
  private readonly ingest: (records: SourceRecord[]) => Promise<void>;
  private readonly outputs: string[];
  /** Per output topic, the offset up to which it was handed out. */
  private readonly handedOut = new Map<string, number>();
  /** Events ingest passed on (the input records that were not dead-lettered). */
  events = 0;
  /** Time spent in ingest, and in the stateful stages with what onStep did with their outputs. */
  readonly seconds = { ingest: 0, stages: 0 };

  constructor(private readonly o: MemoryRunOptions) {
    const t = o.topology;
    this.stages = new MemoryStages(t, this.bus, o.tasks);
    const read = new Set(t.stages.filter((s) => s.name !== 'ingest').flatMap((s) => s.inputs));
    this.outputs = [...t.topics.values()]
      .filter((d) => d.role !== 'input' && d.role !== 'changelog' && !read.has(d.id))
      .map((d) => d.id);
    this.ingest = ingestInto(this.bus, t, o);
  }

  /** One batch of the gateway log: ingest, the stages over what it wrote, then the step's outputs to onStep. */
  async push(records: SourceRecord[]): Promise<void> {
    const keyed = this.o.topology.topic('keyed').name;
    const before = this.bus.end(keyed);
    const t0 = performance.now();
    await this.ingest(records);
    const t1 = performance.now();
    this.events += this.bus.end(keyed) - before;
    if (this.o.onEvents) {
      const codec = codecOf<AccessEvent>(this.o.topology, 'keyed', 'access event');
      await this.o.onEvents(
        this.bus.read<Buffer>(keyed, before, this.bus.end(keyed)).map((r) => codec.decode(r.value)),
      );
    }
    this.stages.drain(this.o.stageBatch);
    await this.step();
    this.seconds.ingest += (t1 - t0) / 1000;
    this.seconds.stages += (performance.now() - t1) / 1000;
  }

  /** The input has ended: the stages release what they hold (their tasks' flush), and the last outputs go out. */
  async finish(): Promise<void> {
    const t0 = performance.now();
    this.stages.finish(this.o.stageBatch);
    await this.step();
    this.seconds.stages += (performance.now() - t0) / 1000;
  }

  /** Input events that arrived later than the reorder bound, as the stage `stage` counted them. */
  late(stage = 'features'): number {
    return this.stages.late(stage);
  }

  private async step(): Promise<void> {
    const take = <T>(id: string): T[] => {
      const name = this.o.topology.topic(id).name;
      const from = this.handedOut.get(id) ?? 0;
      const to = this.bus.end(name);
      this.handedOut.set(id, to);
      const codec = this.o.topology.topic(id).codecs[0];
      if (!codec) throw new Error(`${id} declares no codec to read it with`);
      return this.bus.read<Buffer>(name, from, to).map((r) => codec.decode(r.value) as T);
    };
    await this.o.onStep?.(take);
    if (this.o.retain) return;
    this.stages.trimConsumed();
    for (const id of this.outputs) {
      const name = this.o.topology.topic(id).name;
      this.handedOut.set(id, this.bus.end(name));
      this.bus.trim(name, this.bus.end(name));
    }
  }
}

/** The detector's ingest handler writing onto the bus in the topology's codecs; resolves when the batch is written. */
function ingestInto(
  bus: MemoryBus,
  t: Topology,
  o: Pick<MemoryRunOptions, 'adapter' | 'deadLetters' | 'traceOneIn'>,
): (records: SourceRecord[]) => Promise<void> {
  const events = (id: string) =>
    new MemorySink(bus, t.topic(id).name, codecOf<AccessEvent>(t, id, 'access event').encode);
  const handler = createIngestHandler({
    adapterFor: () => o.adapter,
    sinks: {
      events: events('keyed'),
      ...(t.topics.has('entities') ? { entities: events('entities') } : {}),
      deadLetters: new MemorySink(
        bus,
        t.topic('dead_letters').name,
        codecOf<DeadLetter>(t, 'dead_letters', 'dead letter').encode,
      ),
    },
    deadLetters: o.deadLetters ?? REDACTED_DEAD_LETTERS,
    traceOneIn: o.traceOneIn ?? Number.MAX_SAFE_INTEGER,
  });
  return (records) =>
    new Promise<void>((resolve, reject) => {
      handler({
        records,
        // The handler acknowledges once its sinks have written (the bus: at once).
        ack: (err) => (err ? reject(err) : resolve()),
        heartbeat: async () => {},
        poison: () => {},
      }).catch(reject);
    });
}
