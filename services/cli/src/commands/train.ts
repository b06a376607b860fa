// `vigil train`: a model bundle from a gateway log of normal traffic (see HELP.train).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { adapterFor } from '@vigil/adapters';
import { GATEWAY_FORMATS, type GatewayFormat } from '@vigil/events';
import { type Labels, readLabels, trainOnLog } from '@vigil/train';
import { defineCommand } from '../command.js';
import { inputFileProblem, outputFileProblem } from '../support/input-file.js';
import { pepperFromEnv } from '../support/pepper.js';
import { progressBar } from '../support/progress.js';

export async function train(args: {
  format?: string;
  input?: string;
  out?: string;
  maxRows?: string;
  seed?: string;
  boundMs?: string;
  pepperEnv?: string;
  labels?: string;
}): Promise<number> {
  if (!args.format || !GATEWAY_FORMATS.includes(args.format as GatewayFormat) || !args.input || !args.out) {
    process.stderr.write(
      `usage: vigil train --format ${GATEWAY_FORMATS.join('|')} --input FILE --out DIR [--max-rows N] [--seed N]\n`,
    );
    return 2;
  }
  const problem =
    inputFileProblem(args.input) ??
    (args.labels === undefined ? undefined : inputFileProblem(args.labels)) ??
    bundleDirProblem(args.out);
  if (problem) {
    process.stderr.write(`vigil train: ${problem}\n`);
    return 2;
  }
  const envName = args.pepperEnv ?? 'VIGIL_PEPPER__SECRET';
  const pepper = pepperFromEnv(envName);
  if (!pepper) {
    process.stderr.write(
      `vigil train: set ${envName} to the fingerprint pepper the detector uses (at least 32 characters)\n`,
    );
    return 2;
  }
  const number = (name: string, value: string | undefined, fallback: number, min: number) => {
    const n = value === undefined ? fallback : Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number of at least ${min}`);
    return n;
  };
  let maxRows: number;
  let seed: number;
  let bound: number;
  try {
    maxRows = number('max-rows', args.maxRows, 1_000_000, 1000);
    seed = number('seed', args.seed, 0, 0);
    bound = number('bound-ms', args.boundMs, 2000, 0);
  } catch (err) {
    process.stderr.write(`vigil train: ${(err as Error).message}\n`);
    return 2;
  }
  let labels: Labels | undefined;
  try {
    labels = args.labels === undefined ? undefined : readLabels(args.labels);
  } catch (err) {
    process.stderr.write(`vigil train: ${(err as Error).message}\n`);
    return 2;
  }
  const started = Date.now();
  const bar = progressBar('features');
  const result = await trainOnLog({
    adapter: adapterFor(args.format as GatewayFormat, { pepper }),
    input: args.input,
    boundMs: bound,
    maxRows,
    seed,
    ...(labels ? { labels } : {}),
    onProgress: (done, total, rows) => bar.update(done / Math.max(1, total), `${rows.toLocaleString('en')} events`),
    onRead: (r) => bar.done(`${r.events.toLocaleString('en')} events, ${r.deadLetters} dead letters`),
    onStage: (stage, detail) => process.stderr.write(`train: ${stage}${detail ? ` — ${detail}` : ''}\n`),
  });
  const { bundle, summary } = result;
  await bundle.save(args.out);
  const pct = (x: number) => `${(x * 100).toFixed(3)} %`;
  const round = (x: number) => String(Math.round(x * 100) / 100);
  const lines = [
    `bundle ${summary.bundleId} → ${args.out}`,
    `rows: ${result.read.events.toLocaleString('en')} events read, ` +
      `${summary.rows.toLocaleString('en')} sampled ` +
      `— ${summary.fitRows.toLocaleString('en')} to fit, ` +
      `${summary.holdoutRows.toLocaleString('en')} held out ` +
      `(${summary.holdoutPrincipalDays.toLocaleString('en')} ` +
      'principal-days of principals the models never saw)',
    `features: ${summary.features} (schema ${result.read.schema.hash})`,
    `autoencoder: ${summary.autoencoderEpochs} epochs on the ${summary.backend} backend`,
    'thresholds (combined score; false-positive rates on the held-out traffic):',
    ...(['alert', 'step_up', 'revoke'] as const).map((a) => {
      const t = summary.thresholds[a];
      const line =
        `  ${a.padEnd(8)} > ${t.score.toFixed(6)}   target ${pct(t.target_principal_day_fpr)} ` +
        `per principal-day → held out: ${pct(t.validation_principal_day_fpr)} ` +
        `per principal-day, ${pct(t.validation_event_fpr)} per event`;
      return t.resolved
        ? line
        : `${line}\n           (too few held-out principal-days to measure ` +
            `${pct(t.target_principal_day_fpr)}: ` +
            `need ${Math.ceil(1 / t.target_principal_day_fpr).toLocaleString('en')}; the threshold ` +
            'sits at the highest held-out score — train on more traffic)';
    }),
    'rules (thresholds fitted on this traffic for a target false-positive ' +
      'rate per principal-day; the configured constant is the floor):',
    ...(bundle.manifest.rule_thresholds ?? []).map((r) => {
      const from =
        r.source === 'fitted'
          ? `fitted (constant ${r.prior})`
          : r.fitted === undefined
            ? r.fit_principal_days < 200
              ? 'constant (too few principal-days to fit)'
              : 'constant (no benign principal-day met its conditions)'
            : `constant (fit ${round(r.fitted)})`;
      const note = r.resolved
        ? ''
        : ` — ${r.fit_principal_days} principal-days cannot show the target: past the highest benign day`;
      const cohorts = (r.cohorts ?? []).map(
        (c) =>
          `\n  ${''.padEnd(18)} cohort ${c.cohort}: ${round(c.threshold)} (${
            c.fit_principal_days > 0
              ? `its own fit ${round(c.fitted ?? c.threshold)} on ` +
                `${c.fit_principal_days} principal-days, weight ${round(c.weight)}`
              : 'from labels'
          })${labelNote(c.labels)}`,
      );
      const name = r.stratum === undefined ? r.rule : `${r.rule} (${r.stratum})`;
      return (
        `  ${name.padEnd(18)} ${r.parameter} ${round(r.threshold)} — ${from}; ` +
        `target ${pct(r.target_principal_day_fpr)} (${r.action}) → held out: ` +
        `${pct(r.holdout_fpr)} per principal-day (≤ ${pct(r.holdout_fpr_upper95)} ` +
        `at 95 %)${note}${labelNote(r.labels)}${cohorts.join('')}`
      );
    }),
    ...(result.labels
      ? [
          `labels: ${result.labels.labelled} labelled requests, ` +
            `${result.labels.true_positives + result.labels.false_positives} in this log ` +
            `(${result.labels.true_positives} true, ${result.labels.false_positives} false positives); ` +
            `${result.labels.unmatched} not in it` +
            `${result.labels.withoutRequest > 0 ? `; ${result.labels.withoutRequest} name only an alert` : ''}`,
          'precision on the labelled requests, as this bundle decides them (true / false positives it acts on):',
          ...result.labels.precision.map(
            (p) =>
              `  ${p.by.padEnd(18)} ` +
              `${p.precision === undefined ? 'acts on none' : `${(p.precision * 100).toFixed(1)} %`} ` +
              `(${p.true_positives} / ${p.false_positives})`,
          ),
        ]
      : []),
    `took ${((Date.now() - started) / 1000).toFixed(1)} s`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** What labels did to a threshold, for the summary. */
function labelNote(
  m: { false_positives: number; true_positives: number; moved_from?: number; unresolved?: number } | undefined,
): string {
  if (!m) return '';
  const moved = m.moved_from === undefined ? 'not moved' : `moved from ${Math.round(m.moved_from * 100) / 100}`;
  const left = m.unresolved ? `; ${m.unresolved} still fire (a labelled true positive or the 3× cap holds it)` : '';
  return ` [labels: fired on ${m.false_positives} false and ${m.true_positives} true positives; ${moved}${left}]`;
}

/** Why the bundle cannot be written to `dir` (checked before training, not after it): undefined when it can. */
function bundleDirProblem(dir: string): string | undefined {
  try {
    return statSync(dir).isDirectory()
      ? outputFileProblem(join(dir, 'manifest.json'))
      : `cannot write the bundle to ${dir}: it is a file`;
  } catch {
    return outputFileProblem(dir);
  }
}

export const command = defineCommand({
  name: 'train',
  overview: [
    [
      'train --format F --input FILE --out DIR [--max-rows N] [--seed N] [--labels FILE]',
      'Train a model bundle (scaler, isolation forest, autoencoder, calibration, thresholds)',
    ],
  ],
  help:
    'Usage: vigil train --format F --input FILE --out DIR [--max-rows N] [--seed N] [--bound-ms N] ' +
    `[--pepper-env NAME]
       [--labels FILE]

Trains a model bundle on a log of normal traffic with the detector's own parsing and feature code. The log is
streamed (any size): a seeded reservoir keeps at most --max-rows feature rows (default 1000000), and one principal in
five is held out — the models never see it — to calibrate the scores and set the thresholds per action (alert,
step_up, revoke) for target false-positive rates per principal-day (0.25 %, 0.1 %, 0.05 %). Writes DIR/manifest.json,
DIR/iforest.json and DIR/autoencoder/, and prints a summary: rows, features, thresholds and the false-positive rates
they give on the held-out traffic, per event and per principal-day. --seed (default 0) fixes the sample and the models.
Rule thresholds are fitted on the same log per cohort (client_id) for target false-positive rates per principal-day.
--labels FILE: analysts' verdicts (JSON lines {"request_id", "verdict": "true_positive"|"false_positive"}, e.g. an
export of the labels table that vigil label writes): labelled attacks leave the benign fit, false positives raise the
rule threshold of their cohort past them (never past a labelled true positive; at most 3×), and the summary reports
each rule's and the models' precision on the labelled requests as the new bundle decides them.
`,
  options: {
    format: { type: 'string' },
    input: { type: 'string' },
    out: { type: 'string' },
    'max-rows': { type: 'string' },
    seed: { type: 'string' },
    'bound-ms': { type: 'string' },
    'pepper-env': { type: 'string' },
    labels: { type: 'string' },
  },
  run: (flags) => train(flags),
});
