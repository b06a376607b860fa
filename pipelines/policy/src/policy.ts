// The decision policy: one function turns a request's calibrated model score and its rule hits into one action about
// one entity, with reasons. How they combine (docs/policy.md):
//
// 1. The model's action is the strongest one whose threshold the calibrated score exceeds — the bundle's thresholds,
//    overridden per route class by `policy.thresholds` (see `thresholdsFor`). It is about the principal. On a login
//    (a username, no token yet) it is capped at `policy.login_model_action` (default alert): the gateway's only answer
//    to a login is throttling the username, and the models alone should not lock a customer out. When no rule that
//    acts (above alert) fires on the request it is capped at `policy.model_alone_action` (default step_up): a score
//    alone earns a challenge, ending a session takes two independent signals.
// 2. Each rule that fires proposes its own action about its own entity (impossible travel → revoke the principal;
//    IP credential stuffing → throttle the IP …).
// 3. The strongest proposal wins (allow < alert < throttle < step_up < revoke); on a tie a rule beats the model, since
//    a rule's entity is the more specific one. Reasons: the rules' first, then the model's top features.
// 4. An action must have something to act on: a principal known only by its client IP has no token to revoke or
//    step up, so those become a throttle of the IP — unless the IP is shared by many users (carrier NAT), where they
//    stay an alert.
// `score` stays the calibrated model score; `scores.rules` is 1 when a rule fired.
import type { Action, Entity, Principal } from '@vigil/events';
import { decodeFeature, type FeatureName } from '@vigil/features/declarations';
import type { PolicyConfig } from './config.js';
import { DEFAULT_CLASS, PrefixMap, TenantResolver } from './route-class.js';
import { type Acting, buildRules, hasToken, type LearnedThresholds, type RuleHit, type RuleReason } from './rules.js';

const NONE: LearnedThresholds = Object.freeze({});

const SEVERITY: Record<Action, number> = { allow: 0, alert: 1, throttle: 2, step_up: 3, revoke: 4 };

export type ModelAction = 'allow' | 'alert' | 'step_up' | 'revoke';
export type Thresholds = Partial<Record<'alert' | 'step_up' | 'revoke', number>>;

export interface RequestContext {
  route: string;
  method: string;
  status: number;
  service?: string;
  /** ISO country of the client IP, when GeoIP knows it. */
  country?: string;
}

export interface ModelVerdict {
  score: number;
  action: ModelAction;
  scores: { iforest: number; autoencoder: number };
  reasons: RuleReason[];
}

export interface PolicyInput {
  /** The request's feature vector, in the order of the policy's feature names. */
  v: ArrayLike<number>;
  ctx: RequestContext;
  ids: Principal;
  model: ModelVerdict;
  /** The rule thresholds the scoring bundle learned from the user's traffic (never below the configured constants). */
  learned?: LearnedThresholds;
}

export interface PolicyDecision {
  action: Action;
  entity: Entity;
  score: number;
  scores: { iforest: number; autoencoder: number; rules?: number };
  reasons: RuleReason[];
  /** Names of the rules that fired. */
  rules: string[];
  route_class: string;
  tenant?: string;
}

/** A principal with something a gateway can refuse: a token or credential, or a username. */
export const hasCredential = (ids: Principal) => hasToken(ids) || ids.username !== undefined;

export class DecisionPolicy {
  private readonly index: Map<string, number>;
  private readonly classes: PrefixMap;
  private readonly tenants: TenantResolver;
  private readonly rules: ReturnType<typeof buildRules>;
  /** Enabled rules the feature schema cannot feed (named in the detector's start-up log). */
  readonly inactiveRules: string[];

  constructor(
    private readonly config: PolicyConfig,
    featureNames: readonly string[],
  ) {
    this.index = new Map(featureNames.map((n, i) => [n, i]));
    this.classes = new PrefixMap(config.route_classes);
    this.tenants = new TenantResolver(config.tenant);
    const all = buildRules(config.rules);
    this.rules = all.filter((r) => r.enabled && r.needs.every((n) => this.index.has(n)));
    this.inactiveRules = all.filter((r) => r.enabled && !this.rules.includes(r)).map((r) => r.name);
  }

  routeClass(route: string): string {
    return this.classes.lookup(route) ?? DEFAULT_CLASS;
  }

  /** The policy's threshold overrides for a route (undefined: the bundle's defaults). */
  thresholdsFor(route: string): Thresholds | undefined {
    return this.config.thresholds[this.routeClass(route)];
  }

  decide(input: PolicyInput): PolicyDecision {
    const { v, ctx, ids, model } = input;
    const feature = (name: FeatureName) => {
      const i = this.index.get(name);
      return i === undefined ? undefined : (v[i] as number);
    };
    const hits: RuleHit[] = [];
    const facts = { feature, route: ctx.route, ...(ctx.country ? { country: ctx.country } : {}), ids };
    const learned = input.learned ?? NONE;
    for (const rule of this.rules) for (const hit of rule.evaluate(facts, learned)) hits.push(hit);

    // Only a rule that acts corroborates a score: an alert-level rule (a probe's first sign, a paced cadence) is a
    // notice, not the second signal a revocation needs.
    const acting = hits.filter((h) => SEVERITY[h.action] > SEVERITY.alert).length;
    let action: Action = this.capAlone(this.capLogin(model.action, ids), acting);
    let entity: Entity = 'principal';
    for (const h of hits) {
      if (SEVERITY[h.action] >= SEVERITY[action]) {
        action = h.action;
        entity = h.entity;
      }
    }
    ({ action, entity } = this.enforceable(action, entity, ids, feature));
    const reasons = [
      ...[...hits].sort((a, b) => SEVERITY[b.action] - SEVERITY[a.action]).map((h) => h.reason),
      ...model.reasons,
    ];
    const tenant = this.tenants.tenantOf(ctx, ids);
    return {
      action,
      entity,
      score: model.score,
      scores: hits.length > 0 ? { ...model.scores, rules: 1 } : { ...model.scores },
      reasons,
      rules: [...new Set(hits.map((h) => h.rule))],
      route_class: this.routeClass(ctx.route),
      ...(tenant !== undefined ? { tenant } : {}),
    };
  }

  /** The models' action when no acting rule corroborates it (config.model_alone_action). */
  private capAlone(action: ModelAction, actingRules: number): ModelAction {
    const cap = this.config.model_alone_action;
    return actingRules === 0 && SEVERITY[action] > SEVERITY[cap] ? cap : action;
  }

  /** The models' action on a login (a username, no token), capped at policy.login_model_action. */
  private capLogin(action: ModelAction, ids: Principal): ModelAction {
    const login = ids.username !== undefined && !hasToken(ids);
    const cap = this.config.login_model_action;
    return login && SEVERITY[action] > SEVERITY[cap] ? cap : action;
  }

  private enforceable(
    action: Action,
    entity: Entity,
    ids: Principal,
    feature: (n: FeatureName) => number | undefined,
  ): { action: Action; entity: Entity } {
    if (entity !== 'principal' || hasCredential(ids) || (action !== 'revoke' && action !== 'step_up'))
      return { action, entity };
    const users = Math.round(
      decodeFeature('ip_distinct_usernames_10m_log', feature('ip_distinct_usernames_10m_log') ?? 0),
    );
    if (users >= this.config.rules.ip_stuffing.shared_ip_usernames) return { action: 'alert', entity: 'ip' };
    return { action: 'throttle' satisfies Acting, entity: 'ip' };
  }
}
