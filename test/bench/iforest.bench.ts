// Isolation-forest scoring speed on feature vectors of simulated traffic (31 features), one core: per event (one row
// at a time, as a detector scoring each request) and in batches of 1,024 rows. Peer, same run: the npm package
// ml-isolation-forest scoring the same rows (trained on a 4,096-row subsample; it grows each tree on all it is given).
// Also the training time of vigil's forest (100 trees, ψ = 256) on all the rows.
// Run: npm run bench:iforest [-- --events N]
import { createRequire } from 'node:module';
import { adapterFor } from '@vigil/adapters';
import type { AccessEvent } from '@vigil/events';
import { FeatureExtractor, FeatureStream, MmdbGeoLookup } from '@vigil/features';
import { IsolationForest } from '@vigil/isolation-forest';
import { generateTraffic, renderRecord } from '@vigil/simulator';

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = flag('--events', 100_000);

const adapter = adapterFor('canonical', { pepper: { version: 1, secret: 'bench-pepper-0123456789abcdef0123456789' } });
const traffic = generateTraffic({ seed: 5, customers: 5_000, start: Date.UTC(2026, 10, 2), meanGapMs: 20 });
const stream = new FeatureStream(FeatureExtractor.standard(MmdbGeoLookup.bundled()), 2000);
const vectors: Float64Array[] = [];
for (let i = 0; i < N; i++) {
  for (const o of adapter.parse(JSON.stringify(renderRecord('canonical', traffic.next().value as never, 'claims')))) {
    if (o.ok) for (const row of stream.push(o.event as AccessEvent)) vectors.push(row.vector);
  }
}
for (const row of stream.flush()) vectors.push(row.vector);
const d = vectors[0]?.length ?? 0;
const data = new Float64Array(vectors.length * d);
for (let i = 0; i < vectors.length; i++) data.set(vectors[i] as Float64Array, i * d);
const matrix = { data, rows: vectors.length, cols: d };

let t0 = performance.now();
const forest = new IsolationForest({ seed: 1 }).fit(matrix);
const trainSeconds = (performance.now() - t0) / 1000;

t0 = performance.now();
let checksum = 0;
for (const v of vectors) checksum += forest.scoreOne(v);
const perEventSeconds = (performance.now() - t0) / 1000;

t0 = performance.now();
for (let i = 0; i < matrix.rows; i += 1024) {
  const rows = Math.min(1024, matrix.rows - i);
  const scores = forest.score({ data: data.subarray(i * d, (i + rows) * d), rows, cols: d });
  checksum -= scores.reduce((a, b) => a + b, 0);
}
const batchSeconds = (performance.now() - t0) / 1000;

const require = createRequire(import.meta.url);
const { IsolationForest: MlIsolationForest } = require('ml-isolation-forest') as {
  IsolationForest: new (o?: {
    nEstimators?: number;
  }) => { train(x: number[][]): void; predict(x: number[][]): number[] };
};
const asArrays = vectors.map((v) => Array.from(v));
const ml = new MlIsolationForest({ nEstimators: 100 });
ml.train(asArrays.filter((_, i) => i % Math.max(1, Math.floor(asArrays.length / 4096)) === 0).slice(0, 4096));
t0 = performance.now();
const mlScores = ml.predict(asArrays);
const mlSeconds = (performance.now() - t0) / 1000;

const rate = (s: number) => Math.round(vectors.length / s).toLocaleString('en');
console.log(
  `${vectors.length.toLocaleString('en')} feature vectors × ${d} features; ` +
    `|checksum| ${Math.abs(checksum).toExponential(2)}, ml checksum ${mlScores.length}`,
);
console.log(`train vigil forest (100 trees, ψ = 256) on all rows: ${trainSeconds.toFixed(2)} s`);
console.log(`peer: ml-isolation-forest predict, all rows at once      ${rate(mlSeconds)} scores/s`);
console.log(
  `vigil, per event (scoreOne)                               ${rate(perEventSeconds)} scores/s  ` +
    `(ratio ${(mlSeconds / perEventSeconds).toFixed(1)})`,
);
console.log(
  `vigil, batches of 1,024                                   ${rate(batchSeconds)} scores/s  ` +
    `(ratio ${(mlSeconds / batchSeconds).toFixed(1)})`,
);
