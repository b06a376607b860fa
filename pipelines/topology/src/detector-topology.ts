// The detector's topology, declared: gateway logs in; ingest parses and re-keys them onto the principal- and
// entity-keyed topics; the entity stage computes each entity's features and sends them back to the principal's
// partition; the principal stage joins them onto the request and — fused, the default — scores and decides in the
// same task; ClickHouse stores read what they keep in their own groups. The detector's wiring builds its stages from
// this and nothing else; `vigil config topology FILE` prints it.
import { accessEventCodec, deadLetterCodec, decisionCodec, type TopicCodec } from '@vigil/events';
import { ENTITY_ROLES, entityPartCodec, featureRecordCodec } from '@vigil/features';
import {
  defineTopology,
  type Guarantee,
  type StageDeclaration,
  type TopicDeclaration,
  type Topology,
  TopologyError,
} from './topology.js';

/** The Kafka names of vigil's own topics unless a config names them otherwise (the detector config's defaults). */
export const DEFAULT_TOPIC_NAMES = {
  keyed: 'vigil.access.by-principal',
  entities: 'vigil.access.by-entity',
  deadLetters: 'vigil.dlq',
  features: 'vigil.features',
  decisions: 'vigil.decisions',
  shadowDecisions: 'vigil.decisions.shadow',
} as const;

/** The feature stages' changelogs, named after the detector's consumer group. */
export const changelogNames = (group: string) => ({
  featuresChangelog: `${group}.features-changelog`,
  entitiesChangelog: `${group}.entities-changelog`,
});

export interface DetectorTopologyOptions {
  /** The detector's consumer group; each stage's group is named after it. */
  group: string;
  /** The gateways' log topics, each with its log format. */
  inputs: readonly { topic: string; format: string }[];
  /** The Kafka names of vigil's own topics. */
  names: {
    keyed: string;
    entities: string;
    deadLetters: string;
    features: string;
    decisions: string;
    shadowDecisions: string;
    featuresChangelog: string;
    entitiesChangelog: string;
  };
  /** Whether the feature stages run. */
  features: boolean;
  /** Who decides: the principal feature task (fused), a stage of its own, or nobody (no bundle); needs features. */
  decisions: 'fused' | 'stage' | 'none';
  /** The feature stages' guarantee. */
  guarantee: Guarantee;
  /** Whether vigil's internal topics carry packed records. */
  packed: boolean;
  /** Whether ClickHouse keeps events, features and decisions. */
  clickhouse: boolean;
}

/**
 * The detector's topology as a run on the in-memory bus builds it (the demo, replay, features, train): the default
 * topic names, one input, the feature stages, nothing kept in ClickHouse.
 */
export function memoryTopology(o: {
  group: string;
  input: string;
  format: string;
  decisions: 'fused' | 'none';
}): Topology {
  return detectorTopology({
    group: o.group,
    inputs: [{ topic: o.input, format: o.format }],
    names: { ...DEFAULT_TOPIC_NAMES, ...changelogNames(o.group) },
    features: true,
    decisions: o.decisions,
    guarantee: 'at_least_once',
    packed: false,
    clickhouse: false,
  });
}

/** The parts that travel on the principal-keyed topic from the entity stage. */
export const ENTITY_PART_CODEC = entityPartCodec(new Set(ENTITY_ROLES));

/** Codecs of different record types in one list (a topic may carry more than one kind of record). */
const codecs = <T>(...list: TopicCodec<T>[]) => list as unknown as TopicCodec<unknown>[];

