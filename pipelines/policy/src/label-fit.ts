// Analyst labels move the fitted rule thresholds. A decision an analyst marked a false positive says the rule's
// threshold for that customer's cohort sits too low; one marked a true positive says it must keep firing there. So,
// per rule and cohort (client_id; the population for principals without one), a threshold that a labelled false
// positive fires at is raised just past it — but never past a labelled true positive of the same cohort that fires
// (the catch an analyst confirmed stays caught; the conflict is reported instead), and at most UNRESOLVED_MAX_LIFT
// times (one mislabelled decision must not switch a rule off for a cohort). Labelled true positives leave the benign
// fit set before this runs (RuleThresholdFitter.exclude): attacks in the training log would raise the thresholds too.
import type { PolicyConfig } from './config.js';
import { type CohortThreshold, justPast, type RuleThresholdFit, UNRESOLVED_MAX_LIFT } from './rule-fit.js';
import { fires, RULE_STATISTICS, type RuleInput, type RuleStatistic } from './rules.js';

export type Verdict = 'true_positive' | 'false_positive';

export interface LabelledVector {
  /** The labelled request's feature vector, in the fitter's feature order. */
  vector: ArrayLike<number>;
  /** Its principal's cohort (client_id), if the log names one. */
  cohort?: string;
  verdict: Verdict;
}

/** What labels did to one threshold: how many labelled decisions the rule fired on before, and the value it had. */
export interface LabelMove {
  false_positives: number;
  true_positives: number;
  /** The threshold before the labels (absent: the labels left it where it was). */
  moved_from?: number;
  /**
   * A labelled false positive the rule still fires on, because raising past it would lose a labelled true positive or
   * pass the cap.
   */
  unresolved?: number;
}

/** The fits with thresholds moved by labels; each touched threshold carries its LabelMove under `labels`. */
export function applyLabels(
  fits: readonly RuleThresholdFit[],
  labelled: readonly LabelledVector[],
  config: PolicyConfig['rules'],
  featureNames: readonly string[],
): RuleThresholdFit[] {
  const index = new Map(featureNames.map((n, i) => [n, i]));
  const inputs = labelled.map((l) => ({
    l,
    x: {
      feature: (name: string) => {
        const i = index.get(name);
        return i === undefined ? undefined : (l.vector[i] as number);
      },
    } satisfies Pick<RuleInput, 'feature'>,
  }));
  return fits.map((fit) => {
    const byCohort = labelledValues(fit, inputs, config);
    if (byCohort.size === 0) return fit;
    let out: RuleThresholdFit = { ...fit, ...(fit.cohorts ? { cohorts: fit.cohorts.map((c) => ({ ...c })) } : {}) };
    for (const [cohort, values] of [...byCohort].sort((a, b) => a[0].localeCompare(b[0]))) {
      const own = cohort === '' ? undefined : out.cohorts?.find((c) => c.cohort === cohort);
      const { after, move } = moveThreshold(RULE_STATISTICS[fit.rule], own?.threshold ?? out.threshold, values);
      const labels = { labels: move };
      if (cohort === '')
        out = { ...out, threshold: after, ...(after > out.prior ? { source: 'fitted' as const } : {}), ...labels };
      else if (own) Object.assign(own, { threshold: after }, labels);
      else {
        // A cohort that had the population's threshold gets its own, from the labels alone (its counts even when the
        // labels did not move it: the summary reports them).
        const added: CohortThreshold & { labels: LabelMove } = {
          cohort,
          threshold: after,
          weight: 0,
          fit_principal_days: 0,
          ...labels,
        };
        out = { ...out, cohorts: [...(out.cohorts ?? []), added] };
      }
    }
    return out;
  });
}

type Labelled = { value: number; verdict: Verdict };

/** Labelled values of a fit's statistic, by cohort ('' = the population's threshold). */
function labelledValues(
  fit: RuleThresholdFit,
  inputs: readonly { l: LabelledVector; x: Pick<RuleInput, 'feature'> }[],
  config: PolicyConfig['rules'],
): Map<string, Labelled[]> {
  const stat = RULE_STATISTICS[fit.rule];
  const byCohort = new Map<string, Labelled[]>();
  for (const { l, x } of inputs) {
    const value = stat.of(x, config);
    // A stratum's threshold moves with the labels of its own stratum only.
    if (value === undefined || stat.stratum?.(x, config) !== fit.stratum) continue;
    // A cohort without a threshold of its own uses the population's; labels on it move a threshold of its own.
    const key = l.cohort ?? '';
    const list = byCohort.get(key) ?? [];
    list.push({ value, verdict: l.verdict });
    byCohort.set(key, list);
  }
  return byCohort;
}

/**
 * One threshold moved by its labels: just past the highest labelled false positive it fires at, but never past a
 * labelled true positive it fires at, and at most UNRESOLVED_MAX_LIFT times; never lowered.
 */
function moveThreshold(
  stat: RuleStatistic,
  before: number,
  values: readonly Labelled[],
): { after: number; move: LabelMove } {
  const firing = (verdict: Verdict) =>
    values.filter((v) => v.verdict === verdict && fires(stat, v.value, before)).map((v) => v.value);
  const fp = firing('false_positive');
  const tp = firing('true_positive');
  const move: LabelMove = { false_positives: fp.length, true_positives: tp.length };
  if (fp.length === 0) return { after: before, move };
  const pastFp = justPast(stat, Math.max(...fp));
  // The highest threshold at which every firing true positive still fires.
  const keepTp = tp.length === 0 ? Number.POSITIVE_INFINITY : highestFiring(stat.fires, stat.integer, Math.min(...tp));
  const after = Math.max(before, Math.min(pastFp, keepTp, before * UNRESOLVED_MAX_LIFT));
  const still = fp.filter((v) => fires(stat, v, after)).length;
  if (still > 0) move.unresolved = still;
  if (after > before) move.moved_from = before;
  return { after, move };
}

/** The largest threshold a value still fires at. */
function highestFiring(kind: 'above' | 'at_least', integer: boolean, value: number): number {
  if (kind === 'at_least') return value;
  return integer ? Math.ceil(value) - 1 : value - Math.max(Math.abs(value) * 1e-9, 1e-9);
}
