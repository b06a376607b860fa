// Detection quality on simulator seeds the bundle never trained on: a bundle trained on benign traffic of one seed
// (as `vigil train` would, its rule thresholds fitted on that traffic too), then benign traffic of another seed with
// labelled attacks woven in, replayed through the detector's stages (`vigil replay`'s: features, bundle, default
// policy), scored per attack family and with false positives per action. Prints the table the README carries.
// With --populations, the same over six differently shaped populations (business share, payroll size and rhythm,
// carrier use, travel and VPN rates, amounts and currencies, quiet and busy days), each trained on its own benign
// days with no constant changed between them, and a robustness table; the last stdout line is one JSON object.
// Run: npm run bench:quality [-- --customers N --per-family N --populations [--constants] [--only a,b] [--verbose]]
// (--constants: the hand-set rule constants alone, for comparison; --only: a subset of the shapes; --verbose: each
// population's tables and its false-positive and missed-attack files).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adapterFor } from '@vigil/adapters';
import { type Decision, principalKey } from '@vigil/events';
import { FeatureExtractor, MmdbGeoLookup } from '@vigil/features';
import { bundleDecisions } from '@vigil/scoring';
import {
  type AttackLabel,
  DEFAULT_POPULATION,
  decisionPrincipal,
  evaluateDetection,
  generateBank,
  type PopulationShape,
  principalDay,
  principalDaysUnderAttack,
  renderRecord,
  type SimRequest,
  withAttacks,
} from '@vigil/simulator';
import { runLog, trainOnLog } from '@vigil/train';

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CUSTOMERS = flag('--customers', 5000);
const TRAIN_DAYS = flag('--train-days', 2);
/** Days of the evaluated population replayed before the evaluated day, to warm the detector's state up. */
const WARMUP_DAYS = flag('--warmup-days', 2);
const EVAL_DAYS = flag('--days', 1);
const PER_FAMILY = flag('--per-family', 10);
const POPULATIONS = process.argv.includes('--populations');
/** Compare: the hand-set rule constants only, the bundle's fitted rule thresholds ignored. */
const CONSTANTS = process.argv.includes('--constants');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const pepper = { version: 1, secret: 'quality-pepper-0123456789abcdef0123456789' };
const start = Date.UTC(2026, 10, 2);
const geo = MmdbGeoLookup.bundled();

