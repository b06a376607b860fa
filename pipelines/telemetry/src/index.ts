// Public surface of @vigil/telemetry: named counters and trace-context propagation over Kafka headers.

export type { PipelineCounters } from './metrics.js';
export { observeStateBudget, pipelineCounters, resetPipelineCounters } from './metrics.js';
export type { HeaderCarrier } from './trace.js';
export { extractContext, injectContext, inSpan, sampled } from './trace.js';
