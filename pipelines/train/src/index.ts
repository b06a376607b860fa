// Public surface of @vigil/train.
export type { LogFeaturesOptions, LogFeaturesResult } from './log-features.js';
export { logFeatures } from './log-features.js';
export type { SampleOptions } from './training-sample.js';
export { TrainingSample } from './training-sample.js';
