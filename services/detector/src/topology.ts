// The detector's config, read as its topology (@vigil/topology): which stages run, in which groups, between which
// topics. The wiring builds the stages from this; `vigil config topology FILE` prints it.
import { changelogNames, detectorTopology, type Topology } from '@vigil/topology';
import type { DetectorConfig } from './config.js';

export function topologyOf(config: DetectorConfig): Topology {
  const group = config.consumer.group_id;
  const f = config.features;
  const decides = f.enabled && config.scoring.bundle !== undefined;
  return detectorTopology({
    group,
    // A topic named twice is read once (as the consumer subscribes to it once).
    inputs: [...new Set(config.consumer.topics)].map((topic) => ({
      topic,
      format: config.topic_formats[topic] ?? config.format,
    })),
    names: {
      keyed: config.topics.keyed,
      entities: config.topics.entities,
      deadLetters: config.topics.dead_letter,
      features: f.topic,
      decisions: config.scoring.topic,
      shadowDecisions: config.scoring.shadow_topic,
      ...changelogNames(group),
      ...(f.changelog_topic !== undefined ? { featuresChangelog: f.changelog_topic } : {}),
    },
    features: f.enabled,
    decisions: decides ? (config.scoring.fused ? 'fused' : 'stage') : 'none',
    guarantee: f.guarantee,
    packed: config.topics.packed,
    clickhouse: config.clickhouse !== undefined,
  });
}
