// Analyst labels move the fitted rule thresholds. A decision an analyst marked a false positive says the rule's
// threshold for that customer's cohort sits too low; one marked a true positive says it must keep firing there. So,
// per rule and cohort (client_id; the population for principals without one), a threshold that a labelled false
// positive fires at is raised just past it — but never past a labelled true positive of the same cohort that fires
// (the catch an analyst confirmed stays caught; the conflict is reported instead), and at most UNRESOLVED_MAX_LIFT
// times (one mislabelled decision must not switch a rule off for a cohort). Labelled true positives leave the benign
// fit set before this runs (RuleThresholdFitter.exclude): attacks in the training log would raise the thresholds too.
import type { PolicyConfig } from './config.js';
import { type CohortThreshold, justPast, type RuleThresholdFit, UNRESOLVED_MAX_LIFT } from './rule-fit.js';
import { fires, RULE_STATISTICS, type RuleInput } from './rules.js';

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
  /** A labelled false positive the rule still fires on, because raising past it would lose a labelled true positive or pass the cap. */
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
  // biome-ignore lint/complexity/noExcessiveCognitiveComplexity: written before the rule; to split (issue 19)
  return fits.map((fit) => {
    const stat = RULE_STATISTICS[fit.rule];
    // Labelled values of this rule's statistic, by cohort ('' = the population's threshold).
    const byCohort = new Map<string, { value: number; verdict: Verdict }[]>();
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
    if (byCohort.size === 0) return fit;
    let out: RuleThresholdFit = { ...fit, ...(fit.cohorts ? { cohorts: fit.cohorts.map((c) => ({ ...c })) } : {}) };
    for (const [cohort, values] of [...byCohort].sort((a, b) => a[0].localeCompare(b[0]))) {
      const own = cohort === '' ? undefined : out.cohorts?.find((c) => c.cohort === cohort);
      const before = own?.threshold ?? out.threshold;
      const fp = values
        .filter((v) => v.verdict === 'false_positive' && fires(stat, v.value, before))
        .map((v) => v.value);
      const tp = values
        .filter((v) => v.verdict === 'true_positive' && fires(stat, v.value, before))
        .map((v) => v.value);
      const move: LabelMove = { false_positives: fp.length, true_positives: tp.length };
      let after = before;
      if (fp.length > 0) {
        const pastFp = justPast(stat, Math.max(...fp));
        // The highest threshold at which every firing true positive still fires.
        const keepTp =
          tp.length === 0 ? Number.POSITIVE_INFINITY : highestFiring(stat.fires, stat.integer, Math.min(...tp));
        after = Math.min(pastFp, keepTp, before * UNRESOLVED_MAX_LIFT);
        if (after < before) after = before;
        const still = fp.filter((v) => fires(stat, v, after)).length;
        if (still > 0) move.unresolved = still;
        if (after > before) move.moved_from = before;
      }
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

/** The largest threshold a value still fires at. */
function highestFiring(kind: 'above' | 'at_least', integer: boolean, value: number): number {
  if (kind === 'at_least') return value;
  return integer ? Math.ceil(value) - 1 : value - Math.max(Math.abs(value) * 1e-9, 1e-9);
}
