// Replay speed: `vigil replay`'s path (stream the file; the detector's ingest and feature stages on the in-memory
// bus, the bundle and the policy fused into the principal task; decision records written) over a simulated Kong log,
// against its peer in the same run: a plain line-by-line read + JSON.parse pass over the same file. The goal is a third of the peer's speed.
// The bundle is trained on another seed of the same simulator first.
// Run: npm run bench:replay [-- --events N] [--rounds R]
import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { adapterFor } from '@vigil/adapters';
import { JsonlFileSink } from '@vigil/connectors';
import type { Decision } from '@vigil/events';
import { FeatureExtractor, MmdbGeoLookup } from '@vigil/features';
import { bundleDecisions } from '@vigil/scoring';
import { generateTraffic, renderRecord } from '@vigil/simulator';
import { runLog, trainOnLog } from '@vigil/train';

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
const { read, bundle } = await trainOnLog({
  adapter: adapterFor('kong', { pepper }),
  input: join(dir, 'train.jsonl'),
  boundMs: 2000,
  maxRows: 50_000,
  seed: 0,
});

// vigil replay's path, on this thread.
async function replay(): Promise<{ seconds: number; decided: number }> {
  const t0 = performance.now();
  const out = new JsonlFileSink<Decision>(join(dir, 'decisions.jsonl'));
  let decided = 0;
  const r = await runLog({
    adapter: adapterFor('kong', { pepper }),
    input: join(dir, 'replay.jsonl'),
    boundMs: 2000,
    extractor: () => FeatureExtractor.standard(geo),
    decide: bundleDecisions({ bundle, geo, dryRun: true }),
    onDecisions: async (active) => {
      const flagged = active.filter((d) => d.action !== 'allow');
      decided += flagged.length;
      await out.write(flagged.map((d) => ({ value: d })));
    },
  });
  await out.close();
  const seconds = (performance.now() - t0) / 1000;
  if (r.events !== N) throw new Error(`${r.events} events replayed of ${N}`);
  return { seconds, decided };
}

// Peer: read the file line by line (node:readline) and JSON.parse each line.
async function peerPass(): Promise<number> {
  const t0 = performance.now();
  let parsed = 0;
  for await (const line of createInterface({
    input: createReadStream(join(dir, 'replay.jsonl')),
    crlfDelay: Number.POSITIVE_INFINITY,
  }))
    if (JSON.parse(line)) parsed++;
  if (parsed !== N) throw new Error(`${parsed} lines parsed of ${N}`);
  return (performance.now() - t0) / 1000;
}

// Rounds alternate the peer and replay, so that a slow spell of a shared machine hits both alike; medians reported.
const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 1;
const peers: number[] = [];
const ours: number[] = [];
let decided = 0;
for (let round = 0; round < rounds; round++) {
  peers.push(await peerPass());
  const run = await replay();
  ours.push(run.seconds);
  decided = run.decided;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const rate = (s: number) =>
  Math.round(N / s)
    .toLocaleString('en')
    .padStart(9);
const peer = median(peers);
const vigil = median(ours);
console.log(
  `${N.toLocaleString('en')} Kong records (${decided} non-allow decisions), one core, median of ${rounds} round(s):`,
);
console.log(`  peer, read + JSON.parse per line   ${rate(peer)} events/s`);
console.log(`  vigil replay path                  ${rate(vigil)} events/s   ×${(peer / vigil).toFixed(3)} the peer`);
console.log(`  (the bundle was trained first on ${read.events.toLocaleString('en')} events of another seed)`);
