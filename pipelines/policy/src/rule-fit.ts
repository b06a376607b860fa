// Fitting rule thresholds on the user's own benign traffic. Each learnable rule (rules.ts, RULE_STATISTICS) states its
// threshold as a target false-positive rate per principal-day for its action; `vigil train` streams every request of
// the training log through here. Per principal-day the highest value of each rule's statistic is kept; principals are
// split by a hash of their key — four in five fit the threshold, one in five (principals it never saw) measure the
// rate it gives. The fitted threshold lets at most target × principal-days of the fit set fire; the configured
// constant stays the floor (a rule never fires below it). A fit set smaller than 1 / target principal-days cannot show
// the target rate: the threshold then sits just past the highest benign principal-day (no training day would fire) but
// at most UNRESOLVED_MAX_LIFT times the constant — one outlying day (a VPN user's exits at 50,000 km/h) must not switch
// a rule off on evidence the log cannot give — and `resolved` is false; the held-out rate with its upper bound says
// what that gives. Under MIN_PRINCIPAL_DAYS the rule keeps its constant. Cohorts (the client_id a principal's tokens
// carry: a bank's business app and its retail app) get their own threshold where it differs, weighted by how well
// their principal-days can show the target and shrunk toward the population's for the rest. The price of fitting on
// traffic nobody labelled: an attack inside the training log raises its rule's threshold to itself — train on days
// you believe clean, and label what you find.
import { unitHash } from '@vigil/events';
import type { PolicyConfig } from './config.js';
import type { LabelMove } from './label-fit.js';
import {
  effectiveThreshold,
  fires,
  LEARNABLE_RULES,
  type LearnableRule,
  RULE_STATISTICS,
  type RuleInput,
  type RuleStatistic,
  thresholdKey,
} from './rules.js';

/**
 * Default targets per action: enforcement that stops a customer is budgeted far tighter than a challenge or an alert.
 */
export const DEFAULT_RULE_TARGETS: Record<string, number> = {
  revoke: 0.0001,
  throttle: 0.0001,
  step_up: 0.001,
  alert: 0.002,
};

/** A cohort's own threshold (client_id, as the logs reveal it), shrunk toward the population's where it is small. */
export interface CohortThreshold {
  cohort: string;
  threshold: number;
  /** What the cohort's own principal-days ask for, before shrinkage; undefined when too few to fit. */
  fitted?: number;
  /** How much of the cohort's own fit the threshold takes (the rest is the population's): n × target, at most 1. */
  weight: number;
  fit_principal_days: number;
  /** What analyst labels did to this cohort's threshold (label-fit.ts). */
  labels?: LabelMove;
}

export interface RuleThresholdFit {
  rule: LearnableRule;
  /** A stratum of the rule fitted apart (RuleStatistic.strata); absent: the rule's main traffic. */
  stratum?: string;
  /** The config key of the constant (prior and floor). */
  parameter: string;
  action: string;
  target_principal_day_fpr: number;
  prior: number;
  /** The value the fit set asks for; undefined when it had too few principal-days to show the target rate. */
  fitted?: number;
  /** What the rule compares with: the larger of prior and fitted. */
  threshold: number;
  source: 'fitted' | 'prior';
  fit_principal_days: number;
  holdout_principal_days: number;
  /** Whether the fit set (at least 1 / target principal-days) could show the target rate at all. */
  resolved: boolean;
  /**
   * Share of held-out principal-days on which the rule fires (at their cohort's threshold), and a 95 % upper bound
   * (Wilson).
   */
  holdout_fpr: number;
  holdout_fpr_upper95: number;
  /** Cohorts whose threshold differs from the population's. */
  cohorts?: CohortThreshold[];
  /** What analyst labels did to the population's threshold (label-fit.ts). */
  labels?: LabelMove;
}

