// Detection quality on simulator seeds the bundle never trained on: a bundle trained on benign traffic of one seed
// (as `vigil train` would), then benign traffic of another seed with labelled attacks woven in, replayed through the
// detector's path (`vigil replay`'s: features, bundle, default policy), scored per attack family. Prints the table
// the README carries. Run: npm run bench:quality [-- --events N --per-family N]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adapterFor } from '@vigil/adapters';
import { type Decision, principalKey } from '@vigil/events';
import { FeatureExtractor, MmdbGeoLookup } from '@vigil/features';
import { ReplayDecider } from '@vigil/scoring';
import {
  type AttackLabel,
  decisionPrincipal,
  evaluateDetection,
  generateBank,
  principalDay,
  principalDaysUnderAttack,
  renderRecord,
  type SimRequest,
  withAttacks,
} from '@vigil/simulator';
import { logFeatures, trainOnLog } from '@vigil/train';

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CUSTOMERS = flag('--customers', 5000);
const TRAIN_DAYS = flag('--train-days', 2);
const EVAL_DAYS = flag('--days', 1);
const PER_FAMILY = flag('--per-family', 10);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const pepper = { version: 1, secret: 'quality-pepper-0123456789abcdef0123456789' };
const dir = mkdtempSync(join(tmpdir(), 'vigil-quality-'));
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

// 1. The bundle, on benign traffic of seed 101 (what `vigil train` on a few days of one's own traffic does).
const trainStarted = performance.now();
write(join(dir, 'train.jsonl'), generateBank({ seed: 101, customers: CUSTOMERS, start, geo }), start + TRAIN_DAYS * DAY);
const extractor = FeatureExtractor.standard(geo);
const { read: trained, bundle } = await trainOnLog({
  adapter: adapterFor('kong', { pepper }),
  input: join(dir, 'train.jsonl'),
  boundMs: 2000,
  extractor,
  maxRows: 1_000_000,
  seed: 0,
});
const trainSeconds = (performance.now() - trainStarted) / 1000;

// 2. Another population (seed 202): a first day that only warms the detector's state up (a detector in production
// has weeks of history: who travels, who uses a VPN, who pays whom), then the evaluated days with attacks woven in.
const evalFrom = start + DAY;
const labels: AttackLabel[] = [];
const labelled = new Set<string>();
const principalDays = new Set<string>();
const traffic = withAttacks(
  generateBank({ seed: 202, customers: CUSTOMERS, start, geo }),
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

// 3. Replay through the detector's path with the default policy. A fresh extractor: the one that fed training holds
// the training log's state (its principals, at its event times).
const live = FeatureExtractor.standard(geo);
const decisions: Decision[] = [];
const decider = ReplayDecider.forBundle({
  bundle,
  extractor: live,
  geo,
  dryRun: true,
  onDecisions: (ds) => {
    for (const d of ds) if (d.active.action !== 'allow' && d.active.ts >= evalFrom) decisions.push(d.active);
  },
});
await logFeatures({
  adapter: adapterFor('kong', { pepper }),
  input: join(dir, 'test.jsonl'),
  boundMs: 2000,
  extractor: live,
  onRows: (rows) => decider.push(rows),
});
await decider.flush();

// What the false alerts are about: the reasons that lead them (the SOC's first question, and the modeller's) — on
// benign principal-days only (not on an attacked principal's own requests; see evaluateDetection).
const attackedDays = principalDaysUnderAttack(labels);
const falsePositive = (d: Decision) => !labelled.has(d.request_id) && !attackedDays.has(principalDay(decisionPrincipal(d), d.ts));
const leading = new Map<string, number>();
for (const d of decisions) if (falsePositive(d)) leading.set(d.reasons[0]?.feature ?? '(none)', (leading.get(d.reasons[0]?.feature ?? '(none)') ?? 0) + 1);
const topReasons = [...leading].sort((a, b) => b[1] - a[1]).slice(0, 8);
// And what the false revocations are about (the costliest mistake), each benign decision written for a closer look.
const revokedFor = new Map<string, number>();
const benignOut: string[] = [];
for (const d of decisions) {
  if (!falsePositive(d)) continue;
  benignOut.push(JSON.stringify(d));
  const lead = d.reasons[0]?.feature ?? '(none)';
  if (d.action === 'revoke') revokedFor.set(lead, (revokedFor.get(lead) ?? 0) + 1);
}
writeFileSync(join(dir, 'false-positives.jsonl'), `${benignOut.join('\n')}\n`);
const topRevoked = [...revokedFor].sort((a, b) => b[1] - a[1]).slice(0, 8);

// 4. The table.
const q = evaluateDetection(decisions, labels, principalDays);
const pct = (a: number, b: number) => (b === 0 ? '—' : `${a}/${b} (${((a / b) * 100).toFixed(0)} %)`);
console.log(
  `${CUSTOMERS.toLocaleString('en')} customers; bundle trained on ${trained.events.toLocaleString('en')} benign events of ${TRAIN_DAYS} days (seed 101, ${trainSeconds.toFixed(0)} s); evaluated on ${EVAL_DAYS} day(s) after a day of warm-up, ${total.toLocaleString('en')} events in all (seed 202), with ${labels.length.toLocaleString('en')} attack requests\n`,
);
console.log('| attack family | detected | revoked | attacker requests to detect (median) |');
console.log('| --- | --- | --- | --- |');
for (const f of q.families) console.log(`| ${f.family} | ${pct(f.detected, f.attacks)} | ${pct(f.revoked, f.attacks)} | ${f.medianRequestsToDetect ?? '—'} |`);
console.log(
  `\nbenign principal-days: ${q.benignPrincipalDays.toLocaleString('en')}; false alerts: ${q.falseAlertPrincipalDays} principal-days = ${q.falseAlertsPer1000.toFixed(2)} per 1,000 benign principals per day; false revocations: ${q.falseRevokePrincipalDays} = ${q.falseRevocationsPer1000.toFixed(2)} per 1,000; attacked principal-days (not benign): ${q.attackedPrincipalDays}, the victim's own requests flagged on ${q.flaggedAttackedPrincipalDays}`,
);
console.log(`leading reasons of the false positives (requests): ${topReasons.map(([f, n]) => `${f} ${n}`).join(', ')}`);
console.log(`leading reasons of the false revocations (requests): ${topRevoked.map(([f, n]) => `${f} ${n}`).join(', ')}`);
// The attacks no request of which was decided on, each with its labelled requests (their log lines are in test.jsonl).
const missed = new Set(q.families.flatMap((f) => f.missed));
writeFileSync(
  join(dir, 'missed-attacks.jsonl'),
  `${labels
    .filter((l) => missed.has(l.attack_id))
    .map((l) => JSON.stringify(l))
    .join('\n')}\n`,
);
console.log(`missed attacks: ${q.families.flatMap((f) => f.missed.map((id) => `${f.family} ${id}`)).join(', ') || 'none'}`);
console.log(`(every false positive: ${join(dir, 'false-positives.jsonl')}; the missed attacks' requests: ${join(dir, 'missed-attacks.jsonl')})`);
