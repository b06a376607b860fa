// `vigil replay`: the detector offline over a log, in event time — the detector's topology on the in-memory bus (its
// ingest, feature stages, and bundle and policy fused into the principal task, as `vigil detect` runs them on Kafka)
// with the config's GeoIP — writing decision records (JSON Lines). Streams the log (bounded memory). With --compare, a
// candidate bundle is scored alongside and what it would have decided differently is summarised (and written to
// --diff). The policy, dry-run flag, reorder bound and GeoIP database come from --config (a detector config) when
// given, else defaults; the pepper from the config or VIGIL_PEPPER__SECRET.
import { adapterFor } from '@vigil/adapters';
import { backendName, ModelBundle } from '@vigil/bundle';
import { JsonlFileSink } from '@vigil/connectors';
import { type DetectorConfig, detectorConfigSchema, lintDetectorConfig } from '@vigil/detector';
import { type Decision, GATEWAY_FORMATS, type GatewayFormat, type Pepper } from '@vigil/events';
import { FeatureExtractor, MmdbGeoLookup } from '@vigil/features';
import { DecisionPolicy, policyConfigSchema } from '@vigil/policy';
import { BundleScorer, offlineDecisions } from '@vigil/scoring';
import { runLog } from '@vigil/train';
import { defineCommand } from '../command.js';
import { defaultBundleDir } from '../support/default-bundle.js';
import { inputFileProblem, readStatus, reportOutputProblems, writeOutputs } from '../support/input-file.js';
import { configOrExit } from '../support/load-config.js';
import { pepperFromEnv } from '../support/pepper.js';
import { progressBar } from '../support/progress.js';

export interface ReplayArgs {
  format?: string | undefined;
  input?: string | undefined;
  bundle?: string | undefined;
  out?: string | undefined;
  compare?: string | undefined;
  diff?: string | undefined;
  config?: string | undefined;
  all?: boolean | undefined;
  boundMs?: string | undefined;
  pepperEnv?: string | undefined;
}

export async function replay(args: ReplayArgs): Promise<number> {
  const settings = replaySettings(args);
  if (typeof settings === 'number') return settings;
  const { input, config, pepper, bound, format, outFile } = settings;
  const geo =
    config?.features.geoip !== undefined ? MmdbGeoLookup.maxmind(config.features.geoip) : MmdbGeoLookup.bundled();
  const extractor = FeatureExtractor.standard(geo);
  const schema = extractor.schema.hash;
  let scorer: BundleScorer;
  try {
    scorer = new BundleScorer(await ModelBundle.load(args.bundle ?? defaultBundleDir(), schema));
    if (args.compare !== undefined) scorer.setShadow(await ModelBundle.load(args.compare, schema));
  } catch (err) {
    process.stderr.write(`vigil replay: ${(err as Error).message}\n`);
    return 2;
  }
  const policy = new DecisionPolicy(config?.policy ?? policyConfigSchema.parse({}), extractor.names);
  const writeAllow = args.all ?? config?.scoring.write_allow ?? false;
  const out = new JsonlFileSink<Decision>(outFile);
  const diff = args.diff !== undefined ? new JsonlFileSink<unknown>(args.diff) : undefined;
  const actions = new Map<string, number>();
  const transitions = new Map<string, number>();
  let decided = 0;
  const onDecisions = async (active: Decision[], shadow: Decision[]) => {
    const written: { value: Decision }[] = [];
    const differ: { value: unknown }[] = [];
    decided += active.length;
    // Every request is decided (allow too, below); the shadow bundle's decision of the same request, from the same
    // step, is its pair (in order, for a request id logged twice).
    const shadowOf = new Map<string, Decision[]>();
    for (const s of shadow) {
      const list = shadowOf.get(s.request_id);
      if (list) list.push(s);
      else shadowOf.set(s.request_id, [s]);
    }
    for (const d of active) {
      actions.set(d.action, (actions.get(d.action) ?? 0) + 1);
      if (writeAllow || d.action !== 'allow') written.push({ value: d });
      const s = shadowOf.get(d.request_id)?.shift();
      if (s) {
        const key = `${d.action} → ${s.action}`;
        transitions.set(key, (transitions.get(key) ?? 0) + 1);
        if (s.action !== d.action) differ.push({ value: diffRecord(d, s) });
      }
    }
    await out.write(written);
    if (diff && differ.length > 0) await diff.write(differ);
  };
  const started = performance.now();
  const bar = progressBar('replay');
  let read: Awaited<ReturnType<typeof runLog>> | undefined;
  const ok = await writeOutputs(
    'replay',
    [out, diff],
    async () => {
      read = await runLog({
        adapter: adapterFor(format, { pepper }),
        input,
        boundMs: bound,
        extractor: () => FeatureExtractor.standard(geo),
        // Every decision, allow too: the action counts and the comparison cover every request.
        decide: offlineDecisions({
          scorer,
          policy,
          geo,
          dryRun: config?.scoring.dry_run ?? true,
          writeAllow: true,
          schema,
        }),
        onDecisions,
        onProgress: (done, total) => bar.update(done / Math.max(1, total), `${decided.toLocaleString('en')} events`),
      });
    },
    () => `${decided} events decided`,
  );
  if (!ok || !read) return 1;
  const seconds = (performance.now() - started) / 1000;
  bar.done(`${read.events.toLocaleString('en')} events, ${read.deadLetters} dead letters`);
  const counts = [...actions].map(([a, n]) => `${a} ${n}`).join(', ');
  process.stderr.write(
    `replay: ${read.events} events in ${seconds.toFixed(1)} s ` +
      `(${Math.round(read.events / seconds).toLocaleString('en')} events/s); decisions: ` +
      `${counts || 'none'}; bundle ${scorer.activeId}, autoencoder on ${backendName()}\n`,
  );
  if (args.compare !== undefined) printComparison(scorer, transitions, read.events, args.diff);
  return readStatus('replay', input, format, read.events, read.deadLetters, read.reasons);
}

