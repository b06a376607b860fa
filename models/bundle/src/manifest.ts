// manifest.json of a model bundle (the brief's contract): identity, the feature schema it was trained on (names,
// order, parameters and their hash), scaler, calibration tables, the ensemble rule, default thresholds per action in
// both units, the training-data summary and evaluation metrics, and the model files.
import { calibratorSchema, scalerSchema } from '@vigil/calibration';
import { z } from 'zod';

export const ACTIONS = ['alert', 'step_up', 'revoke'] as const;
export type Action = (typeof ACTIONS)[number];

const threshold = z.object({
  /** Combined calibrated score above which the action is taken. */
  score: z.number().min(0).max(1),
  /** Target false-positive rate per principal-day the threshold was chosen for. */
  target_principal_day_fpr: z.number().gt(0).lt(1),
  /** What it gives on the held-out normal traffic: per event and per principal-day. */
  validation_event_fpr: z.number().min(0).max(1),
  validation_principal_day_fpr: z.number().min(0).max(1),
  /** Whether the held-out principal-days (at least 1 / target of them) could measure the target at all. */
  resolved: z.boolean(),
});

/** What analyst labels did to one fitted rule threshold (the policy's label-fit.ts: LabelMove). */
const labelMove = z
  .object({
    false_positives: z.number().int(),
    true_positives: z.number().int(),
    moved_from: z.number().optional(),
    unresolved: z.number().int().optional(),
  })
  .optional();

export const manifestSchema = z.object({
  format: z.literal('vigil-bundle'),
  version: z.literal(1),
  bundle_id: z.string().min(1),
  created_at: z.string(),
  features: z.object({
    names: z.array(z.string()),
    hash: z.string().startsWith('sha256:'),
    schema: z.unknown().describe('The feature schema (families, roles, parameters) as the extractor states it.'),
  }),
  scaler: scalerSchema,
  calibration: z.object({ iforest: calibratorSchema, autoencoder: calibratorSchema }),
  ensemble: z.object({
    rule: z.literal('min-exceedance-bonferroni'),
    description: z.string(),
  }),
  thresholds: z.object({ alert: threshold, step_up: threshold, revoke: threshold }),
  training: z.object({
    rows: z.number().int(),
    fit_rows: z.number().int(),
    holdout_rows: z.number().int(),
    holdout_principal_days: z.number().int(),
    from_ts: z.number(),
    to_ts: z.number(),
    seed: z.number().int(),
    autoencoder_backend: z.string(),
    autoencoder_epochs: z.number().int(),
    autoencoder_rows: z.number().int(),
  }),
  files: z.object({ iforest: z.literal('iforest.json'), autoencoder: z.literal('autoencoder') }),
  /**
   * The policy's rule thresholds, fitted on the same benign traffic for a target false-positive rate per principal-day
   * (the policy's rule-fit.ts states how); absent in bundles trained before rules learned.
   */
  rule_thresholds: z
    .array(
      z.object({
        rule: z.string(),
        /**
         * A stratum of the rule fitted apart (a burst of payments that outnumbers the account's history: a business's
         * first payroll); absent: the rule's main traffic.
         */
        stratum: z.string().optional(),
        parameter: z.string(),
        action: z.string(),
        target_principal_day_fpr: z.number(),
        prior: z.number(),
        fitted: z.number().optional(),
        threshold: z.number(),
        source: z.enum(['fitted', 'prior']),
        fit_principal_days: z.number().int(),
        holdout_principal_days: z.number().int(),
        resolved: z.boolean(),
        holdout_fpr: z.number(),
        holdout_fpr_upper95: z.number(),
        cohorts: z
          .array(
            z.object({
              cohort: z.string(),
              threshold: z.number(),
              fitted: z.number().optional(),
              weight: z.number(),
              fit_principal_days: z.number().int(),
              /** What analyst labels did to the cohort's threshold (the policy's label-fit.ts). */
              labels: labelMove,
            }),
          )
          .optional(),
        /** What analyst labels did to the population's threshold. */
        labels: labelMove,
      }),
    )
    .optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;