const HOLDOUT_SHARE = 0.2;
/** Fewer fit principal-days than this fit nothing: the rule keeps its constant. */
export const MIN_PRINCIPAL_DAYS = 200;
/** A fit the log cannot resolve raises a constant at most this many times. */
export const UNRESOLVED_MAX_LIFT = 3;
/** The cohort of a principal the logs say nothing about. */
const NO_COHORT = '';

interface Day {
  holdout: boolean;
  cohort: string;
  /** The highest statistic per fit unit (a rule, or one of its strata); NaN: it could not fire there that day. */
  max: Float64Array;
}

/** What gets a threshold of its own: a learnable rule's main traffic, or one of its strata (RuleStatistic.strata). */
interface Unit {
  rule: LearnableRule;
  stratum?: string;
}

const UNITS: readonly Unit[] = LEARNABLE_RULES.flatMap((rule) => [
  { rule },
  ...(RULE_STATISTICS[rule].strata ?? []).map((stratum) => ({ rule, stratum })),
]);
/** A rule's first unit; its strata follow in RuleStatistic.strata's order. */
const FIRST_UNIT = new Map(LEARNABLE_RULES.map((rule) => [rule, UNITS.findIndex((u) => u.rule === rule)]));

export class RuleThresholdFitter {
  /** principal-day → its cohort and the highest statistic per fit unit. */
  private readonly days = new Map<string, Day>();
  /** Principal-days an analyst's true-positive label took out of the benign fit set. */
  private readonly excluded = new Set<string>();
  private readonly index: Map<string, number>;

  constructor(
    private readonly config: PolicyConfig['rules'],
    featureNames: readonly string[],
    private readonly targets: Record<string, number> = DEFAULT_RULE_TARGETS,
  ) {
    this.index = new Map(featureNames.map((n, i) => [n, i]));
  }

  /** Takes a principal-day out of the fit (a labelled attack: its requests are not benign traffic). */
  exclude(principal: string, ts: number): void {
    this.excluded.add(`${principal}|${Math.floor(ts / 86_400_000)}`);
  }

  /** Principal-days taken out of the fit by `exclude`. */
  get excludedDays(): number {
    return this.excluded.size;
  }

  /** One benign request: its feature vector, its principal's key, its event time and its cohort (client_id). */
  add(vector: ArrayLike<number>, principal: string, ts: number, cohort?: string): void {
    const key = `${principal}|${Math.floor(ts / 86_400_000)}`;
    let day = this.days.get(key);
    if (!day) {
      day = {
        holdout: unitHash(principal) < HOLDOUT_SHARE,
        cohort: cohort ?? NO_COHORT,
        max: new Float64Array(UNITS.length).fill(Number.NaN),
      };
      this.days.set(key, day);
    }
    const x: Pick<RuleInput, 'feature'> = {
      feature: (name) => {
        const i = this.index.get(name);
        return i === undefined ? undefined : (vector[i] as number);
      },
    };
    for (const rule of LEARNABLE_RULES) {
      const stat = RULE_STATISTICS[rule];
      const value = stat.of(x, this.config);
      if (value === undefined) continue;
      const stratum = stat.stratum?.(x, this.config);
      const u =
        (FIRST_UNIT.get(rule) as number) + (stratum === undefined ? 0 : 1 + (stat.strata ?? []).indexOf(stratum));
      const current = day.max[u] as number;
      if (Number.isNaN(current) || value > current) day.max[u] = value;
    }
  }

  finish(): RuleThresholdFit[] {
    const fit: Day[] = [];
    const held: Day[] = [];
    for (const [key, d] of this.days) if (!this.excluded.has(key)) (d.holdout ? held : fit).push(d);
    const cohorts = [...new Set(fit.map((d) => d.cohort))].filter((c) => c !== NO_COHORT).sort();
    return UNITS.map((unit, u) => this.fitUnit(unit, u, fit, held, cohorts));
  }

