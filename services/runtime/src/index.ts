// Public surface of @vigil/runtime: config loading, the ops HTTP server, shutdown and logging.

export type { Lint } from './config.js';
export { applyEnvOverrides, ConfigError, loadConfig, parseConfig } from './config.js';
export type { OpsServer } from './http.js';
export { startOpsServer } from './http.js';
export { logEvent, onShutdown, retryReporter, runUntilDone } from './lifecycle.js';
export { pepperProblem, pepperSecretSchema } from './pepper.js';
export type { RunningService, ServiceLife, ServiceParts, ServiceTelemetry } from './service.js';
export { Runs, startService } from './service.js';
export type { Tracing } from './tracing.js';
export { installTracing } from './tracing.js';
