// Public surface of @vigil/detector: its config schema and the function that starts it.

export type { DetectorConfig } from './config.js';
export { detectorConfigSchema, lintDetectorConfig } from './config.js';
export type { RunningDetector } from './detector.js';
export { startDetector } from './detector.js';
export { topologyOf } from './topology.js';