  /**
   * The budget a rule is fitted at. A rule that takes a weaker action unless a second signal holds (impossible travel
   * revokes only a token already used from another network, else steps up) is fitted at the weaker action's budget:
   * the threshold gates both, and the second signal is what earns the stronger one.
   */
  private budgetOf(rule: LearnableRule): { action: string; target: number } {
    const rc = this.config[rule] as { action: string; new_session_action?: string };
    const actions = [rc.action, ...(rc.new_session_action ? [rc.new_session_action] : [])];
    const action = actions.reduce((weakest, a) =>
      (this.targets[a] ?? 0) > (this.targets[weakest] ?? 0) ? a : weakest,
    );
    return { action, target: this.targets[action] ?? DEFAULT_RULE_TARGETS.alert ?? 0.002 };
  }

  private fitUnit(
    { rule, stratum }: Unit,
    u: number,
    fit: readonly Day[],
    held: readonly Day[],
    cohorts: readonly string[],
  ): RuleThresholdFit {
    const stat = RULE_STATISTICS[rule];
    const { action, target } = this.budgetOf(rule);
    const prior = stat.prior(this.config);
    const popShare = unitShare(rule, u, fit);
    const fitted = fitThreshold(
      stat,
      prior,
      target,
      fit.map((d) => d.max[u] as number),
      popShare,
      stratum === undefined,
    );
    const threshold = effectiveThreshold(rule, this.config, fitted === undefined ? {} : { [rule]: fitted });
    const byCohort = this.cohortThresholds({ rule, stratum }, u, fit, cohorts, fitted ?? prior, threshold);
    const thresholdOf = (cohort: string) => byCohort.find((c) => c.cohort === cohort)?.threshold ?? threshold;
    const over = held.filter((d) => {
      const v = d.max[u] as number;
      return !Number.isNaN(v) && fires(stat, v, thresholdOf(d.cohort));
    }).length;
    return {
      rule,
      ...(stratum !== undefined ? { stratum } : {}),
      parameter: stat.parameter,
      action,
      target_principal_day_fpr: target,
      prior,
      ...(fitted !== undefined ? { fitted } : {}),
      threshold,
      source: fitted !== undefined && fitted > prior ? 'fitted' : 'prior',
      fit_principal_days: stratum === undefined ? fit.length : seen(u, fit),
      holdout_principal_days: held.length,
      resolved: fit.length * popShare * target >= 1,
      holdout_fpr: held.length === 0 ? 0 : over / held.length,
      holdout_fpr_upper95: wilsonUpper(over, held.length),
      ...(byCohort.length > 0 ? { cohorts: byCohort } : {}),
    };
  }

  /**
   * Each cohort's own fit, weighted by how well its principal-days can show the target (n × target, at most 1) and
   * shrunk toward the population's (`population`) for the rest; never below the constant. Only cohorts whose
   * threshold differs from the population's `threshold` are listed. Principal-days the logs give no cohort (a login
   * by username, before any token) belong to every cohort's customers: each cohort's budget is its share of the
   * population's, so its days count for that share of those.
   */
  private cohortThresholds(
    { rule, stratum }: Unit,
    u: number,
    fit: readonly Day[],
    cohorts: readonly string[],
    population: number,
    threshold: number,
  ): CohortThreshold[] {
    const stat = RULE_STATISTICS[rule];
    const { target } = this.budgetOf(rule);
    const prior = stat.prior(this.config);
    const withCohort = fit.filter((d) => d.cohort !== NO_COHORT).length;
    const share = withCohort === 0 ? 1 : fit.length / withCohort;
    const byCohort: CohortThreshold[] = [];
    for (const cohort of cohorts) {
      const own = fit.filter((d) => d.cohort === cohort);
      const ownShare = share * unitShare(rule, u, own);
      const maxima = own.map((d) => d.max[u] as number);
      const ownFit = fitThreshold(stat, prior, target, maxima, ownShare, stratum === undefined);
      if (ownFit === undefined) continue;
      const weight = Math.min(1, own.length * ownShare * target);
      const t = Math.max(prior, weight * ownFit + (1 - weight) * population);
      if (Math.abs(t - threshold) > 1e-9 * Math.max(1, Math.abs(threshold))) {
        byCohort.push({ cohort, threshold: t, fitted: ownFit, weight, fit_principal_days: own.length });
      }
    }
    return byCohort;
  }
}

