// The explicit rules: unambiguous patterns a model sees weakly (an isolation forest scores one feature at a time and
// cannot rank "ten times the training maximum" above "just past it"). Each reads named features of the request's
// vector — the same event-time features the models read, so rules are as deterministic as scores — and names the
// entity to act on. A rule whose features the schema lacks is off, and `inactiveRules` says so.
//
// Rules are models too: a constant that fits one bank's traffic fires on another's payroll runs and carrier hops. So
// each rule with a threshold states it as a *statistic* (the number it compares, `RULE_STATISTICS`), and `vigil
// train` fits the threshold on the user's own benign traffic for a target false-positive rate per principal-day
// (rule-fit.ts). A bundle carries those fitted thresholds; the configured constant stays as the prior and the safety
// floor: a rule never fires below it, and fires at the fitted value where the user's traffic needs more.
import { type Entity, FORGIVEN_LOGIN_FAILURES, type Principal } from '@vigil/events';
import { decodeFeature, type FeatureName } from '@vigil/features/declarations';
import type { PolicyConfig } from './config.js';
import { matchesPrefix } from './route-class.js';

export type Acting = 'alert' | 'throttle' | 'step_up' | 'revoke';

export interface RuleReason {
  feature: string;
  value: number;
  baseline: number;
  contribution: number;
}

export interface RuleHit {
  rule: string;
  action: Acting;
  entity: Entity;
  reason: RuleReason;
}

export interface RuleInput {
  /** A feature's value as the vector holds it, by name; undefined when the schema has no such feature. */
  feature: (name: FeatureName) => number | undefined;
  route: string;
  /** ISO country of the client IP; undefined when GeoIP does not know it (geo-fences then do not fire). */
  country?: string;
  ids: Principal;
}

/** A feature's value before its declared encoding (a count, km/h, seconds); undefined when the schema lacks it. */
const decoded = (x: Pick<RuleInput, 'feature'>, name: FeatureName): number | undefined => {
  const v = x.feature(name);
  return v === undefined ? undefined : decodeFeature(name, v);
};

/** A counted feature (declared log1p of a count) as the whole count it encodes; 0 when the schema lacks it. */
const count = (x: Pick<RuleInput, 'feature'>, name: FeatureName) => Math.round(decoded(x, name) ?? 0);

/**
 * A request from a country new to the principal, or from an address GeoIP cannot place at all (a datacenter range or
 * proxy it has no record of is no evidence of home). A schema without geo_known judges by the country alone.
 */
const fromElsewhere = (x: Pick<RuleInput, 'feature'>) =>
  x.feature('geo_known') === 0 || (x.feature('geo_country_changed') === 1 && x.feature('geo_country_new') !== 0);

/** A principal that holds a token or gateway credential: a subject, a token id or fingerprint, a credential id. */
export const hasToken = (ids: Principal) =>
  ids.sub !== undefined ||
  ids.jti !== undefined ||
  ids.token_fingerprint !== undefined ||
  ids.credential_id !== undefined;

const hit = (
  rule: string,
  action: Acting,
  entity: Entity,
  feature: string,
  value: number,
  baseline: number,
): RuleHit => ({
  rule,
  action,
  entity,
  reason: { feature: `rule:${rule}:${feature}`, value, baseline, contribution: 1 },
});

/** Thresholds a bundle learned from the user's traffic, by rule (see rule-fit.ts); absent rules use their constant. */
export type LearnedThresholds = Readonly<Partial<Record<string, number>>>;

interface Rule {
  name: keyof PolicyConfig['rules'];
  needs: FeatureName[];
  enabled: boolean;
  evaluate: (x: RuleInput, learned: LearnedThresholds) => RuleHit[];
}

