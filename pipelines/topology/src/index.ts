// Public surface of @vigil/topology: the detector's stages and the topics between them, declared once as data and
// checked; the wiring that builds them on Kafka reads this, and `vigil config topology` prints it.

export { describeTopology } from './describe.js';
export type { DetectorTopologyOptions } from './detector-topology.js';
export {
  changelogNames,
  codecOf,
  DEFAULT_TOPIC_NAMES,
  detectorTopology,
  ENTITY_PART_CODEC,
  memoryTopology,
} from './detector-topology.js';
export type { FeatureStageTasks, FeatureTaskOptions, StageTask } from './feature-tasks.js';
export { featureStageTasks } from './feature-tasks.js';
export type { MemoryRunOptions, TakeOutputs } from './memory-run.js';
export { MemoryRun } from './memory-run.js';
export { MemoryStages } from './memory-stages.js';
export type { Guarantee, StageDeclaration, TopicDeclaration, TopicRole, Topology } from './topology.js';
export { defineTopology, TopologyError } from './topology.js';
