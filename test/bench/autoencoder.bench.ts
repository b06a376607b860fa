// Autoencoder scoring speed, one process: rows/s at micro-batches of 1, 64 and 1,024 on the backend vigil selects
// (tfjs-node when it loads, else wasm), against the pure-JS cpu backend as the peer in the same run; and training
// time (31 features, early stopping) on the backend in use.
// Run: npm run bench:autoencoder [-- --rows N]
import { Autoencoder, backendName, switchBackend, useBackend } from '@vigil/autoencoder';

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROWS = flag('--rows', 100_000);
const D = 31;

// Feature-like rows: a few latent factors mixed into 31 columns plus noise (seeded).
let s = 12345;
const rand = () => {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  return s / 2 ** 32 - 0.5;
};
const data = new Float64Array(ROWS * D);
for (let i = 0; i < ROWS; i++) {
  const f = [rand(), rand(), rand(), rand()];
  for (let j = 0; j < D; j++)
    data[i * D + j] = (f[j % 4] as number) * Math.cos(j) + (f[(j + 1) % 4] as number) * 0.5 + rand() * 0.1;
}
const matrix = { data, rows: ROWS, cols: D };

const selected = await useBackend();
const ae = new Autoencoder({ epochs: 30, batchSize: 256, learningRate: 0.003, seed: 1 });
const t0 = performance.now();
const report = await ae.fit(matrix);
const trainSeconds = (performance.now() - t0) / 1000;

function rate(batch: number): number {
  const rows = Math.min(ROWS, batch === 1 ? 5_000 : 50_000);
  const m = { data: data.subarray(0, rows * D), rows, cols: D };
  ae.score({ data: data.subarray(0, batch * D), rows: batch, cols: D }, batch);
  const start = performance.now();
  ae.score(m, batch);
  return rows / ((performance.now() - start) / 1000);
}
const measured: Record<string, number[]> = {};
measured[backendName()] = [1, 64, 1024].map(rate);
if (selected !== 'cpu') {
  await switchBackend('cpu');
  measured.cpu = [1, 64, 1024].map(rate);
}

console.log(`${ROWS.toLocaleString('en')} rows × ${D} features; backend selected: ${selected}`);
console.log(
  `training on ${selected}: ${trainSeconds.toFixed(1)} s, ` +
    `${report.epochs} epochs (best ${report.bestEpoch}), validation MSE ` +
    `${(report.validationLoss[report.bestEpoch - 1] ?? 0).toFixed(5)}`,
);
console.log('| backend | batch 1 | batch 64 | batch 1,024 |');
console.log('| --- | --- | --- | --- |');
for (const [name, r] of Object.entries(measured))
  console.log(`| ${name} | ${r.map((x) => `${Math.round(x).toLocaleString('en')} rows/s`).join(' | ')} |`);
if (measured.cpu && selected !== 'cpu') {
  const sel = measured[selected] as number[];
  console.log(
    `ratio ${selected} / cpu: ` +
      `${sel.map((x, i) => (x / (measured.cpu?.[i] as number)).toFixed(1)).join(', ')} (batch 1, 64, 1,024)`,
  );
}
