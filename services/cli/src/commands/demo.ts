// `vigil demo`: the embedded default. Simulated bank traffic with labelled attacks woven in (and a share of malformed
// records) flows through the detector's stages in one process, on the in-memory bus, with no external service:
// ingest (parse, validate, fingerprint, re-key), the features in event time, the shipped default bundle and the
// policy, and the revoker's guardrails in front of an in-memory gateway. It reports what each stage did and how many
// attacks of each family were caught, and how quickly.
import { adapterFor } from '@vigil/adapters';
import { backendName, ModelBundle } from '@vigil/bundle';
import { type MemoryBus, memoryRecord } from '@vigil/connectors';
import {
  Allowlist,
  type Enforcement,
  type GatewayAdapter,
  MemoryRevocationLog,
  RateCaps,
  RevocationStore,
  Revoker,
} from '@vigil/enforcement';
import { type AccessEvent, type DeadLetter, type Decision, GATEWAY_FORMATS, type GatewayFormat } from '@vigil/events';
import { FeatureExtractor, KIND_HEADER, MmdbGeoLookup, PART_KIND } from '@vigil/features';
import { REDACTED_DEAD_LETTERS } from '@vigil/ingest';
import { DecisionPolicy, policyConfigSchema } from '@vigil/policy';
import { BundleScorer, offlineDecisions } from '@vigil/scoring';
import {
  type AttackLabel,
  attackWindow,
  bankDurationMs,
  evaluateDetection,
  generateBank,
  malformedRecords,
  principalDay,
  renderRecord,
  withAttacks,
} from '@vigil/simulator';
import { codecOf, featureStageTasks, MemoryRun, memoryTopology, type Topology } from '@vigil/topology';
import { defineCommand } from '../command.js';
import { defaultBundleDir } from '../support/default-bundle.js';
import { DEMO_PEPPER } from '../support/pepper.js';

/**
 * The demo's gateway: enforcement lands in memory (the real adapters are HAProxy, Redis, HTTP — see
 * docs/enforcement.md).
 */
class MemoryGateway implements GatewayAdapter {
  readonly name = 'memory';
  readonly listed = new Map<string, Enforcement>();
  supports(): boolean {
    return true;
  }
  async apply(e: Enforcement) {
    this.listed.set(e.id, e);
  }
  async remove(e: Enforcement) {
    this.listed.delete(e.id);
  }
  async close() {}
}

interface DemoArgs {
  events?: string;
  seed?: string;
  format?: string;
  attacks?: string;
}

const DEMO_START = Date.UTC(2026, 10, 2);
// 5,000 customers of the bank simulator make about 125,000 requests a day.
const CUSTOMERS = 5000;

