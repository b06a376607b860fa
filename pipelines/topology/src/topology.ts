// A topology as data: the topics, each with what it carries and its codec, and the stages, each with what it reads,
// what it writes, its consumer group, its changelog, its guarantee and what it does with a record it cannot read.
// Kafka Streams' Topology and Vector's config do the same: the wiring that builds the stages reads this, a
// description is printed from it (`vigil config topology`), and defineTopology refuses a declaration that does not
// hold together before anything starts.
import type { TopicCodec } from '@vigil/events';

/**
 * input: the gateways' logs (read by vigil, written by the gateways' shippers); internal: between vigil's stages,
 * read by vigil alone; changelog: a stage's state (compacted); output: read by others too (the revoker, the
 * alerter, the SOC's tools); dead_letter: records vigil could not use, with their reasons.
 */
export type TopicRole = 'input' | 'internal' | 'changelog' | 'output' | 'dead_letter';

export interface TopicDeclaration {
  /** The name the stages use for it ("keyed"); the Kafka topic's name is `name`. */
  id: string;
  name: string;
  role: TopicRole;
  /** What its records are keyed by. */
  key: string;
  /** What its records are, when no codec of vigil's says it (gateway logs, changelog segments). */
  carries?: string;
  /** The codec its records are written and read with (what carries them: see TopicCodec). */
  codecs: readonly TopicCodec<unknown>[];
  /** Many records to a Kafka record (vigil's packed format), grouped per partition. */
  packed: boolean;
  compacted: boolean;
}

export type Guarantee = 'exactly_once' | 'at_least_once';

export interface StageDeclaration {
  name: string;
  /** The consumer group: one per stage, so each stage keeps its own offsets. */
  group: string;
  inputs: readonly string[];
  outputs: readonly string[];
  /** The compacted topic its state is checkpointed to (stateful stages). */
  changelog?: string;
  guarantee: Guarantee;
  /** What runs in the stage's task, in order, with no Kafka hop between (operator chaining). */
  chain: readonly string[];
  /** A record the stage cannot read goes to this topic with its reason (never stops the stage). */
  poison: string;
  /** Where else its results go besides topics (ClickHouse tables). */
  stores?: readonly string[];
}

export interface Topology {
  topics: ReadonlyMap<string, TopicDeclaration>;
  stages: readonly StageDeclaration[];
  topic(id: string): TopicDeclaration;
  stage(name: string): StageDeclaration;
}

/** A declaration that does not hold together; `problems` says each thing wrong. */
export class TopologyError extends Error {
  constructor(readonly problems: string[]) {
    super(`the topology does not hold together: ${problems.join('; ')}`);
  }
}

/**
 * The topology, checked: every stage's topics are declared, every internal topic is written and every input read,
 * each group and changelog belongs to one stage, binary codecs only on topics vigil alone reads. Throws
 * TopologyError.
 */
export function defineTopology(topics: readonly TopicDeclaration[], stages: readonly StageDeclaration[]): Topology {
  const byId = new Map(topics.map((t) => [t.id, t]));
  const problems = [...topicProblems(topics, byId), ...stageProblems(stages, byId)];
  if (problems.length > 0) throw new TopologyError(problems);
  return {
    topics: byId,
    stages,
    topic: (id) => byId.get(id) ?? missing('topic', id),
    stage: (name) => stages.find((s) => s.name === name) ?? missing('stage', name),
  };
}

const missing = (what: string, id: string): never => {
  throw new Error(`the topology has no ${what} ${id}`);
};

function topicProblems(topics: readonly TopicDeclaration[], byId: Map<string, TopicDeclaration>): string[] {
  const problems: string[] = [];
  if (byId.size !== topics.length) problems.push('two topics share an id');
  for (const t of topics) {
    const others = t.role === 'output' || t.role === 'dead_letter' || t.role === 'input';
    for (const c of t.codecs) {
      if (others && c.format === 'binary') problems.push(`${t.id}: others read it, so it carries JSON, not ${c.name}`);
    }
    if (t.codecs.length === 0 && t.carries === undefined) problems.push(`${t.id}: says nothing of what it carries`);
    if ((t.role === 'changelog') !== t.compacted) problems.push(`${t.id}: compacted if and only if a changelog`);
    if (t.packed && t.role !== 'internal') problems.push(`${t.id}: only internal topics carry packed records`);
  }
  return problems;
}

function stageProblems(stages: readonly StageDeclaration[], byId: Map<string, TopicDeclaration>): string[] {
  const problems: string[] = [];
  const groups = new Set<string>();
  const changelogs = new Set<string>();
  for (const s of stages) {
    if (groups.has(s.group)) problems.push(`${s.name}: group ${s.group} is another stage's`);
    groups.add(s.group);
    for (const id of [...s.inputs, ...s.outputs, s.poison, ...(s.changelog ? [s.changelog] : [])]) {
      if (!byId.has(id)) problems.push(`${s.name}: topic ${id} is not declared`);
    }
    if (s.changelog !== undefined) {
      if (changelogs.has(s.changelog)) problems.push(`${s.name}: changelog ${s.changelog} is another stage's`);
      changelogs.add(s.changelog);
      if (byId.get(s.changelog)?.role !== 'changelog') problems.push(`${s.name}: ${s.changelog} is not a changelog`);
    }
    if (s.chain.length === 0) problems.push(`${s.name}: runs nothing`);
  }
  return [...problems, ...flowProblems(stages, byId, changelogs)];
}

/** Topics no stage uses as their role needs: an internal topic nobody writes, an input nobody reads, a changelog of
 * no stage. */
function flowProblems(
  stages: readonly StageDeclaration[],
  byId: Map<string, TopicDeclaration>,
  changelogs: Set<string>,
): string[] {
  const written = new Set(stages.flatMap((s) => s.outputs));
  const read = new Set(stages.flatMap((s) => s.inputs));
  const problems: string[] = [];
  for (const t of byId.values()) {
    if (t.role === 'internal' && !written.has(t.id)) problems.push(`${t.id}: an internal topic no stage writes`);
    if (t.role === 'input' && !read.has(t.id)) problems.push(`${t.id}: an input no stage reads`);
    if (t.role === 'changelog' && !changelogs.has(t.id)) problems.push(`${t.id}: a changelog of no stage`);
  }
  return problems;
}