/** A rule whose threshold is learned: the statistic it compares, and how (above: stat > threshold; at_least: ≥). */
export interface RuleStatistic {
  rule: LearnableRule;
  /** The config key holding the constant (the prior and floor). */
  parameter: string;
  fires: 'above' | 'at_least';
  /** Integer statistics (counts): a fitted threshold steps by 1. */
  integer: boolean;
  /** The constant from the config. */
  prior: (config: PolicyConfig['rules']) => number;
  /** The request's statistic, or undefined when the rule's other conditions do not hold (it cannot fire). */
  of: (x: Pick<RuleInput, 'feature'>, config: PolicyConfig['rules']) => number | undefined;
  /**
   * Strata fitted apart from the rest of the rule's traffic (each with its share of the rule's budget), and which a
   * request is in (undefined: the rule's main stratum). A cold start the statistic cannot judge gets its own bar, so
   * it does not set the bar for everyone else.
   */
  strata?: readonly string[];
  stratum?: (x: Pick<RuleInput, 'feature'>, config: PolicyConfig['rules']) => string | undefined;
}

export const LEARNABLE_RULES = [
  'impossible_travel',
  'enumeration',
  'enumeration_probe',
  'velocity',
  'sustained_activity',
  'payment_anomaly',
  'stuffing_success',
  'surge_login',
  'ip_stuffing',
  'ip_stuffing_probe',
] as const;
export type LearnableRule = (typeof LEARNABLE_RULES)[number];

/**
 * The stratum of a payment (RULE_STATISTICS.payment_anomaly): "batch" for a burst paid at machine pace; "cold_burst"
 * for a cold start — a burst that outnumbers the account's history, or any burst of a principal seen for less than a
 * day — unless the hour it began was unusual for a principal whose rhythm is known (the second signal); otherwise the
 * main traffic. A schema without tx_rhythm_known treats every principal's hours as a rhythm.
 */
function paymentStratum(x: Pick<RuleInput, 'feature'>, c: PolicyConfig['rules']): string | undefined {
  if (x.feature('tx_present') !== 1) return undefined;
  const gapS = decoded(x, 'tx_burst_gap_s_log');
  if (gapS !== undefined && gapS <= c.payment_anomaly.batch_max_gap_s) return 'batch';
  if (x.feature('tx_history_log') === undefined || x.feature('tx_count_1h_log') === undefined) return undefined;
  const rhythm = x.feature('tx_rhythm_known') ?? 1;
  if (rhythm === 1 && count(x, 'tx_count_1h_log') <= count(x, 'tx_history_log')) return undefined;
  const corroborated =
    rhythm === 1 && (x.feature('tx_burst_hour_unusual') ?? 0) >= c.payment_anomaly.corroborating_hour_unusual;
  return corroborated ? undefined : 'cold_burst';
}

/** Requests refused 403/404 in the last hour, once they span enough distinct objects to be a walk (BOLA). */
function refusals(rule: 'enumeration' | 'enumeration_probe'): RuleStatistic {
  return {
    rule,
    parameter: 'min_denied',
    fires: 'at_least',
    integer: true,
    prior: (c) => c[rule].min_denied,
    of: (x, c) => (count(x, 'distinct_objects_1h_log') >= c[rule].min_objects ? count(x, 'denied_1h_log') : undefined),
  };
}

/**
 * Failed logins from the request's address in 10 minutes (the forgiven first one included), once spread over enough
 * usernames. Many users behind one address (carrier NAT, an office proxy) fail logins too: a shared address's count is
 * divided by shared_ip_factor, so one fitted bar serves both.
 */
function addressFailures(rule: 'ip_stuffing' | 'ip_stuffing_probe'): RuleStatistic {
  return {
    rule,
    parameter: 'min_failures',
    fires: 'at_least',
    integer: false,
    prior: (c) => c[rule].min_failures,
    of: (x, c) => {
      const { failures, usernames, shared } = addressLogins(x, c);
      if (usernames < c[rule].min_usernames) return undefined;
      return shared ? failures / c.ip_stuffing.shared_ip_factor : failures;
    },
  };
}

/** The address's failed logins in 10 minutes, its usernames, and whether it is shared (ip_stuffing). */
function addressLogins(x: Pick<RuleInput, 'feature'>, c: PolicyConfig['rules']) {
  const usernames = count(x, 'ip_distinct_usernames_10m_log');
  return {
    failures: count(x, 'ip_failed_logins_10m_log') + FORGIVEN_LOGIN_FAILURES,
    usernames,
    shared: usernames >= c.ip_stuffing.shared_ip_usernames,
  };
}

