// What runs in the feature stages' tasks, and how their outputs are written: one definition for every build of the
// topology (the detector's on Kafka, the demo's on the in-memory bus), so both run the same code.
import type { StatefulTask } from '@vigil/connectors';
import type { AccessEvent, Decision } from '@vigil/events';
import {
  EntityFeatureTask,
  type EntityPart,
  type FeatureExtractor,
  type FeatureRecord,
  PrincipalFeatureTask,
} from '@vigil/features';
import { codecOf } from './detector-topology.js';
import type { Topology } from './topology.js';

/**
 * A stage's task factory and the serializer of what it writes. (Methods, not function fields: a map of stages of
 * different record types is then a map of StageTask<unknown>.)
 */
export interface StageTask<T> {
  makeTask(): StatefulTask<T>;
  /** A record's value in the codec of `topic`, the topic it goes to. */
  serialize(value: T, topic: string): Buffer | string;
}

export interface FeatureTaskOptions {
  /** A new extractor for each task (each partition has its own state; they may share one budget). */
  extractor: () => FeatureExtractor;
  reorderBoundMs: number;
  /** Let the wall clock release what a quiet partition holds (the live detector's choice; offline runs never). */
  idleRelease: boolean;
  /** Whether the tasks' state is checkpointed (default true; false for a run that never restores: the demo). */
  checkpointed?: boolean;
  /** Wraps the principal task when the topology fuses the decisions into it (@vigil/scoring's withDecisions). */
  fuse?: (task: StatefulTask<FeatureRecord>) => StatefulTask<FeatureRecord | Decision>;
}

export interface FeatureStageTasks {
  entity_features: StageTask<EntityPart>;
  features: StageTask<FeatureRecord | Decision>;
}

export function featureStageTasks(topology: Topology, o: FeatureTaskOptions): FeatureStageTasks {
  const options = { idleRelease: o.idleRelease, checkpointed: o.checkpointed !== false };
  // Each stage reads its input topic with the codecs the topology declares for it, as the writers write with them.
  const entityEvents = codecOf<AccessEvent>(topology, 'entities', 'access event');
  const principalEvents = codecOf<AccessEvent>(topology, 'keyed', 'access event');
  const parts = codecOf<EntityPart>(topology, 'keyed', 'entity part');
  const features = codecOf<FeatureRecord>(topology, 'features', 'feature record');
  const decisionTopics = new Set(
    ['decisions', 'shadow_decisions'].filter((id) => topology.topics.has(id)).map((id) => topology.topic(id).name),
  );
  const decisions = topology.topics.has('decisions') ? codecOf<Decision>(topology, 'decisions', 'decision') : undefined;
  const fuse = o.fuse;
  return {
    entity_features: {
      makeTask: () => new EntityFeatureTask(o.extractor(), o.reorderBoundMs, { ...options, events: entityEvents }),
      // Parts go back onto the principal-keyed topic, in its binary codec.
      serialize: parts.encode,
    },
    features: {
      makeTask: () => {
        const task = new PrincipalFeatureTask(o.extractor(), o.reorderBoundMs, {
          ...options,
          events: principalEvents,
          parts,
        });
        return fuse ? fuse(task) : task;
      },
      // Feature records, and the fused decisions on their own topics, each in its topic's codec.
      serialize: (v, topic) =>
        decisions && decisionTopics.has(topic) ? decisions.encode(v as Decision) : features.encode(v as FeatureRecord),
    },
  };
}