function topics(o: DetectorTopologyOptions): TopicDeclaration[] {
  const n = o.names;
  const topic = (
    id: string,
    name: string,
    role: TopicDeclaration['role'],
    key: string,
    list: TopicCodec<unknown>[],
    carries?: string,
  ): TopicDeclaration => ({
    id,
    name,
    role,
    key,
    codecs: list,
    ...(carries ? { carries } : {}),
    packed: o.packed && role === 'internal',
    compacted: role === 'changelog',
  });
  const state = "feature state: vigil's checkpoint codec, many keys to a segment record (changelog-segments.ts)";
  const out: TopicDeclaration[] = [
    ...o.inputs.map((i) => topic(inputId(i.topic), i.topic, 'input', 'none', [], `${i.format} access logs`)),
    topic(
      'keyed',
      n.keyed,
      'internal',
      'principal',
      o.features ? [...codecs(accessEventCodec), ...codecs(ENTITY_PART_CODEC)] : codecs(accessEventCodec),
    ),
    topic('dead_letters', n.deadLetters, 'dead_letter', 'none', codecs(deadLetterCodec)),
  ];
  if (!o.features) return out;
  out.push(
    topic('entities', n.entities, 'internal', 'entity (ip:…, user:…, tenant)', codecs(accessEventCodec)),
    topic('features', n.features, 'output', 'principal', codecs(featureRecordCodec)),
    topic('entities_changelog', n.entitiesChangelog, 'changelog', 'state key', [], state),
    topic('features_changelog', n.featuresChangelog, 'changelog', 'state key', [], state),
  );
  if (o.decisions === 'none') return out;
  return [
    ...out,
    topic('decisions', n.decisions, 'output', 'principal', codecs(decisionCodec)),
    topic('shadow_decisions', n.shadowDecisions, 'output', 'principal', codecs(decisionCodec)),
  ];
}

const inputId = (topic: string) => `input:${topic}`;

function stages(o: DetectorTopologyOptions): StageDeclaration[] {
  const g = o.group;
  const poison = 'dead_letters';
  const decisionOutputs = ['decisions', 'shadow_decisions'];
  const list: StageDeclaration[] = [
    {
      name: 'ingest',
      group: g,
      inputs: o.inputs.map((i) => inputId(i.topic)),
      outputs: o.features ? ['keyed', 'entities'] : ['keyed'],
      guarantee: 'at_least_once',
      chain: ['parse', 'validate', 'fingerprint', 're-key'],
      poison,
      ...(o.clickhouse ? { stores: ['access_events'] } : {}),
    },
  ];
  if (!o.features) return list;
  const fused = o.decisions === 'fused';
  list.push(
    {
      name: 'entity_features',
      group: `${g}.entities`,
      inputs: ['entities'],
      outputs: ['keyed'],
      changelog: 'entities_changelog',
      guarantee: o.guarantee,
      chain: ['entity features'],
      poison,
    },
    {
      name: 'features',
      group: `${g}.features`,
      inputs: ['keyed'],
      outputs: fused ? ['features', ...decisionOutputs] : ['features'],
      changelog: 'features_changelog',
      guarantee: o.guarantee,
      chain: fused
        ? ['principal features', 'join entity parts', 'score', 'policy']
        : ['principal features', 'join entity parts'],
      poison,
    },
  );
  if (o.decisions === 'stage')
    list.push({
      name: 'decisions',
      group: `${g}.decisions`,
      inputs: ['features'],
      outputs: decisionOutputs,
      guarantee: 'at_least_once',
      chain: ['score', 'policy'],
      poison,
    });
  if (!o.clickhouse) return list;
  list.push({
    name: 'features_store',
    group: `${g}.features-store`,
    inputs: ['features'],
    outputs: [],
    guarantee: 'at_least_once',
    chain: ['ClickHouse insert'],
    poison,
    stores: ['features'],
  });
  if (o.decisions !== 'none')
    list.push({
      name: 'decisions_store',
      group: `${g}.decisions-store`,
      inputs: decisionOutputs,
      outputs: [],
      guarantee: 'at_least_once',
      chain: ['ClickHouse insert'],
      poison,
      stores: ['decisions'],
    });
  return list;
}

/** The detector's topology for these options, checked (defineTopology). */
export function detectorTopology(o: DetectorTopologyOptions): Topology {
  if (o.decisions !== 'none' && !o.features) throw new TopologyError(['decisions need the feature stages']);
  return defineTopology(topics(o), stages(o));
}

/** The codec named `name` that `topic` declares: the wiring writes and reads with nothing else. */
export function codecOf<T>(topology: Topology, topic: string, name: string): TopicCodec<T> {
  const codec = topology.topic(topic).codecs.find((c) => c.name === name);
  if (!codec) throw new Error(`topic ${topic} declares no ${name} codec`);
  return codec as TopicCodec<T>;
}