export const RULE_STATISTICS: Record<LearnableRule, RuleStatistic> = {
  impossible_travel: {
    rule: 'impossible_travel',
    parameter: 'min_speed_kmh',
    fires: 'above',
    integer: false,
    prior: (c) => c.impossible_travel.min_speed_kmh,
    of: (x, c) => {
      if (x.feature('geo_country_changed') !== 1) return undefined;
      if (c.impossible_travel.only_new_countries && x.feature('geo_country_new') === 0) return undefined;
      return decoded(x, 'geo_speed_kmh_log') ?? 0;
    },
  },
  enumeration: refusals('enumeration'),
  // The same statistic at a lower floor and the alert budget: the SOC hears of a walk at its first refusals.
  enumeration_probe: refusals('enumeration_probe'),
  velocity: {
    rule: 'velocity',
    parameter: 'max_per_minute',
    fires: 'above',
    integer: true,
    prior: (c) => c.velocity.max_per_minute,
    // A minute within the principal's own habit (its busiest minute on earlier days × own_peak_factor) cannot fire,
    // whatever the cohort's threshold; the schema without the habit feature compares with the threshold alone.
    of: (x, c) => {
      const perMinute = count(x, 'req_1m_log');
      const ownPeak = count(x, 'req_1m_own_peak_log');
      return ownPeak > 0 && perMinute <= ownPeak * c.velocity.own_peak_factor ? undefined : perMinute;
    },
  },
  sustained_activity: {
    rule: 'sustained_activity',
    parameter: 'min_active_minutes',
    fires: 'at_least',
    integer: true,
    prior: (c) => c.sustained_activity.min_active_minutes,
    of: (x) => x.feature('active_minutes_1h') ?? 0,
  },
  payment_anomaly: {
    rule: 'payment_anomaly',
    parameter: 'min_risk',
    fires: 'at_least',
    integer: false,
    prior: (c) => c.payment_anomaly.min_risk,
    // Judged at a payment to a new payee, the only payment that adds risk (so no crossing is missed): a payment to a
    // known payee an hour after a payroll run carries the run's decaying risk but is no step of a drain.
    // (A schema without tx_new_payee is judged at every request.)
    of: (x) => (x.feature('tx_new_payee') === 0 ? undefined : (x.feature('tx_risk_1h') ?? 0)),
    // Three strata, each with its own fitted bar (paymentStratum): a burst paid at machine pace (a payroll file: a
    // fraudster driving the victim's own app pays by hand), a cold start (a business's first payroll, dozens of new
    // payees at amounts unlike its few earlier payments) unless corroborated by an hour unusual for the principal (a
    // drain at night of an account that rarely pays anyone), and every other payment.
    strata: ['batch', 'cold_burst'],
    stratum: paymentStratum,
  },
  surge_login: {
    rule: 'surge_login',
    parameter: 'min_failure_ratio',
    fires: 'at_least',
    integer: false,
    prior: (c) => c.surge_login.min_failure_ratio,
    // Only a login that succeeded, from somewhere the principal has not been and not from a client it is known to use
    // (a traveller's own phone; a schema without agent_known judges by place alone): a failed attempt is the surge's
    // too, but acting on it would lock its victim out for the attacker.
    of: (x) =>
      x.feature('login_success') === 1 && fromElsewhere(x) && x.feature('agent_known') !== 1
        ? (x.feature('tenant_failure_ratio_1m') ?? 0)
        : undefined,
  },
  stuffing_success: {
    rule: 'stuffing_success',
    parameter: 'min_failures',
    fires: 'at_least',
    integer: true,
    prior: (c) => c.stuffing_success.min_failures,
    // The feature forgives the first failure (a typo): it counts the ones beyond it.
    of: (x) => count(x, 'success_after_failures_log') + FORGIVEN_LOGIN_FAILURES,
  },
  ip_stuffing: addressFailures('ip_stuffing'),
  // The same statistic at a lower floor and the alert budget: the SOC hears of a stuffing address at its first tries.
  ip_stuffing_probe: addressFailures('ip_stuffing_probe'),
};

