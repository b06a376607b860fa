// Public surface of @vigil/alerter: its config schema and the functions that start it.

export type { RunningAlerter } from './alerter-service.js';
export { auditRow, openClickHouse, startAlerter, writeLabel } from './alerter-service.js';
export type { AlerterConfig } from './config.js';
export { alerterConfigSchema, lintAlerterConfig } from './config.js';
