// Public surface of @vigil/scoring.
export type { WatcherEvents } from './bundle-watcher.js';
export { BundleWatcher } from './bundle-watcher.js';
export type { DecisionStageOptions } from './decision-stage.js';
export { createDecisionHandler, decideRecords, decisionRecords } from './decision-stage.js';
export type { FusedDecisionOptions } from './fused-task.js';
export { withDecisions } from './fused-task.js';
export { MicroBatcher } from './micro-batcher.js';
export type { OfflineDecisionOptions } from './replay.js';
export { bundleDecisions, offlineDecisions } from './replay.js';
export type { RowThresholds, ScoredRow, ScorerOptions, Verdict } from './scorer.js';
export { BundleScorer } from './scorer.js';