/** The key of a learned threshold: "rule", "rule~stratum", each with "@cohort" for a cohort's own. */
export function thresholdKey(rule: string, stratum?: string, cohort?: string): string {
  return `${rule}${stratum === undefined ? '' : `~${stratum}`}${cohort === undefined ? '' : `@${cohort}`}`;
}

/**
 * The threshold a learnable rule compares with: the bundle's fitted value for the request's stratum and the
 * principal's cohort (client_id), else the stratum's for the population, where higher than the rule's constant; the
 * constant otherwise. A stratum the bundle did not fit falls back to the rule's main threshold.
 */
export function effectiveThreshold(
  rule: LearnableRule,
  config: PolicyConfig['rules'],
  learned: LearnedThresholds,
  cohort?: string,
  stratum?: string,
): number {
  const prior = RULE_STATISTICS[rule].prior(config);
  const of = (s: string | undefined) =>
    (cohort === undefined ? undefined : learned[thresholdKey(rule, s, cohort)]) ?? learned[thresholdKey(rule, s)];
  const fitted = (stratum === undefined ? undefined : of(stratum)) ?? of(undefined);
  return fitted !== undefined && fitted > prior ? fitted : prior;
}

/** Whether a statistic fires its rule at a threshold. */
export function fires(stat: RuleStatistic, value: number, threshold: number): boolean {
  return stat.fires === 'above' ? value > threshold : value >= threshold;
}

