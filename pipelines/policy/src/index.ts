// Public surface of @vigil/policy.
export type { PolicyConfig } from './config.js';
export { lintPolicyConfig, policyConfigSchema } from './config.js';
export type { ModelAction, ModelVerdict, PolicyDecision, PolicyInput, RequestContext, Thresholds } from './policy.js';
export { DecisionPolicy, hasCredential } from './policy.js';
export { DEFAULT_CLASS, matchesPrefix, PrefixMap, TenantResolver } from './route-class.js';
export type { Acting, RuleHit, RuleReason } from './rules.js';