function write(path: string, requests: Iterable<SimRequest>, until: number, onRequest?: (r: SimRequest) => void) {
  const lines: string[] = [];
  for (const r of requests) {
    if (r.ts >= until) break;
    onRequest?.(r);
    lines.push(JSON.stringify(renderRecord('kong', r, 'claims')));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return lines.length;
}

/**
 * One population: train on its benign days, replay a later day with attacks, score. Prints its tables when `verbose`.
 */
async function evaluatePopulation(name: string, population: Partial<PopulationShape>, verbose: boolean) {
  const trained = await trainPopulation(name, population);
  const replayed = await replayWithAttacks(trained.dir, population, trained.bundle);
  const scored = score(name, trained.bundle, replayed);
  if (verbose) printPopulation(trained, replayed, scored);
  return scored.result;
}

/** 1. The bundle, on benign traffic of seed 101 (what `vigil train` on a few days of one's own traffic does). */
async function trainPopulation(name: string, population: Partial<PopulationShape>) {
  const trainStarted = performance.now();
  const dir = mkdtempSync(join(tmpdir(), `vigil-quality-${name}-`));
  write(
    join(dir, 'train.jsonl'),
    generateBank({ seed: 101, customers: CUSTOMERS, start, geo, population }),
    start + TRAIN_DAYS * DAY,
  );
  const { read: trained, bundle } = await trainOnLog({
    adapter: adapterFor('kong', { pepper }),
    input: join(dir, 'train.jsonl'),
    boundMs: 2000,
    extractor: () => FeatureExtractor.standard(geo),
    maxRows: 1_000_000,
    seed: 0,
  });
  const trainSeconds = (performance.now() - trainStarted) / 1000;
  if (CONSTANTS) (bundle.manifest as { rule_thresholds?: unknown }).rule_thresholds = undefined;
  return { dir, bundle, events: trained.events, trainSeconds };
}

/**
 * 2. Another population (seed 202): days (two by default) that only warm the detector's state up (a detector in
 * production has weeks of history: who travels, who uses a VPN, who pays whom), then the evaluated days with attacks
 * woven in, replayed through the detector's path with the default policy.
 */
async function replayWithAttacks(dir: string, population: Partial<PopulationShape>, bundle: Bundle) {
  const evalFrom = start + WARMUP_DAYS * DAY;
  const labels: AttackLabel[] = [];
  const labelled = new Set<string>();
  const principalDays = new Set<string>();
  const traffic = withAttacks(
    generateBank({ seed: 202, customers: CUSTOMERS, start, geo, population }),
    { seed: 7, perFamily: PER_FAMILY, start: evalFrom + HOUR, spanMs: EVAL_DAYS * DAY - 3 * HOUR },
    (l) => {
      labels.push(l);
      labelled.add(l.request_id);
    },
  );
  const total = write(join(dir, 'test.jsonl'), traffic, evalFrom + EVAL_DAYS * DAY, (r) => {
    if (labelled.has(r.requestId) || r.ts < evalFrom) return;
    const key = principalKey({ principal: { sub: r.claims?.sub, username: r.loginUsername }, client_ip: r.clientIp });
    principalDays.add(principalDay(key, r.ts));
  });

  // The detector's stages on the in-memory bus, with fresh state (`vigil replay`'s path).
  const decisions: Decision[] = [];
  await runLog({
    adapter: adapterFor('kong', { pepper }),
    input: join(dir, 'test.jsonl'),
    boundMs: 2000,
    extractor: () => FeatureExtractor.standard(geo),
    decide: bundleDecisions({ bundle, geo, dryRun: true }),
    onDecisions: (active) => {
      for (const d of active) if (d.action !== 'allow' && d.ts >= evalFrom) decisions.push(d);
    },
  });

  return { dir, labels, labelled, principalDays, total, decisions };
}

type Replayed = Awaited<ReturnType<typeof replayWithAttacks>>;
type Bundle = Awaited<ReturnType<typeof trainOnLog>>['bundle'];

/** 4. The table. False positives per action: each benign principal-day counted once, at its strongest action. */
function score(name: string, bundle: Bundle, { dir, labels, labelled, principalDays, decisions }: Replayed) {
  const attackedDays = principalDaysUnderAttack(labels);
  const falsePositive = (d: Decision) =>
    !labelled.has(d.request_id) && !attackedDays.has(principalDay(decisionPrincipal(d), d.ts));
  const { topReasons, topRevoked } = falsePositiveReasons(dir, decisions.filter(falsePositive));
  const q = evaluateDetection(decisions, labels, principalDays);
  const perAction = strongestActions(decisions.filter(falsePositive));
  const per1000 = (n: number) => (n / Math.max(1, q.benignPrincipalDays)) * 1000;
  const result = {
    population: name,
    attacks: q.families.reduce((n, f) => n + f.attacks, 0),
    detected: q.families.reduce((n, f) => n + f.detected, 0),
    enforced: q.families.reduce((n, f) => n + f.enforced, 0),
    median_requests_to_detect: q.medianRequestsToDetect,
    families: Object.fromEntries(
      q.families.map((f) => [
        f.family,
        {
          detected: f.detected,
          enforced: f.enforced,
          revoked: f.revoked,
          attacks: f.attacks,
          median_requests: f.medianRequestsToDetect,
        },
      ]),
    ),
    benign_principal_days: q.benignPrincipalDays,
    fp_per_1000: {
      alert: per1000(perAction.alert ?? 0),
      step_up: per1000(perAction.step_up ?? 0),
      throttle: per1000(perAction.throttle ?? 0),
      revoke: per1000(perAction.revoke ?? 0),
    },
    rules: (bundle.manifest.rule_thresholds ?? []).flatMap((r) => [
      ...(r.source === 'fitted'
        ? [`${r.rule}${r.stratum ? `~${r.stratum}` : ''} ${Math.round(r.threshold * 100) / 100}`]
        : []),
      ...(r.cohorts ?? []).map(
        (c) => `${r.rule}${r.stratum ? `~${r.stratum}` : ''}@${c.cohort} ${Math.round(c.threshold * 100) / 100}`,
      ),
    ]),
  };
  return { result, q, topReasons, topRevoked };
}

/**
 * What the false alerts are about: the reasons that lead them (the SOC's first question, and the modeller's) — on
 * benign principal-days only (not on an attacked principal's own requests; see evaluateDetection) — and what the false
 * revocations are about (the costliest mistake); each benign decision is written to the population's folder.
 */
function falsePositiveReasons(dir: string, benign: readonly Decision[]) {
  const leading = new Map<string, number>();
  const revokedFor = new Map<string, number>();
  for (const d of benign) {
    const lead = d.reasons[0]?.feature ?? '(none)';
    leading.set(lead, (leading.get(lead) ?? 0) + 1);
    if (d.action === 'revoke') revokedFor.set(lead, (revokedFor.get(lead) ?? 0) + 1);
  }
  writeFileSync(join(dir, 'false-positives.jsonl'), `${benign.map((d) => JSON.stringify(d)).join('\n')}\n`);
  const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, 8);
  return { topReasons: top(leading), topRevoked: top(revokedFor) };
}

