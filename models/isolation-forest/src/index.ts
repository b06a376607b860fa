// Public surface of @vigil/isolation-forest.
export { averagePathLength } from './average-path.js';
export type { IsolationForestOptions, SerialisedForest } from './forest.js';
export { DEFAULT_OPTIONS, IsolationForest } from './forest.js';
export type { Matrix } from './matrix.js';
export { toMatrix } from './matrix.js';
export { rocAuc } from './roc-auc.js';
