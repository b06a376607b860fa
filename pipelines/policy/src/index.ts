// Public surface of @vigil/policy.
export type { PolicyConfig } from './config.js';
export { lintPolicyConfig, policyConfigSchema } from './config.js';
export type { LabelledVector, LabelMove, Verdict } from './label-fit.js';
export { applyLabels } from './label-fit.js';
export type { ModelAction, ModelVerdict, PolicyDecision, PolicyInput, RequestContext, Thresholds } from './policy.js';
export { DecisionPolicy, hasCredential } from './policy.js';
export { DEFAULT_CLASS, matchesPrefix, PrefixMap, TenantResolver } from './route-class.js';
export type { CohortThreshold, RuleThresholdFit } from './rule-fit.js';
export {
  DEFAULT_RULE_TARGETS,
  learnedThresholds,
  MIN_PRINCIPAL_DAYS,
  RuleThresholdFitter,
  UNRESOLVED_MAX_LIFT,
  wilsonUpper,
} from './rule-fit.js';
export type { Acting, LearnableRule, LearnedThresholds, RuleHit, RuleReason, RuleStatistic } from './rules.js';
export { effectiveThreshold, LEARNABLE_RULES, RULE_STATISTICS } from './rules.js';
