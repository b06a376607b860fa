// Public surface of @vigil/revoker: its config schema and the functions that start it.
export type { RevokerConfig } from './config.js';
export { lintRevokerConfig, revokerConfigSchema } from './config.js';
export type { RunningRevoker } from './revoker-service.js';
export { auditRow, openRevoker, startRevoker } from './revoker-service.js';
