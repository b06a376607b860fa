import { accessEventCodec, decisionCodec } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import { describeTopology } from './describe.js';
import {
  changelogNames,
  codecOf,
  DEFAULT_TOPIC_NAMES,
  type DetectorTopologyOptions,
  detectorTopology,
} from './detector-topology.js';
import { defineTopology, type StageDeclaration, type TopicDeclaration, TopologyError } from './topology.js';

const names = { ...DEFAULT_TOPIC_NAMES, ...changelogNames('vigil') };

const options = (o: Partial<DetectorTopologyOptions> = {}): DetectorTopologyOptions => ({
  group: 'vigil',
  inputs: [
    { topic: 'kong.logs', format: 'kong' },
    { topic: 'envoy.logs', format: 'envoy' },
  ],
  names,
  features: true,
  decisions: 'fused',
  guarantee: 'at_least_once',
  packed: true,
  clickhouse: true,
  ...o,
});

/** Every way a detector config can shape its topology. */
function everyShape(): DetectorTopologyOptions[] {
  const out: DetectorTopologyOptions[] = [];
  for (const features of [true, false])
    for (const decisions of features ? (['fused', 'stage', 'none'] as const) : (['none'] as const))
      for (const clickhouse of [true, false])
        for (const packed of [true, false])
          for (const guarantee of ['exactly_once', 'at_least_once'] as const)
            out.push(options({ features, decisions, clickhouse, packed, guarantee }));
  return out;
}

describe("the detector's topology", () => {
  it('holds together for every shape a config gives it; binary records only where vigil alone reads', () => {
    for (const o of everyShape()) {
      const t = detectorTopology(o);
      for (const topic of t.topics.values()) {
        const binary = topic.codecs.some((c) => c.format === 'binary');
        expect(binary && topic.role !== 'internal', `${topic.id} in ${JSON.stringify(o)}`).toBe(false);
      }
      const features = t.stages.find((s) => s.name === 'features');
      expect(features?.outputs.includes('decisions') ?? false).toBe(o.decisions === 'fused');
      expect(t.stages.some((s) => s.name === 'decisions')).toBe(o.decisions === 'stage');
      expect(t.stages.some((s) => s.stores?.includes('features'))).toBe(o.clickhouse && o.features);
      expect(t.topic('keyed').packed).toBe(o.packed);
    }
  });

  it('fuses scoring and the policy into the principal feature task: no Kafka hop before a decision', () => {
    const t = detectorTopology(options());
    expect(t.stage('features').chain).toEqual(['principal features', 'join entity parts', 'score', 'policy']);
    const readers = (id: string) => t.stages.filter((s) => s.inputs.includes(id)).map((s) => s.name);
    expect(readers('features')).toEqual(['features_store']);
    expect(readers('decisions')).toEqual(['decisions_store']);
  });

  it('refuses decisions without the feature stages', () => {
    expect(() => detectorTopology(options({ features: false, decisions: 'fused' }))).toThrow(TopologyError);
  });

  it('hands the wiring the codecs its topics declare, and nothing else', () => {
    const t = detectorTopology(options());
    expect(codecOf(t, 'keyed', 'access event')).toBe(accessEventCodec);
    expect(codecOf(t, 'decisions', 'decision')).toBe(decisionCodec);
    expect(() => codecOf(t, 'entities', 'entity part')).toThrow(/declares no entity part codec/);
    expect(() => codecOf(t, 'nowhere', 'access event')).toThrow(/no topic nowhere/);
  });

  it('describes every stage and topic: group, what runs, what it reads and writes, each codec and its version', () => {
    const text = describeTopology(detectorTopology(options()));
    for (const n of Object.values(names)) expect(text).toContain(n);
    expect(text).toContain('features  (group vigil.features, at least once)');
    expect(text).toContain('runs      principal features → join entity parts → score → policy');
    expect(text).toContain('key principal; access event (binary v1) and entity part (binary v1)');
    expect(text).toContain('key principal; decision (JSON)');
    expect(text).toContain('state     vigil.features-changelog');
  });
});

describe('defineTopology', () => {
  const topic = (id: string, o: Partial<TopicDeclaration> = {}): TopicDeclaration => ({
    id,
    name: id,
    role: 'internal',
    key: 'k',
    codecs: [accessEventCodec as never],
    packed: false,
    compacted: false,
    ...o,
  });
  const stage = (name: string, o: Partial<StageDeclaration> = {}): StageDeclaration => ({
    name,
    group: name,
    inputs: ['in'],
    outputs: ['mid'],
    guarantee: 'at_least_once',
    chain: ['x'],
    poison: 'dlq',
    ...o,
  });
  const base = [
    topic('in', { role: 'input', codecs: [], carries: 'logs' }),
    topic('mid'),
    topic('dlq', { role: 'dead_letter', codecs: [], carries: 'dead letters' }),
  ];
  const problems = (topics: TopicDeclaration[], stages: StageDeclaration[]) => {
    try {
      defineTopology(topics, stages);
      return [];
    } catch (err) {
      return (err as TopologyError).problems;
    }
  };

  it('takes a declaration that holds together', () => {
    expect(problems(base, [stage('a')])).toEqual([]);
  });

  it('names each thing wrong with one that does not', () => {
    expect(problems([...base, topic('out', { role: 'output' })], [stage('a')])).toEqual([
      'out: others read it, so it carries JSON, not access event',
    ]);
    expect(problems(base, [stage('a'), stage('b', { group: 'a' })])).toEqual(["b: group a is another stage's"]);
    expect(problems(base, [stage('a', { inputs: ['in', 'elsewhere'] })])).toEqual([
      'a: topic elsewhere is not declared',
    ]);
    expect(problems(base, [stage('a', { outputs: [] })])).toEqual(['mid: an internal topic no stage writes']);
    expect(problems([...base, topic('log', { compacted: true, role: 'changelog' })], [stage('a')])).toEqual([
      'log: a changelog of no stage',
    ]);
    expect(problems([...base, topic('c', { compacted: true })], [stage('a', { outputs: ['mid', 'c'] })])).toEqual([
      'c: compacted if and only if a changelog',
    ]);
    const log = topic('log', { compacted: true, role: 'changelog', codecs: [], carries: 'state' });
    expect(
      problems([...base, log], [stage('a', { changelog: 'log' }), stage('b', { changelog: 'log', outputs: [] })]),
    ).toEqual(["b: changelog log is another stage's"]);
  });
});