/**
 * The input, config, pepper and reorder bound a replay runs with, each checked; or the exit status after saying why.
 */
function replaySettings(args: ReplayArgs):
  | {
      input: string;
      outFile: string;
      format: GatewayFormat;
      config: Readonly<DetectorConfig> | undefined;
      pepper: Pepper;
      bound: number;
    }
  | number {
  if (!args.format || !GATEWAY_FORMATS.includes(args.format as GatewayFormat) || !args.input || !args.out) {
    process.stderr.write(
      `usage: vigil replay --format ${GATEWAY_FORMATS.join('|')} --input FILE ` +
        `[--bundle DIR] --out FILE [--compare DIR [--diff FILE]] [--config FILE] [--all]\n`,
    );
    return 2;
  }
  const problem = inputFileProblem(args.input);
  if (problem) {
    process.stderr.write(`vigil replay: ${problem}\n`);
    return 2;
  }
  if (reportOutputProblems('replay', [args.out, args.diff])) return 2;
  let config: Readonly<DetectorConfig> | undefined;
  if (args.config !== undefined) {
    const loaded = configOrExit('replay', detectorConfigSchema, args.config, lintDetectorConfig);
    if (typeof loaded === 'number') return loaded;
    config = loaded;
  }
  const envName = args.pepperEnv ?? 'VIGIL_PEPPER__SECRET';
  const pepper = config?.pepper ?? pepperFromEnv(envName);
  if (!pepper) {
    process.stderr.write(
      `vigil replay: set ${envName} to the fingerprint pepper the detector uses (at least 32 characters)\n`,
    );
    return 2;
  }
  const bound = Number(args.boundMs ?? config?.features.reorder_bound_ms ?? 2000);
  if (!Number.isInteger(bound) || bound < 0) {
    process.stderr.write('vigil replay: --bound-ms is a whole number of milliseconds\n');
    return 2;
  }
  return { input: args.input, outFile: args.out, format: args.format as GatewayFormat, config, pepper, bound };
}

/** One request the candidate bundle decides differently: both decisions, the candidate's reasons. */
function diffRecord(active: Decision, shadow: Decision) {
  return {
    request_id: active.request_id,
    ts: active.ts,
    principal: active.principal,
    active: { bundle: active.bundle, action: active.action, score: active.score },
    candidate: { bundle: shadow.bundle, action: shadow.action, score: shadow.score, reasons: shadow.reasons },
  };
}

/** Per request, how the candidate's actions differ from the active bundle's (active → candidate). */
function printComparison(scorer: BundleScorer, transitions: Map<string, number>, events: number, diff?: string) {
  process.stdout.write(`candidate ${scorer.shadowId} against ${scorer.activeId}, per request (active → candidate):\n`);
  for (const [k, n] of [...transitions].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${k.padEnd(22)} ${n}\n`);
  const changed = [...transitions]
    .filter(([k]) => k.split(' → ')[0] !== k.split(' → ')[1])
    .reduce((a, [, n]) => a + n, 0);
  process.stdout.write(
    `  ${changed} of ${events} requests decided differently${diff ? ` (written to ${diff})` : ''}\n`,
  );
}

export const command = defineCommand({
  name: 'replay',
  overview: [
    [
      'replay --format F --input FILE [--bundle DIR] --out FILE [--compare DIR [--diff FILE]] [--config FILE] [--all]',
      'The detector offline over a log, in event time: decision records (JSON Lines)',
    ],
  ],
  help:
    'Usage: vigil replay --format F --input FILE [--bundle DIR] --out FILE [--compare DIR [--diff FILE]] ' +
    `[--config FILE] [--all]
       [--bound-ms N] [--pepper-env NAME]

Runs the detector offline over a gateway log, in event time, on the detector's own code path — adapter, feature
stages' families, bundle scoring and the decision policy — and writes decision records (JSON Lines) to --out: the
records the live service writes for the same log, except decided_at. Streams the log (bounded memory). Without
--bundle, the default bundle that ships with vigil (models/bundles/default). Without --all
only non-allow decisions are written. --config takes a detector config (policy, dry_run, reorder bound, GeoIP; the
pepper from it or VIGIL_PEPPER__SECRET). --compare DIR scores a candidate bundle alongside and prints, per request,
how its actions differ (active → candidate); --diff FILE writes the differing requests.
`,
  options: {
    format: { type: 'string' },
    input: { type: 'string' },
    bundle: { type: 'string' },
    out: { type: 'string' },
    compare: { type: 'string' },
    diff: { type: 'string' },
    config: { type: 'string' },
    all: { type: 'boolean' },
    'bound-ms': { type: 'string' },
    'pepper-env': { type: 'string' },
  },
  run: (flags) => replay(flags),
});
