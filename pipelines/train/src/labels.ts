// Analyst labels for training: which decisions were true and which false positives (`vigil label` writes them to the
// ClickHouse labels table; `vigil train --labels FILE` reads an export of it, one JSON object per line:
//   clickhouse-client -q "SELECT request_id, verdict, ingested_at FROM vigil_labels FORMAT JSONEachRow" > labels.jsonl
// ). A request labelled more than once keeps its latest verdict (the table is a ReplacingMergeTree by ingested_at);
// labels that name only an alert (no request id) cannot be matched to a log line and are counted, not used.
//
// In training the labels do three things: labelled attacks leave the benign fit set (models and rule thresholds),
// false positives move the rule thresholds (the policy's label-fit.ts), and the summary reports each rule's and the
// models' precision on the labelled decisions as the new bundle would decide them (`labelReport`).
import { readFileSync } from 'node:fs';
import type { ModelBundle } from '@vigil/bundle';
import type { FeatureRecord } from '@vigil/features';
import { DecisionPolicy, learnedThresholds, type PolicyConfig, type Verdict } from '@vigil/policy';
import { z } from 'zod';

const labelLine = z.object({
  request_id: z.string().default(''),
  verdict: z.enum(['true_positive', 'false_positive']),
  ingested_at: z.union([z.number(), z.string()]).optional(),
});

export interface Labels {
  byRequest: Map<string, Verdict>;
  /** Lines naming no request (alert-only labels), which a log cannot match. */
  withoutRequest: number;
}

/** Reads a labels export (JSON lines); throws with the line number on a line that is not a label. */
export function readLabels(path: string): Labels {
  const latest = new Map<string, { verdict: Verdict; at: number; line: number }>();
  let withoutRequest = 0;
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    let parsed: z.infer<typeof labelLine>;
    try {
      parsed = labelLine.parse(JSON.parse(text));
    } catch (err) {
      const why =
        err instanceof z.ZodError
          ? err.issues.map((x) => `${x.path.join('.') || 'line'}: ${x.message}`).join('; ')
          : 'not JSON';
      throw new Error(
        `${path} line ${i + 1} is not a label (${why}); expected {"request_id": ` +
          '"…", "verdict": "true_positive" | "false_positive"}',
      );
    }
    if (parsed.request_id === '') {
      withoutRequest++;
      return;
    }
    const at = Number(parsed.ingested_at ?? 0);
    const was = latest.get(parsed.request_id);
    // The latest verdict wins; on equal times the later line (an export's order).
    if (!was || at >= was.at) latest.set(parsed.request_id, { verdict: parsed.verdict, at, line: i });
  });
  return { byRequest: new Map([...latest].map(([id, l]) => [id, l.verdict])), withoutRequest };
}

/** A labelled request as training saw it: what the precision report decides again with the new bundle. */
export interface LabelledRequest {
  /** The request's feature record (its principal's identifiers and its context, as the decision stage reads them). */
  record: FeatureRecord;
  vector: Float64Array;
  verdict: Verdict;
}

export interface PrecisionLine {
  /** A rule's name, or "models" for the bundle's score alone. */
  by: string;
  true_positives: number;
  false_positives: number;
  /** true / (true + false) among the labelled decisions it acts on; undefined when it acts on none. */
  precision?: number;
}

export interface LabelReport {
  /** Requests the labels name. */
  labelled: number;
  /** Of those found in the log: */
  true_positives: number;
  false_positives: number;
  /** Labelled requests the log did not contain. */
  unmatched: number;
  withoutRequest: number;
  /** Per rule that fires on any labelled request, then the models; as the new bundle and policy decide them. */
  precision: PrecisionLine[];
}

/**
 * Decides each labelled request again with the new bundle and the policy (the models' score and action, every rule
 * with the bundle's thresholds) and counts, per rule and for the models, the true and false positives it acts on.
 * Geo-fences, which need the request's country, are not re-decided here.
 */
export function labelReport(
  bundle: ModelBundle,
  policy: PolicyConfig,
  labelled: readonly LabelledRequest[],
  labels: Labels,
): LabelReport {
  const decider = new DecisionPolicy(policy, bundle.manifest.features.names);
  const counts = new Map<string, { true_positives: number; false_positives: number }>();
  const count = (by: string, verdict: Verdict) => {
    const c = counts.get(by) ?? { true_positives: 0, false_positives: 0 };
    if (verdict === 'true_positive') c.true_positives++;
    else c.false_positives++;
    counts.set(by, c);
  };
  if (labelled.length > 0) {
    const cols = bundle.manifest.features.names.length;
    const data = new Float64Array(labelled.length * cols);
    for (const [i, l] of labelled.entries()) data.set(l.vector, i * cols);
    const scored = bundle.score({ data, rows: labelled.length, cols });
    const learned = learnedThresholds(bundle.manifest.rule_thresholds ?? []);
    labelled.forEach((l, i) => {
      const score = scored.score[i] as number;
      const action = bundle.action(score);
      const d = decider.decide({
        v: l.vector,
        ctx: l.record.ctx ?? { route: '/', method: 'GET', status: 0 },
        ids: l.record.ids ?? { client_ip: '' },
        model: {
          score,
          action,
          scores: { iforest: scored.iforest[i] as number, autoencoder: scored.autoencoder[i] as number },
          reasons: [],
        },
        learned,
      });
      if (action !== 'allow') count('models', l.verdict);
      for (const rule of d.rules) count(rule, l.verdict);
    });
  }
  const precision = [...counts]
    .sort((a, b) => (a[0] === 'models' ? 1 : b[0] === 'models' ? -1 : a[0].localeCompare(b[0])))
    .map(([by, c]) => ({
      by,
      ...c,
      ...(c.true_positives + c.false_positives > 0
        ? { precision: c.true_positives / (c.true_positives + c.false_positives) }
        : {}),
    }));
  if (!counts.has('models')) precision.push({ by: 'models', true_positives: 0, false_positives: 0 });
  const tp = labelled.filter((l) => l.verdict === 'true_positive').length;
  return {
    labelled: labels.byRequest.size,
    true_positives: tp,
    false_positives: labelled.length - tp,
    unmatched: labels.byRequest.size - labelled.length,
    withoutRequest: labels.withoutRequest,
    precision,
  };
}
