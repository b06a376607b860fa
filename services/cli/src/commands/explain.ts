// `vigil explain REQUEST_ID`: why a decision was taken, for the SOC — from the decisions table in ClickHouse (the
// detector stores every decision record there when it has a clickhouse section) or from a decisions file
// (`vigil replay --out`). Prints the action, the entity, the scores, the context and each reason with its value,
// baseline and share of the score; --json prints the records themselves.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { clickhouseClient } from '@vigil/connectors';
import { detectorConfigSchema, lintDetectorConfig } from '@vigil/detector';
import { type Decision, decisionSchema } from '@vigil/events';
import { decodeValue, FEATURE_DECLARATIONS } from '@vigil/features';
import { decisionFromRow } from '@vigil/warehouse';
import { defineCommand } from '../command.js';
import { inputFileProblem } from '../support/input-file.js';
import { configOrExit } from '../support/load-config.js';

type Found = { decision: Decision; shadow: boolean }[];

export async function explain(
  requestId: string | undefined,
  args: { decisions?: string | undefined; config?: string | undefined; json?: boolean | undefined },
): Promise<number> {
  if (!requestId || (args.decisions === undefined) === (args.config === undefined)) {
    process.stderr.write('usage: vigil explain REQUEST_ID (--decisions FILE | --config DETECTOR_CONFIG) [--json]\n');
    return 2;
  }
  const found =
    args.decisions !== undefined
      ? await fromFile(requestId, args.decisions)
      : await fromClickHouse(requestId, args.config as string);
  if (typeof found === 'number') return found;
  if (found.length === 0) {
    process.stderr.write(
      `vigil explain: no decision for request ${requestId} ` +
        `(allow decisions are stored only with scoring.write_allow)\n`,
    );
    return 1;
  }
  if (args.json) {
    for (const f of found)
      process.stdout.write(`${JSON.stringify(f.shadow ? { ...f.decision, shadow: true } : f.decision)}\n`);
    return 0;
  }
  for (const f of found) process.stdout.write(render(f.decision, f.shadow));
  return 0;
}

/** The request's decision records in a decisions file (`vigil replay --out`), or an exit status. */
async function fromFile(requestId: string, file: string): Promise<Found | number> {
  const problem = inputFileProblem(file);
  if (problem) {
    process.stderr.write(`vigil explain: ${problem}\n`);
    return 2;
  }
  const found: Found = [];
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let other = 0;
  for await (const line of lines) {
    // A cheap test before parsing: most lines are other requests.
    if (!line.includes(requestId)) continue;
    // Only decision records are explained: a line of another shape (replay --diff's summary, a log) is passed over.
    const parsed = decisionSchema.safeParse(safeJson(line));
    if (!parsed.success) {
      other++;
      continue;
    }
    if (parsed.data.request_id === requestId) found.push({ decision: parsed.data, shadow: false });
  }
  if (found.length === 0 && other > 0) {
    process.stderr.write(
      `vigil explain: ${file} mentions ${requestId} but holds no decision ` +
        `record for it (is it a replay --diff file? explain the --out file)\n`,
    );
    return 1;
  }
  return found;
}

/**
 * The request's decision records in the detector's ClickHouse decisions table (shadow bundles' too), or an exit status.
 */
