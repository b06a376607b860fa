// Public surface of @vigil/bundle.
/** The TensorFlow.js backend the autoencoder runs on (tensorflow when tfjs-node is installed, else wasm, else cpu). */
export { backendName } from '@vigil/autoencoder';
export type { Reason, Rows, Scored } from './bundle.js';
export { AUTOENCODER_CLIP, combine, ENSEMBLE_DESCRIPTION, ModelBundle } from './bundle.js';
export type { Action, Manifest } from './manifest.js';
export { ACTIONS, manifestSchema } from './manifest.js';
export type { TrainingSet, TrainingSummary, TrainOptions } from './train.js';
export { DEFAULT_TARGETS, trainBundle } from './train.js';
