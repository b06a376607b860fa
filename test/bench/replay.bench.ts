// Replay speed: `vigil replay`'s path (stream the file, parse, the 34 features in event time, score with a bundle,
// the policy, decision records written) over a simulated Kong log, against its peer in the same run: a plain
// line-by-line read + JSON.parse pass over the same file. The goal is a third of the peer's speed.
// The bundle is trained on another seed of the same simulator first. Run: npm run bench:replay [-- --events N]
import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { adapterFor } from '@vigil/adapters';
import { JsonlFileSink } from '@vigil/connectors';
import type { Decision } from '@vigil/events';
import { FeatureExtractor, MmdbGeoLookup } from '@vigil/features';
import { ReplayDecider } from '@vigil/scoring';
import { generateTraffic, renderRecord } from '@vigil/simulator';
import { logFeatures, trainOnLog } from '@vigil/train';

const arg = process.argv.indexOf('--events');
const N = arg > 0 ? Number(process.argv[arg + 1]) : 200_000;
const pepper = { version: 1, secret: 'bench-pepper-0123456789abcdef0123456789' };
const dir = mkdtempSync(join(tmpdir(), 'vigil-replay-bench-'));

function log(path: string, seed: number, n: number) {
  const traffic = generateTraffic({ seed, customers: 5000, start: Date.UTC(2026, 10, 2), meanGapMs: 20 });
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(JSON.stringify(renderRecord('kong', traffic.next().value as never, 'claims')));
  writeFileSync(path, `${lines.join('\n')}\n`);
}
log(join(dir, 'train.jsonl'), 1, 50_000);
log(join(dir, 'replay.jsonl'), 2, N);

const geo = MmdbGeoLookup.bundled();
const extractor = FeatureExtractor.standard(geo);
const { read, bundle } = await trainOnLog({
  adapter: adapterFor('kong', { pepper }),
  input: join(dir, 'train.jsonl'),
  boundMs: 2000,
  maxRows: 50_000,
  seed: 0,
});

// Peer: read the file line by line (node:readline) and JSON.parse each line.
let t0 = performance.now();
let parsed = 0;
for await (const line of createInterface({ input: createReadStream(join(dir, 'replay.jsonl')), crlfDelay: Number.POSITIVE_INFINITY }))
  if (JSON.parse(line)) parsed++;
const peer = (performance.now() - t0) / 1000;

// vigil replay's path.
t0 = performance.now();
const out = new JsonlFileSink<Decision>(join(dir, 'decisions.jsonl'));
let decided = 0;
const decider = ReplayDecider.forBundle({
  bundle,
  extractor,
  geo,
  dryRun: true,
  onDecisions: async (ds) => {
    const flagged = ds.filter((d) => d.active.action !== 'allow');
    decided += flagged.length;
    await out.write(flagged.map((d) => ({ value: d.active })));
  },
});
const r = await logFeatures({
  adapter: adapterFor('kong', { pepper }),
  input: join(dir, 'replay.jsonl'),
  boundMs: 2000,
  extractor,
  onRows: (rows) => decider.push(rows),
});
await decider.flush();
await out.close();
const ours = (performance.now() - t0) / 1000;
if (r.events !== N || parsed !== N) throw new Error(`${r.events} events replayed, ${parsed} parsed, of ${N}`);
console.log(`${N.toLocaleString('en')} Kong records (${decided} non-allow decisions), one core:`);
console.log(
  `  peer, read + JSON.parse per line   ${Math.round(N / peer)
    .toLocaleString('en')
    .padStart(9)} events/s`,
);
console.log(
  `  vigil replay path                  ${Math.round(N / ours)
    .toLocaleString('en')
    .padStart(9)} events/s   ×${(peer / ours).toFixed(3)} the peer`,
);
console.log(`  (the bundle was trained first on ${read.events.toLocaleString('en')} events of another seed)`);
