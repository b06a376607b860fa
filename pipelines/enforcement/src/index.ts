// Public surface of @vigil/enforcement.

export type { BreakerState } from './breaker.js';
export { CircuitBreaker } from './breaker.js';
export type { CheckInput, CheckResult } from './check.js';
export { checkRequest } from './check.js';
export type { EnforcedAction, Enforcement, TargetKind } from './enforcement.js';
export { decodeEnforcement, enforcementId, TARGET_KINDS } from './enforcement.js';
export type { AllowlistConfig, CapsConfig, CapVerdict } from './guardrails.js';
export { Allowlist, RateCaps } from './guardrails.js';
export type { PlanOptions } from './plan.js';
export { planEnforcements } from './plan.js';
export type { AuditEntry, Outcome, RevokerOptions } from './revoker.js';
export { capNotice, Revoker } from './revoker.js';
export type { RevocationLog } from './store.js';
export { KafkaRevocationLog, MemoryRevocationLog, RevocationStore } from './store.js';
export type { HaproxyAdapterOptions } from './targets/haproxy/haproxy.js';
export { HaproxyAdapter } from './targets/haproxy/haproxy.js';
export type { HttpAdapterOptions, HttpRequestTemplate } from './targets/http/http.js';
export { fill, HttpAdapter } from './targets/http/http.js';
export { idpSessionPreset } from './targets/idp/idp.js';
export type { TargetsConfig } from './targets/index.js';
export { buildTargets, TARGETS, targetNames, targetsConfigSchema } from './targets/index.js';
export { kongPreset } from './targets/kong/kong.js';
export type { RedisAdapterOptions } from './targets/redis/redis.js';
export { RedisAdapter } from './targets/redis/redis.js';
export type { GatewayAdapter, TargetType } from './targets/target.js';
export { defineTarget } from './targets/target.js';
