// Detection quality on simulator seeds the bundle never trained on: a bundle trained on benign traffic of one seed
// (as `vigil train` would), then benign traffic of another seed with labelled attacks woven in, replayed through the
// detector's path (`vigil replay`'s: features, bundle, default policy), scored per attack family. Prints the table
// the README carries. Run: npm run bench:quality [-- --events N --per-family N]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adapterFor } from '@vigil/adapters';
import type { Decision } from '@vigil/events';
import { FeatureExtractor, MmdbGeoLookup } from '@vigil/features';
import { ReplayDecider } from '@vigil/scoring';
import { type AttackLabel, evaluateDetection, generateTraffic, renderRecord, type SimRequest, withAttacks } from '@vigil/simulator';
import { logFeatures, trainOnLog } from '@vigil/train';

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = flag('--events', 200_000);
const PER_FAMILY = flag('--per-family', 10);
const CUSTOMERS = 2000;
const GAP = 50;
const pepper = { version: 1, secret: 'quality-pepper-0123456789abcdef0123456789' };
const dir = mkdtempSync(join(tmpdir(), 'vigil-quality-'));
const start = Date.UTC(2026, 10, 2, 8, 0, 0);

function write(path: string, requests: Iterable<SimRequest>, n: number, onRequest?: (r: SimRequest) => void) {
  const lines: string[] = [];
  for (const r of requests) {
    onRequest?.(r);
    lines.push(JSON.stringify(renderRecord('kong', r, 'claims')));
    if (lines.length >= n) break;
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return lines.length;
}

// 1. The bundle, on benign traffic of seed 101.
write(join(dir, 'train.jsonl'), generateTraffic({ seed: 101, customers: CUSTOMERS, start, meanGapMs: GAP }), N);
const geo = MmdbGeoLookup.bundled();
const extractor = FeatureExtractor.standard(geo);
const { read: trained, bundle } = await trainOnLog({
  adapter: adapterFor('kong', { pepper }),
  input: join(dir, 'train.jsonl'),
  boundMs: 2000,
  extractor,
  maxRows: 1_000_000,
  seed: 0,
});

// 2. Benign traffic of seed 202 with attacks woven in over its first two hours.
const labels: AttackLabel[] = [];
const labelled = new Set<string>();
const principalDays = new Set<string>();
const traffic = withAttacks(
  generateTraffic({ seed: 202, customers: CUSTOMERS, start, meanGapMs: GAP }),
  { seed: 7, perFamily: PER_FAMILY, start: start + 10 * 60_000, spanMs: Math.max(60_000, N * GAP - 70 * 60_000) },
  (l) => {
    labels.push(l);
    labelled.add(l.request_id);
  },
);
const total = write(join(dir, 'test.jsonl'), traffic, N + 50_000, (r) => {
  if (labelled.has(r.requestId)) return;
  const key = r.claims ? `sub:${r.claims.sub}` : r.loginUsername ? `user:${r.loginUsername}` : `ip:${r.clientIp}`;
  principalDays.add(`${key}|${Math.floor(r.ts / 86_400_000)}`);
});

// 3. Replay through the detector's path with the default policy.
const decisions: Decision[] = [];
const decider = ReplayDecider.forBundle({
  bundle,
  extractor,
  geo,
  dryRun: true,
  onDecisions: (ds) => {
    for (const d of ds) if (d.active.action !== 'allow') decisions.push(d.active);
  },
});
await logFeatures({ adapter: adapterFor('kong', { pepper }), input: join(dir, 'test.jsonl'), boundMs: 2000, extractor, onRows: (rows) => decider.push(rows) });
await decider.flush();

// What the false alerts are about: the reasons that lead them (the SOC's first question, and the modeller's).
const leading = new Map<string, number>();
for (const d of decisions)
  if (!labelled.has(d.request_id)) leading.set(d.reasons[0]?.feature ?? '(none)', (leading.get(d.reasons[0]?.feature ?? '(none)') ?? 0) + 1);
const topReasons = [...leading].sort((a, b) => b[1] - a[1]).slice(0, 5);

// 4. The table.
const q = evaluateDetection(decisions, labels, principalDays.size);
const pct = (a: number, b: number) => (b === 0 ? '—' : `${a}/${b} (${((a / b) * 100).toFixed(0)} %)`);
console.log(
  `bundle trained on ${trained.events.toLocaleString('en')} benign events (seed 101); evaluated on ${total.toLocaleString('en')} events (seed 202) with ${labels.length.toLocaleString('en')} attack requests\n`,
);
console.log('| attack family | detected | revoked | attacker requests to detect (median) |');
console.log('| --- | --- | --- | --- |');
for (const f of q.families) console.log(`| ${f.family} | ${pct(f.detected, f.attacks)} | ${pct(f.revoked, f.attacks)} | ${f.medianRequestsToDetect ?? '—'} |`);
console.log(
  `\nbenign principal-days: ${q.benignPrincipalDays.toLocaleString('en')}; false alerts: ${q.falseAlertPrincipalDays} principal-days = ${q.falseAlertsPer1000.toFixed(2)} per 1,000 benign principals per day; false revocations: ${q.falseRevokePrincipalDays} = ${q.falseRevocationsPer1000.toFixed(2)} per 1,000`,
);
console.log(`leading reasons of the benign decisions: ${topReasons.map(([f, n]) => `${f} ${n}`).join(', ')}`);
