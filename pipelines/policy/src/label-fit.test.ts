import { describe, expect, it } from 'vitest';
import { policyConfigSchema } from './config.js';
import { applyLabels, type LabelledVector } from './label-fit.js';
import { learnedThresholds, type RuleThresholdFit } from './rule-fit.js';

const NAMES = ['req_1m_log', 'tx_risk_1h'];
const rules = policyConfigSchema.parse({}).rules;
const log = (n: number) => Math.log1p(n);

/** A fit as `vigil train` leaves it: velocity fitted to 80 a minute for the population, 120 for the business app. */
const fits = (): RuleThresholdFit[] => [
  {
    rule: 'velocity',
    parameter: 'max_per_minute',
    action: 'throttle',
    target_principal_day_fpr: 0.0001,
    prior: 60,
    fitted: 80,
    threshold: 80,
    source: 'fitted',
    fit_principal_days: 20_000,
    holdout_principal_days: 5000,
    resolved: true,
    holdout_fpr: 0,
    holdout_fpr_upper95: 0.0008,
    cohorts: [{ cohort: 'business-app', threshold: 120, fitted: 120, weight: 1, fit_principal_days: 4000 }],
  },
  {
    rule: 'payment_anomaly',
    parameter: 'min_risk',
    action: 'step_up',
    target_principal_day_fpr: 0.001,
    prior: 5,
    fitted: 4,
    threshold: 5,
    source: 'prior',
    fit_principal_days: 20_000,
    holdout_principal_days: 5000,
    resolved: true,
    holdout_fpr: 0.0004,
    holdout_fpr_upper95: 0.001,
  },
];
const at = (perMinute: number, risk: number, verdict: LabelledVector['verdict'], cohort?: string): LabelledVector => ({
  vector: [log(perMinute), risk],
  verdict,
  ...(cohort ? { cohort } : {}),
});

describe('applyLabels', () => {
  it(
    "raises a cohort's threshold just past its labelled false positives, " +
      "leaving the population's and other cohorts' alone",
    () => {
      const out = applyLabels(
        fits(),
        [at(130, 0, 'false_positive', 'business-app'), at(135, 0, 'false_positive', 'business-app')],
        rules,
        NAMES,
      );
      const velocity = out.find((f) => f.rule === 'velocity');
      expect(velocity?.threshold).toBe(80);
      expect(velocity?.cohorts?.[0]).toMatchObject({
        cohort: 'business-app',
        threshold: 135,
        labels: { false_positives: 2, true_positives: 0, moved_from: 120 },
      });
      // The policy reads the moved threshold: 135 a minute no longer fires for that cohort, 136 does.
      expect(learnedThresholds(out)['velocity@business-app']).toBe(135);
    },
  );

  it('never raises past a labelled true positive of the same cohort, and reports what still fires', () => {
    const out = applyLabels(
      fits(),
      [at(100, 0, 'false_positive', 'retail-app'), at(95, 0, 'true_positive', 'retail-app')],
      rules,
      NAMES,
    );
    const retail = out.find((f) => f.rule === 'velocity')?.cohorts?.find((c) => c.cohort === 'retail-app');
    // 95 a minute must still fire (above 94); the false positive at 100 still does, and says so.
    expect(retail).toMatchObject({
      threshold: 94,
      weight: 0,
      fit_principal_days: 0,
      labels: { false_positives: 1, true_positives: 1, moved_from: 80, unresolved: 1 },
    });
  });

  it('moves the population threshold for principals without a cohort, at most threefold', () => {
    const out = applyLabels(fits(), [at(0, 40, 'false_positive')], rules, NAMES);
    const payment = out.find((f) => f.rule === 'payment_anomaly');
    expect(payment).toMatchObject({
      threshold: 15,
      source: 'fitted',
      labels: { false_positives: 1, moved_from: 5, unresolved: 1 },
    });
  });

  it('leaves thresholds that labels do not fire at untouched, and labels of values below them count nothing', () => {
    const before = fits();
    const out = applyLabels(before, [at(10, 1, 'false_positive'), at(20, 2, 'true_positive')], rules, NAMES);
    expect(out.map((f) => f.threshold)).toEqual(before.map((f) => f.threshold));
    expect(out.find((f) => f.rule === 'velocity')?.labels).toEqual({ false_positives: 0, true_positives: 0 });
    expect(applyLabels(before, [], rules, NAMES)).toEqual(before);
  });
});
