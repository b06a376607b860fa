// Analysts' verdicts on alerts and decisions: `vigil label` and the alerter's authenticated callback write them to
// the labels table, where training and threshold tuning read them.
import { z } from 'zod';

export const VERDICTS = ['true_positive', 'false_positive'] as const;

export const labelSchema = z
  .strictObject({
    request_id: z.string().min(1).max(256).optional().describe('The decision’s request id.'),
    alert_id: z.string().min(1).max(128).optional().describe('The alert id (va_…) from the alert.'),
    verdict: z.enum(VERDICTS),
    analyst: z.string().max(128).default(''),
    note: z.string().max(2000).default(''),
  })
  .refine(
    (l) => l.request_id !== undefined || l.alert_id !== undefined,
    'name the request_id or the alert_id the verdict is about',
  );
export type Label = z.output<typeof labelSchema>;

export function labelRow(l: Label, now: number) {
  return {
    day: new Date(now).toISOString().slice(0, 10),
    ts: now,
    request_id: l.request_id ?? '',
    alert_id: l.alert_id ?? '',
    verdict: l.verdict,
    analyst: l.analyst,
    note: l.note,
    ingested_at: now,
  };
}