/** Benign principal-days by the strongest action taken on each: each counted once. */
function strongestActions(benign: readonly Decision[]): Record<string, number> {
  const STRENGTH: Record<string, number> = { alert: 1, throttle: 2, step_up: 3, revoke: 4 };
  const strongest = new Map<string, string>();
  for (const d of benign) {
    const key = principalDay(decisionPrincipal(d), d.ts);
    const was = strongest.get(key);
    if (was === undefined || (STRENGTH[d.action] ?? 0) > (STRENGTH[was] ?? 0)) strongest.set(key, d.action);
  }
  const perAction: Record<string, number> = { alert: 0, step_up: 0, throttle: 0, revoke: 0 };
  for (const a of strongest.values()) perAction[a] = (perAction[a] ?? 0) + 1;
  return perAction;
}

function printPopulation(
  trained: Awaited<ReturnType<typeof trainPopulation>>,
  replayed: Replayed,
  scored: ReturnType<typeof score>,
) {
  const { dir, events, trainSeconds } = trained;
  const { labels, total, decisions } = replayed;
  const { result, q, topReasons, topRevoked } = scored;
  const pct = (a: number, b: number) => (b === 0 ? '—' : `${a}/${b} (${((a / b) * 100).toFixed(0)} %)`);
  console.log(
    `${CUSTOMERS.toLocaleString('en')} customers; bundle trained on ${events.toLocaleString('en')} benign events of ` +
      `${TRAIN_DAYS} days (seed 101, ${trainSeconds.toFixed(0)} s); evaluated on ${EVAL_DAYS} day(s) after ` +
      `${WARMUP_DAYS} day(s) of warm-up, ${total.toLocaleString('en')} events in all (seed 202), with ` +
      `${labels.length.toLocaleString('en')} attack requests\n`,
  );
  console.log(
    '| attack family | detected | enforced (throttle or revoke) | revoked | attacker requests to detect (median) |',
  );
  console.log('| --- | --- | --- | --- | --- |');
  for (const f of q.families)
    console.log(
      `| ${f.family} | ${pct(f.detected, f.attacks)} | ${pct(f.enforced, f.attacks)} | ${pct(f.revoked, f.attacks)} ` +
        `| ${f.medianRequestsToDetect ?? '—'} |`,
    );
  console.log(`| every family | | | | ${q.medianRequestsToDetect ?? '—'} |`);
  console.log(
    `\nbenign principal-days: ${q.benignPrincipalDays.toLocaleString('en')}; false alerts: ` +
      `${q.falseAlertPrincipalDays} principal-days = ${q.falseAlertsPer1000.toFixed(2)} per 1,000 benign principals ` +
      `per day; false revocations: ${q.falseRevokePrincipalDays} = ${q.falseRevocationsPer1000.toFixed(2)} per ` +
      `1,000; attacked principal-days (not benign): ${q.attackedPrincipalDays}, the victim's own requests flagged on ` +
      `${q.flaggedAttackedPrincipalDays}`,
  );
  console.log(
    `leading reasons of the false positives (requests): ${topReasons.map(([f, n]) => `${f} ${n}`).join(', ')}`,
  );
  console.log(
    `leading reasons of the false revocations (requests): ${topRevoked.map(([f, n]) => `${f} ${n}`).join(', ')}`,
  );
  // The attacks no request of which was decided on, each with its labelled requests (their log lines are in
  // test.jsonl).
  const missed = new Set(q.families.flatMap((f) => f.missed));
  writeFileSync(
    join(dir, 'missed-attacks.jsonl'),
    `${labels
      .filter((l) => missed.has(l.attack_id))
      .map((l) => JSON.stringify(l))
      .join('\n')}\n`,
  );
  // And what was decided on the attacks' own requests, with the attack each belongs to (how each family was caught).
  const attackOf = new Map(labels.map((l) => [l.request_id, l]));
  writeFileSync(
    join(dir, 'attack-decisions.jsonl'),
    `${decisions
      .filter((d) => attackOf.has(d.request_id))
      .map((d) =>
        JSON.stringify({
          attack_id: attackOf.get(d.request_id)?.attack_id,
          family: attackOf.get(d.request_id)?.family,
          ...d,
        }),
      )
      .join('\n')}\n`,
  );
  console.log(
    `missed attacks: ${q.families.flatMap((f) => f.missed.map((id) => `${f.family} ${id}`)).join(', ') || 'none'}`,
  );
  console.log(
    `(every false positive: ${join(dir, 'false-positives.jsonl')}; the missed attacks' requests: ` +
      `${join(dir, 'missed-attacks.jsonl')}; the decisions on attack requests: ${join(dir, 'attack-decisions.jsonl')})`,
  );
  const f = result.fp_per_1000;
  console.log(
    `false positives per 1,000 benign principal-days by strongest action: alert ${f.alert.toFixed(2)}, step_up ` +
      `${f.step_up.toFixed(2)}, throttle ${f.throttle.toFixed(2)}, revoke ${f.revoke.toFixed(2)}; rule thresholds ` +
      `fitted above their constants: ${result.rules.join(', ') || 'none'}`,
  );
}