export async function demo(args: DemoArgs): Promise<number> {
  const total = Number(args.events ?? '200000');
  const format = (args.format ?? 'kong') as GatewayFormat;
  if (!Number.isInteger(total) || total <= 0 || !GATEWAY_FORMATS.includes(format)) {
    process.stderr.write('usage: vigil demo [--events N] [--seed N] [--format F] [--attacks N]\n');
    return 2;
  }
  const seed = Number(args.seed ?? '1');
  const perFamily = Number(args.attacks ?? '3');
  const out = process.stdout;
  out.write(
    `vigil demo — ${total} simulated ${format} records with ${perFamily} attacks per family, seed ${seed}, ` +
      'in-memory bus (no external services)\n',
  );
  const started = performance.now();
  const geo = MmdbGeoLookup.bundled();
  const sim = simulatedLog(format, total, seed, perFamily, geo);
  // The detector's topology (what `vigil detect` builds on Kafka, with its default topic names), decisions fused.
  const topology = memoryTopology({ group: 'vigil-demo', input: INPUT, format, decisions: 'fused' });
  const run = await runPipeline(topology, format, geo, sim.input);
  if ('error' in run) {
    out.write(`\n  the default bundle did not load (${run.error}) — rebuild it with npm run bundle:default\n`);
    return 1;
  }
  const bus = run.bus;
  const events = keyedEvents(bus, topology);
  const deadLetters = codecOf<DeadLetter>(topology, 'dead_letters', 'dead letter');
  const dead = bus
    .topic<Buffer>(topology.topic('dead_letters').name)
    .map((r) => ({ value: deadLetters.decode(r.value) }));
  const features = bus.topic(topology.topic('features').name).length;
  const ok = report({ ...sim, ...run, events, dead, features });
  out.write(`  total               ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return ok ? 0 : 1;
}

interface SimulatedLog {
  input: { value: Buffer }[];
  labels: AttackLabel[];
  malformed: number;
}

/** The bank's seeded traffic with attacks woven in, rendered as the gateway logs it; one record in 500 broken. */
function simulatedLog(
  format: GatewayFormat,
  total: number,
  seed: number,
  perFamily: number,
  geo: MmdbGeoLookup,
): SimulatedLog {
  const labels: AttackLabel[] = [];
  const traffic = withAttacks(
    generateBank({ seed, customers: CUSTOMERS, start: DEMO_START, geo }),
    { seed, perFamily, ...attackWindow(DEMO_START, bankDurationMs(total, CUSTOMERS)) },
    (l) => labels.push(l),
  );
  const input: { value: Buffer }[] = [];
  let malformed = 0;
  for (let i = 0; i < total; i++) {
    const r = traffic.next().value;
    if (!r) break;
    // One record in 500 is broken the ways real shippers break them, to show the dead-letter path.
    const bad = i % 500 === 499 ? malformedRecords(format, r)[((i / 500) % 4) | 0] : undefined;
    if (bad) malformed++;
    input.push({ value: Buffer.from(bad ? bad.line : JSON.stringify(renderRecord(format, r))) });
  }
  return { input, labels, malformed };
}

/** A progress line on a terminal (nothing otherwise), at most ten updates a second. */
function progressLine(what: string, of: number): ((n: number) => void) & { done: () => void } {
  const out = process.stdout;
  const tty = out.isTTY === true;
  let last = 0;
  const show = (n: number) => {
    const now = performance.now();
    if (!tty || now - last <= 100) return;
    last = now;
    out.write(`\r  ${what}… ${n.toLocaleString('en')} / ${of.toLocaleString('en')}`);
  };
  return Object.assign(show, { done: () => tty && out.write('\r\x1b[K') });
}

interface Detection {
  /** Every record each topic got (the run retains them). */
  bus: MemoryBus;
  decisions: Decision[];
  bundle: ModelBundle;
  extractor: FeatureExtractor;
  revoker: Revoker;
  gateway: MemoryGateway;
  ingestSeconds: number;
  scoreSeconds: number;
}

/** The gateway log's topic on the bus. */
const INPUT = 'vigil.access';

/**
 * The topology on the bus (MemoryRun): ingest (parse, validate, fingerprint, re-key) a batch at a time, then the
 * entity and principal feature stages (features in event time, the default bundle and the policy fused into the
 * principal task) over what it wrote, then every non-allow decision through the revoker's guardrails to the
 * in-memory gateway. Every record stays on the bus for the report.
 */
async function runPipeline(
  topology: Topology,
  format: GatewayFormat,
  geo: MmdbGeoLookup,
  input: { value: Buffer }[],
): Promise<Detection | { error: string }> {
  const extractor = FeatureExtractor.standard(geo);
  let bundle: ModelBundle;
  try {
    bundle = await ModelBundle.load(defaultBundleDir(), extractor.schema.hash);
  } catch (err) {
    return { error: (err as Error).message.slice(0, 200) };
  }
  const tasks = featureStageTasks(topology, {
    extractor: () => FeatureExtractor.standard(geo),
    // Offline, a reorder bound costs no latency: the same 2 s as vigil replay's.
    reorderBoundMs: 2000,
    idleRelease: false,
    // Nothing restores the demo's state: none of it is tracked or encoded for a changelog.
    checkpointed: false,
    fuse: (task) =>
      offlineDecisions({
        scorer: new BundleScorer(bundle),
        policy: new DecisionPolicy(policyConfigSchema.parse({}), extractor.names),
        geo,
        dryRun: false,
        writeAllow: false,
        schema: extractor.schema.hash,
      })(task, { decisions: topology.topic('decisions').name, shadow: topology.topic('shadow_decisions').name }),
  });
  const enforcing = enforcer();
  const run = new MemoryRun({
    topology,
    tasks: { ...tasks },
    adapter: adapterFor(format, { pepper: DEMO_PEPPER }),
    deadLetters: REDACTED_DEAD_LETTERS,
    traceOneIn: 1000,
    retain: true,
    onStep: (take) => enforcing.handle(take<Decision>('decisions')),
  });
  const progress = progressLine('detecting', input.length);
  // 4,096 records a batch: the decisions of a batch are scored together, which spreads the model runtime's per-call
  // overhead (replay's batch size, for the same reason).
  for (let from = 0; from < input.length; from += 4096) {
    const batch = input.slice(from, from + 4096).map((r, i) => memoryRecord(INPUT, from + i, r));
    await run.push(batch);
    progress(from + batch.length);
  }
  await run.finish();
  progress.done();
  const { decisions, revoker, gateway } = enforcing;
  return {
    bus: run.bus,
    decisions,
    bundle,
    extractor,
    revoker,
    gateway,
    ingestSeconds: run.seconds.ingest,
    scoreSeconds: run.seconds.stages,
  };
}

/**
 * The revoker in front of the in-memory gateway, taking each step's decisions in the order the principal stage
 * wrote them. Enforcement expiries run on the events' own clock, so a replayed day behaves like a day.
 */
function enforcer() {
  const gateway = new MemoryGateway();
  let latest = DEMO_START;
  const revoker = new Revoker({
    adapters: [gateway],
    store: new RevocationStore(new MemoryRevocationLog()),
    allowlist: new Allowlist({ subs: [], usernames: [], client_ids: [], ips: [] }),
    // The demo replays hours of traffic in seconds: caps sized for that, not the production default of 60 a minute.
    caps: new RateCaps({ per_minute: 100_000, per_tenant_per_minute: 100_000 }),
    enforce: true,
    ttl: { revokeTtlMs: 86_400_000, throttleTtlMs: 900_000, stepUpTtlMs: 3_600_000 },
    audit: async () => undefined,
    notify: async () => undefined,
    now: () => latest,
  });
  const decisions: Decision[] = [];
  return {
    decisions,
    revoker,
    gateway,
    /** The decisions of a step, in the order the principal stage wrote them. */
    async handle(step: Decision[]): Promise<void> {
      for (const d of step) {
        decisions.push(d);
        latest = Math.max(latest, d.ts);
        await revoker.handle(d);
      }
    },
  };
}

/** The events ingest wrote on the principal-keyed topic, read back with its codec (the entity parts left out). */
function keyedEvents(bus: MemoryBus, topology: Topology): { key?: string | null; value: AccessEvent }[] {
  const codec = codecOf<AccessEvent>(topology, 'keyed', 'access event');
  return bus
    .topic<Buffer>(topology.topic('keyed').name)
    .filter((r) => r.headers?.[KIND_HEADER] !== PART_KIND)
    .map((r) => ({ key: r.key ?? null, value: codec.decode(r.value) }));
}

/** Writes what each stage did and how each attack family fared; false when a record was lost or a token leaked. */
function report(
  r: SimulatedLog &
    Detection & {
      events: { key?: unknown; value: AccessEvent }[];
      dead: { value: DeadLetter }[];
      /** Feature records the principal stage wrote: one per event. */
      features: number;
    },
): boolean {
  const { events, dead, decisions, labels } = r;
  const out = process.stdout;
  const principals = new Set(events.map((e) => e.key));
  const reasons = new Map<string, number>();
  for (const d of dead) reasons.set(d.value.reason, (reasons.get(d.value.reason) ?? 0) + 1);
  const leaked = events.some((e) => JSON.stringify(e.value).includes('Bearer '));
  const attackRequests = new Set(labels.map((l) => l.request_id));
  const days = new Set(
    events.filter((e) => !attackRequests.has(e.value.request_id)).map((e) => principalDay(e.key as string, e.value.ts)),
  );
  const q = evaluateDetection(decisions, labels, days);
  const actions = new Map<string, number>();
  for (const d of decisions) actions.set(d.action, (actions.get(d.action) ?? 0) + 1);
  const perSecond = (n: number, s: number) => Math.round(n / s).toLocaleString('en');

  out.write('\nReport\n');
  out.write(`  records in          ${r.input.length}\n`);
  out.write(`  events out          ${events.length} (keyed by principal: ${principals.size} principals)\n`);
  out.write(`  feature records     ${r.features} (one per event, entity features joined on)\n`);
  const byReason = [...reasons].map(([reason, n]) => `${reason}: ${n}`).join(', ');
  out.write(`  dead letters        ${dead.length} of ${r.malformed} malformed — ${byReason}\n`);
  out.write(`  raw tokens in output ${leaked ? 'FOUND (bug)' : 'none (fingerprinted at the edge)'}\n`);
  out.write(
    `  ingest              ${perSecond(r.input.length, r.ingestSeconds)} records/s ` +
      '(parse + validate + re-key, one core)\n',
  );
  out.write(
    `  detection           ${perSecond(events.length, r.scoreSeconds)} events/s (${r.extractor.names.length} ` +
      `features in event time, bundle ${r.bundle.id} with its autoencoder on ${backendName()}, policy); ` +
      `decisions: ${[...actions].map(([a, n]) => `${a} ${n}`).join(', ') || 'none'}\n`,
  );
  out.write(
    `  enforcement         ${r.revoker.counts.enforced} enforced at the (in-memory) gateway, ` +
      `${r.gateway.listed.size} entries listed\n`,
  );
  out.write('  attacks             detected / total · revoked · attacker requests to detect (median)\n');
  for (const f of q.families) {
    if (f.attacks === 0) continue;
    out.write(
      `    ${f.family.padEnd(32)} ${String(f.detected).padStart(3)} / ${String(f.attacks).padEnd(3)} · ` +
        `${String(f.revoked).padStart(3)} · ${f.medianRequestsToDetect ?? '—'}\n`,
    );
  }
  out.write(`    ${'every family'.padEnd(32)} ${' '.repeat(17)} ${q.medianRequestsToDetect ?? '—'}\n`);
  out.write(
    `  benign              ${q.falseAlertsPer1000.toFixed(1)} false alerts and ` +
      `${q.falseRevocationsPer1000.toFixed(1)} false revocations per 1,000 principals per day ` +
      `(${q.benignPrincipalDays} principal-days; victims' own requests flagged on ${q.flaggedAttackedPrincipalDays} ` +
      `of ${q.attackedPrincipalDays} attacked principal-days, not counted)\n`,
  );
  return events.length + dead.length === r.input.length && r.features === events.length && !leaked;
}

export const command = defineCommand({
  name: 'demo',
  overview: [['demo', 'Simulated bank traffic through the pipeline in one process, no external service']],
  help: `Usage: vigil demo [--events N] [--seed N] [--format F] [--attacks N]

Generates seeded demo-bank traffic (default 200000 events, kong format, seed 1) with N labelled attacks of each
family woven in (default 3) and a share of malformed records, and runs it through the detector's stages in one
process on the in-memory bus: ingest, the features in event time, the default bundle and the policy, the revoker's
guardrails in front of an in-memory gateway. Prints a report: dead letters by reason code, events per second, the
decisions, per attack family how many were detected and revoked and after how many attacker requests, and false
alerts and revocations per 1,000 benign principals per day. Needs no Kafka, ClickHouse or network.
`,
  options: {
    events: { type: 'string' },
    seed: { type: 'string' },
    format: { type: 'string' },
    attacks: { type: 'string' },
  },
  run: (flags) => demo(flags),
});
