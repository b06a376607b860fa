// Public surface of @vigil/train.

export type { FeatureTableRow } from './clickhouse-features.js';
export { readFeatureTable } from './clickhouse-features.js';
export type { LabelledRequest, LabelReport, Labels, PrecisionLine } from './labels.js';
export { labelReport, readLabels } from './labels.js';
export type { RunLogOptions, RunLogResult } from './run-log.js';
export { runLog } from './run-log.js';
export type { TrainOnLogOptions } from './train-on-log.js';
export { trainOnLog } from './train-on-log.js';
export type { SampleOptions } from './training-sample.js';
export { TrainingSample } from './training-sample.js';