export function buildRules(config: PolicyConfig['rules']): Rule[] {
  const travel = config.impossible_travel;
  const stuffed = config.stuffing_success;
  const ip = config.ip_stuffing;
  /** A learnable rule's statistic and threshold for one request, when it fires. */
  const firing = (rule: LearnableRule, x: RuleInput, learned: LearnedThresholds) => {
    const stat = RULE_STATISTICS[rule];
    const value = stat.of(x, config);
    // The constant is a floor under every learned threshold: a value it does not fire at needs no cohort lookup (the
    // common case, on the per-request path).
    if (value === undefined || !fires(stat, value, stat.prior(config))) return undefined;
    const threshold = effectiveThreshold(rule, config, learned, x.ids.client_id, stat.stratum?.(x, config));
    return fires(stat, value, threshold) ? { value, threshold } : undefined;
  };
  return [
    {
      name: 'impossible_travel',
      // geo_country_new and token_networks_1h_log refine it where the schema has them (without: every border jump
      // counts, and as a copied token).
      needs: ['geo_country_changed', 'geo_speed_kmh_log'],
      enabled: travel.enabled,
      evaluate: (x, learned) => {
        const f = firing('impossible_travel', x, learned);
        if (!f) return [];
        // The same token from a second network within the hour is a copied token; a fresh one is a new login.
        const replayed = x.feature('token_networks_1h_log') === undefined || count(x, 'token_networks_1h_log') >= 2;
        const action = replayed ? travel.action : travel.new_session_action;
        return [hit('impossible_travel', action, 'principal', 'geo_speed_kmh', Math.round(f.value), f.threshold)];
      },
    },
    {
      // A copied token where GeoIP cannot tell (an address it does not place, or places only by country): the same
      // token from another client and another network within minutes, which one person's session never does.
      name: 'token_replay',
      needs: ['token_agent_changed_10m', 'token_network_changed_10m'],
      enabled: config.token_replay.enabled,
      evaluate: (x) => {
        if (x.feature('token_agent_changed_10m') !== 1 || x.feature('token_network_changed_10m') !== 1) return [];
        return [hit('token_replay', config.token_replay.action, 'principal', 'token_agent_and_network_changed', 1, 0)];
      },
    },
    ...(['enumeration', 'enumeration_probe'] as const).map(
      (name): Rule => ({
        name,
        needs: ['denied_1h_log', 'distinct_objects_1h_log'],
        enabled: config[name].enabled,
        evaluate: (x, learned) => {
          const f = firing(name, x, learned);
          return f ? [hit(name, config[name].action, 'principal', 'denied_1h', f.value, f.threshold)] : [];
        },
      }),
    ),
    {
      name: 'velocity',
      needs: ['req_1m_log'],
      enabled: config.velocity.enabled,
      evaluate: (x, learned) => {
        const f = firing('velocity', x, learned);
        return f ? [hit('velocity', config.velocity.action, 'principal', 'req_1m', f.value, f.threshold)] : [];
      },
    },
    {
      name: 'sustained_activity',
      needs: ['active_minutes_1h'],
      enabled: config.sustained_activity.enabled,
      evaluate: (x, learned) => {
        const f = firing('sustained_activity', x, learned);
        return f
          ? [
              hit(
                'sustained_activity',
                config.sustained_activity.action,
                'principal',
                'active_minutes_1h',
                f.value,
                f.threshold,
              ),
            ]
          : [];
      },
    },
    {
      name: 'payment_anomaly',
      // The last hour's payment risk, not one payment's: a drain over several new payees adds up (transaction.ts).
      needs: ['tx_risk_1h'],
      enabled: config.payment_anomaly.enabled,
      evaluate: (x, learned) => {
        const f = firing('payment_anomaly', x, learned);
        return f
          ? [
              hit(
                'payment_anomaly',
                config.payment_anomaly.action,
                'principal',
                'tx_risk_1h',
                Math.round(f.value * 100) / 100,
                f.threshold,
              ),
            ]
          : [];
      },
    },
    {
      name: 'stuffing_success',
      needs: ['success_after_failures_log'],
      enabled: stuffed.enabled,
      evaluate: (x, learned) => {
        const f = firing('stuffing_success', x, learned);
        return f
          ? [hit('stuffing_success', stuffed.action, 'principal', 'failures_before_success', f.value, f.threshold)]
          : [];
      },
    },
    {
      // Distributed stuffing touches each address and username once: a login it cracked is a success from a country
      // new to the principal (or an address GeoIP cannot place), on a client the principal is not known to use, while
      // the tenant's logins fail at a surge.
      name: 'surge_login',
      needs: ['login_success', 'tenant_failure_ratio_1m', 'geo_country_changed'],
      enabled: config.surge_login.enabled,
      evaluate: (x, learned) => {
        const f = firing('surge_login', x, learned);
        return f
          ? [
              hit(
                'surge_login',
                config.surge_login.action,
                'principal',
                'tenant_failure_ratio_1m',
                Math.round(f.value * 100) / 100,
                f.threshold,
              ),
            ]
          : [];
      },
    },
    ...(['ip_stuffing', 'ip_stuffing_probe'] as const).map(
      (name): Rule => ({
        name,
        needs: ['ip_failed_logins_10m_log', 'ip_distinct_usernames_10m_log'],
        enabled: config[name].enabled,
        evaluate: (x, learned) => {
          const f = firing(name, x, learned);
          if (!f) return [];
          // Reported as the address's failures against the fewest that fire (a shared address needs shared_ip_factor
          // times the threshold; a fitted threshold can be fractional).
          const { failures, shared } = addressLogins(x, config);
          const needed = Math.ceil(f.threshold * (shared ? ip.shared_ip_factor : 1));
          const hits = [hit(name, config[name].action, 'ip', 'ip_failed_logins_10m', failures, needed)];
          // A session used from the stuffing address is an account it cracked: act on that principal too. (Not
          // relaxed for a "shared" address: many usernames failing is what stuffing looks like; a NAT's many users
          // mostly succeed, and the shared threshold above already asks shared_ip_factor times the failures.)
          if (name === 'ip_stuffing' && hasToken(x.ids)) {
            hits.push(hit(name, ip.session_action, 'principal', 'session_from_stuffing_ip', failures, needed));
          }
          return hits;
        },
      }),
    ),
    {
      name: 'geo_fence',
      needs: [],
      enabled: config.geo_fence.length > 0,
      evaluate: (x) => {
        if (x.country === undefined) return [];
        const country = x.country;
        const out: RuleHit[] = [];
        for (const fence of config.geo_fence) {
          if (!matchesPrefix(x.route, fence.route_prefix)) continue;
          const outside = (fence.allow && !fence.allow.includes(country)) || fence.deny?.includes(country);
          if (outside)
            out.push({ ...hit('geo_fence', fence.action, 'principal', `country:${country}`, 1, 0), rule: 'geo_fence' });
        }
        return out;
      },
    },
  ];
}
