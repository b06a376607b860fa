// A topology in words, as Kafka Streams' TopologyDescription prints one: each stage with its group, what it reads,
// what runs in its task, what it writes and where its state goes; then each topic with its key and its codec.
import type { Topology } from './topology.js';

export function describeTopology(t: Topology): string {
  const name = (id: string) => t.topic(id).name;
  const lines: string[] = ['Stages'];
  for (const s of t.stages) {
    lines.push(`  ${s.name}  (group ${s.group}, ${s.guarantee.replaceAll('_', ' ')})`);
    lines.push(`    reads     ${s.inputs.map(name).join(', ')}`);
    lines.push(`    runs      ${s.chain.join(' → ')}`);
    if (s.outputs.length > 0) lines.push(`    writes    ${s.outputs.map(name).join(', ')}`);
    if (s.stores?.length) lines.push(`    stores    ClickHouse ${s.stores.join(', ')}`);
    if (s.changelog) lines.push(`    state     ${name(s.changelog)}`);
    lines.push(`    poison    ${name(s.poison)}, with a reason code`);
  }
  lines.push('', 'Topics');
  for (const topic of t.topics.values()) {
    const carries = [
      ...topic.codecs.map((c) => `${c.name} (${c.format === 'binary' ? `binary v${c.version}` : 'JSON'})`),
      ...(topic.carries ? [topic.carries] : []),
    ].join(' and ');
    const form = [topic.packed ? 'packed' : '', topic.compacted ? 'compacted' : ''].filter(Boolean).join(', ');
    lines.push(`  ${topic.name}  [${topic.role.replace('_', ' ')}]${form ? ` ${form}` : ''}`);
    lines.push(`    key ${topic.key}; ${carries}`);
  }
  return `${lines.join('\n')}\n`;
}