async function fromClickHouse(requestId: string, configFile: string): Promise<Found | number> {
  const config = configOrExit('explain', detectorConfigSchema, configFile, lintDetectorConfig);
  if (typeof config === 'number') return config;
  const ch = config.clickhouse;
  if (!ch) {
    process.stderr.write('vigil explain: the config has no clickhouse section — decisions are stored there\n');
    return 2;
  }
  // 18.16 has no query parameters: the id is checked against a strict pattern before it enters the SQL.
  if (!/^[A-Za-z0-9._:@/+=~-]{1,256}$/.test(requestId)) {
    process.stderr.write('vigil explain: a request id is letters, digits and . _ : @ / + = ~ -\n');
    return 2;
  }
  const client = clickhouseClient(ch);
  try {
    const result = await client.query({
      query:
        `SELECT * FROM ${ch.table_prefix}decisions FINAL WHERE ` +
        `request_id = '${requestId}' ORDER BY shadow, bundle`,
      format: 'JSONEachRow',
    });
    return (await result.json<Record<string, unknown>>()).map((r) => ({
      decision: decisionFromRow(r),
      shadow: Number(r.shadow) === 1,
    }));
  } finally {
    await client.close();
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

const WINDOWS: Record<string, string> = {
  '1m': 'in the last minute',
  '10m': 'in the last 10 minutes',
  '1h': 'in the last hour',
  '24h': 'in the last day',
};

/**
 * A feature as people read it: a value stored encoded for the models (a count as log1p, a ratio as log2: its
 * declaration says) is shown decoded, with the unit and window its name carries (geo_speed_kmh_log 9.12 → "geo speed
 * 9,140 km/h"). A name no feature declares (a rule's statistic, already decoded) is shown as it is.
 */
export function human(feature: string): { label: string; show: (value: number) => string } {
  const logged = feature.endsWith('_log');
  // A feature of an older schema that no family declares any more: its name's suffix says log1p.
  const encoding = FEATURE_DECLARATIONS.get(feature)?.encoding ?? (logged ? 'log1p' : 'plain');
  // The name loses the encoding its value no longer carries once shown decoded (_log, _log2).
  let name = feature.replace(/_log2?$/, '');
  let unit = '';
  if (name.endsWith('_kmh')) {
    name = name.slice(0, -4);
    unit = ' km/h';
  }
  // The payment risk is evidence in nats (a sum of −ln probabilities; see the features' transaction.ts).
  if (name.startsWith('tx_risk')) unit = ' nats';
  if (name.startsWith('tenant_failure_ratio')) {
    return {
      label: "tenant's failed logins in the last minute",
      show: (v: number) => `${num(decodeValue(encoding, v))}× its usual rate`,
    };
  }
  const window = /_(1m|10m|1h|24h)$/.exec(name);
  if (window) name = name.slice(0, -window[0].length);
  const label = `${name.replace(/_/g, ' ')}${window ? ` ${WINDOWS[window[1] as string]}` : ''}`;
  if (encoding === 'log2') unit = '×';
  return { label, show: (v: number) => `${num(decodeValue(encoding, v))}${unit}` };
}
const num = (x: number) =>
  Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en') : Number(x.toPrecision(4)).toString();

export function render(d: Decision, shadow: boolean): string {
  const p = d.principal;
  const ids = Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const c = d.context;
  const lines = [
    `request ${d.request_id}${shadow ? ' (shadow bundle)' : ''}`,
    `  ${d.action.toUpperCase()} ${d.entity}${d.dry_run ? ' — dry run: recorded, not enforced' : ''}`,
    `  score ${d.score.toFixed(6)}  (isolation forest ${num(d.scores.iforest)}, ` +
      `autoencoder ${num(d.scores.autoencoder)}` +
      `${d.scores.rules !== undefined ? `, rules ${d.scores.rules}` : ''})  bundle ${d.bundle}`,
    `  request at ${iso(d.ts)} (event time), decided at ${iso(d.decided_at)}`,
    ...(c
      ? [
          `  route ${c.route} (class ${c.route_class}` +
            `${c.tenant !== undefined ? `, tenant ${c.tenant}` : ''}` +
            `${c.country !== undefined ? `, from ${c.country}` : ''})`,
        ]
      : []),
    `  principal ${ids || '(none)'}`,
    d.reasons.length > 0 ? '  why:' : '  why: no reasons recorded (allow decisions carry none)',
    ...d.reasons.map((r, i) => {
      if (r.feature.startsWith('rule:')) {
        const [rule, statistic = ''] = r.feature.slice(5).split(':');
        const h = human(statistic);
        return (
          `    ${i + 1}. rule ${rule}: ${h.label} ${h.show(r.value)} ` +
          `— at or past its threshold ${h.show(r.baseline)}`
        );
      }
      const h = human(r.feature);
      return (
        `    ${i + 1}. ${h.label} ${h.show(r.value)} (usual ${h.show(r.baseline)}; ` +
        `${Math.round(r.contribution * 100)} % of the model's score)  [${r.feature}]`
      );
    }),
  ];
  return `${lines.join('\n')}\n`;
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

export const command = defineCommand({
  name: 'explain',
  overview: [
    [
      'explain REQUEST_ID (--decisions FILE | --config FILE) [--json]',
      'Why a decision was taken: action, scores, context, reasons',
    ],
  ],
  help: `Usage: vigil explain REQUEST_ID (--decisions FILE | --config DETECTOR_CONFIG) [--json]

Shows why a decision was taken, for the SOC: the action and entity, the calibrated score and each model's, the
request's route, class, tenant and country, the principal's identifiers, and each reason — a rule's evidence against
its threshold, or a feature's value against its usual value with its share of the score. Reads the decisions table
in ClickHouse (the detector config's clickhouse section; the detector stores every decision record, shadow ones
marked) or a decisions file written by vigil replay. --json prints the records.
`,
  options: { decisions: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' } },
  positionals: true,
  run: (flags, positionals) => explain(positionals[0], flags),
});