/** Principal-days on which a fit unit's statistic could fire (NaN: it could not). */
function seen(u: number, days: readonly Day[]): number {
  return days.filter((d) => !Number.isNaN(d.max[u] as number)).length;
}

/**
 * A rule with strata shares its budget among them by how many principal-days each has: together they fire on at most
 * the rule's target share of days. This unit's share of its rule's days.
 */
function unitShare(rule: LearnableRule, u: number, days: readonly Day[]): number {
  const first = FIRST_UNIT.get(rule) as number;
  const units = 1 + (RULE_STATISTICS[rule].strata?.length ?? 0);
  if (units === 1) return 1;
  let all = 0;
  for (let v = first; v < first + units; v++) all += seen(v, days);
  return all === 0 ? 0 : seen(u, days) / all;
}

/**
 * The threshold that lets at most target × n × share of these principal-days' maxima fire (NaN: could not fire), or
 * undefined under MIN_PRINCIPAL_DAYS. Past the highest value when that cannot show the target, at most
 * UNRESOLVED_MAX_LIFT × prior when `capUnresolved`. A stratum is not capped: it is traffic set apart because the
 * statistic cannot judge it, its days are many alike (every business's first payroll run is high), and a cap there
 * fired on nearly all of them (the cap protects the main traffic's detection from one outlying day).
 */
function fitThreshold(
  stat: RuleStatistic,
  prior: number,
  target: number,
  maxima: number[],
  share = 1,
  capUnresolved = true,
): number | undefined {
  if (maxima.length < MIN_PRINCIPAL_DAYS) return undefined;
  const days = maxima.length * share;
  const values = maxima.filter((v) => !Number.isNaN(v)).sort((a, b) => b - a);
  const at = values[Math.floor(target * days)];
  if (at === undefined) return undefined;
  const fitted = justPast(stat, at);
  return days * target < 1 && capUnresolved ? Math.min(fitted, prior * UNRESOLVED_MAX_LIFT) : fitted;
}

/** The smallest threshold a value of this statistic no longer fires at. */
export function justPast(stat: Pick<RuleStatistic, 'fires' | 'integer'>, value: number): number {
  if (stat.fires === 'above') return value;
  return stat.integer ? Math.floor(value) + 1 : nextUp(value);
}

/** The smallest float above x (for continuous statistics: "at least" must exclude x itself). */
function nextUp(x: number): number {
  return x + Math.max(Math.abs(x) * 1e-9, 1e-9);
}

/** The upper end of the 95 % Wilson score interval of a proportion (k of n). */
export function wilsonUpper(k: number, n: number): number {
  if (n === 0) return 1;
  const z = 1.959964;
  const p = k / n;
  const z2 = z * z;
  return Math.min(1, (p + z2 / (2 * n) + z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n));
}

/**
 * The learned thresholds a bundle carries, as the policy reads them: the fitted ones above their prior by rule, and
 * each cohort's own as "rule@cohort"; a stratum's as "rule~stratum" (thresholdKey in rules.ts). The one reading of a
 * bundle's manifest.rule_thresholds: the scorer and the label report call it.
 */
export function learnedThresholds(
  fits: readonly (Pick<RuleThresholdFit, 'stratum' | 'threshold' | 'fitted' | 'source'> & {
    rule: string;
    cohorts?: readonly Pick<CohortThreshold, 'cohort' | 'threshold'>[];
  })[],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of fits) {
    // A stratum's fit counts even at its constant: it then replaces the rule's main threshold for the stratum.
    if (f.source === 'fitted' || (f.stratum !== undefined && f.fitted !== undefined))
      out[thresholdKey(f.rule, f.stratum)] = f.threshold;
    for (const c of f.cohorts ?? []) out[thresholdKey(f.rule, f.stratum, c.cohort)] = c.threshold;
  }
  return out;
}