/** Populations of other shapes than the default bank's; no constant of vigil changes between them. */
const SHAPES: Record<string, Partial<PopulationShape>> = {
  bank: {},
  business_heavy: {
    businessShare: 0.2,
    payrollSize: [20, 150],
    payrollGapMs: [300, 1500],
    payrollEveryDays: 1,
    currency: 'EUR',
    amountScale: 1.2,
  },
  mobile_travel: { carrierUse: 0.95, carrierNetworks: 120, travelShare: 0.12, vpnShare: 0.1 },
  quiet_retail: { businessShare: 0, travelShare: 0.02, vpnShare: 0.01, currency: 'CHF', amountScale: 3 },
  busy_mixed: {
    businessShare: 0.1,
    payrollSize: [8, 100],
    payrollGapMs: [500, 2500],
    carrierUse: 0.85,
    currency: 'USD',
    amountScale: 0.5,
  },
  // Businesses on the retail app: the logs reveal no cohort, so only the principal's own history tells a payroll
  // account's burst from a script's.
  one_app: {
    businessShare: 0.1,
    payrollSize: [20, 120],
    payrollGapMs: [300, 1500],
    payrollEveryDays: 1,
    businessApp: false,
    currency: 'EUR',
  },
};

if (!POPULATIONS) {
  await evaluatePopulation('bank', {}, true);
} else {
  const results = [];
  // --only a,b: a subset of the shapes (the table is then partial; the goals are judged on all of them).
  const only = process.argv.includes('--only')
    ? (process.argv[process.argv.indexOf('--only') + 1] ?? '').split(',')
    : Object.keys(SHAPES);
  for (const [name, shape] of Object.entries(SHAPES).filter(([n]) => only.includes(n))) {
    console.error(`population ${name}: ${JSON.stringify({ ...DEFAULT_POPULATION, ...shape })}`);
    results.push(await evaluatePopulation(name, shape, process.argv.includes('--verbose')));
  }
  console.log(
    '| population | attacks detected | requests to detect (median) | enforced | alert | step-up | throttle | ' +
      'revoke | (false positives per 1,000 benign principal-days) | rule thresholds fitted above the constants |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    const f = r.fp_per_1000;
    console.log(
      `| ${r.population} | ${r.detected}/${r.attacks} | ${r.median_requests_to_detect ?? '—'} | ` +
        `${r.enforced}/${r.attacks} | ${f.alert.toFixed(2)} | ` +
        `${f.step_up.toFixed(2)} | ${f.throttle.toFixed(2)} | ${f.revoke.toFixed(2)} | | ` +
        `${r.rules.join(', ') || '—'} |`,
    );
  }
  console.log(JSON.stringify({ customers: CUSTOMERS, per_family: PER_FAMILY, populations: results }));
}
