// The autoencoder's conformance: scores anomalies above normal rows; same seed → same model; save → load gives
// identical scores; input not mutated; scoring before fitting and non-finite training data are clear errors; NaN
// features follow the documented rule; micro-batching does not change scores or their order; the cpu and wasm
// backends agree within a stated tolerance.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Autoencoder, type Matrix } from './autoencoder.js';
import { backendName, switchBackend, useBackend } from './backend.js';

/** Rows on a 2-dimensional plane inside 8 dimensions (what an autoencoder can learn), plus off-plane anomalies. */
function data(seed: number, n: number, anomalies = 0): Matrix {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const d = 8;
  const out = new Float64Array((n + anomalies) * d);
  for (let i = 0; i < n + anomalies; i++) {
    const a = rand() * 2;
    const b = rand() * 2;
    for (let j = 0; j < d; j++) out[i * d + j] = i < n ? a * Math.cos(j) + b * Math.sin(j) + rand() * 0.05 : rand() * 4;
  }
  return { data: out, rows: n + anomalies, cols: d };
}

const quick = { epochs: 40, batchSize: 64, learningRate: 0.01, patience: 5, seed: 3 };

describe('Autoencoder', () => {
  it('runs on a reported backend: wasm here (tfjs-node cannot install on this machine), else cpu', async () => {
    const name = await useBackend();
    expect(['tensorflow', 'wasm', 'cpu']).toContain(name);
    expect(backendName()).toBe(name);
  });

  it('learns normal rows and scores anomalies higher, with early stopping on the validation loss', async () => {
    const train = data(1, 2000);
    const ae = new Autoencoder(quick);
    const report = await ae.fit(train);
    expect(report.epochs).toBeGreaterThan(3);
    expect(report.bestEpoch).toBeLessThanOrEqual(report.epochs);
    expect(report.validationLoss[report.bestEpoch - 1]).toBe(Math.min(...report.validationLoss));
    const test = data(2, 300, 30);
    const scores = ae.score(test);
    const normal = Array.from(scores.subarray(0, 300)).sort((a, b) => a - b);
    const anomalous = Array.from(scores.subarray(300));
    expect(Math.min(...anomalous)).toBeGreaterThan(normal[Math.floor(0.95 * normal.length)] as number);
    ae.dispose();
  });

  it('is deterministic per seed, saves and loads with identical scores, and does not modify its input', async () => {
    const train = data(4, 800);
    const copy = Float64Array.from(train.data);
    const a = new Autoencoder({ ...quick, epochs: 8 });
    const b = new Autoencoder({ ...quick, epochs: 8 });
    await a.fit(train);
    await b.fit(train);
    expect(train.data).toEqual(copy);
    const test = data(5, 200, 10);
    expect(Array.from(b.score(test))).toEqual(Array.from(a.score(test)));
    const dir = await mkdtemp(join(tmpdir(), 'vigil-ae-'));
    await a.save(dir);
    const back = await Autoencoder.load(dir);
    expect(Array.from(back.score(test))).toEqual(Array.from(a.score(test)));
    // Micro-batches of any size give the same scores in the same order.
    expect(Array.from(a.score(test, 7))).toEqual(Array.from(a.score(test, 1024)));
    for (const m of [a, b, back]) m.dispose();
  });

  it(
    'refuses to score before fitting, non-finite training ' + 'data and rows of another width; NaN scores as 0',
    async () => {
      expect(() => new Autoencoder().score(data(1, 5))).toThrow(/not fitted/);
      const bad = data(1, 20);
      bad.data[3] = Number.NaN;
      await expect(new Autoencoder(quick).fit(bad)).rejects.toThrow(/must be finite/);
      const ae = new Autoencoder({ ...quick, epochs: 2 });
      await ae.fit(data(1, 200));
      expect(() => ae.score({ data: new Float64Array(4), rows: 1, cols: 4 })).toThrow(/trained on 8/);
      const row = data(9, 1);
      const withNaN = { ...row, data: Float64Array.from(row.data) };
      withNaN.data[2] = Number.NaN;
      const zeroed = { ...row, data: Float64Array.from(row.data) };
      zeroed.data[2] = 0;
      expect(ae.score(withNaN)[0]).toBe(ae.score(zeroed)[0]);
      await expect(Autoencoder.load('/nonexistent-vigil-dir')).rejects.toThrow(/cannot read/);
      ae.dispose();
    },
  );

  it('gives the same scores on the cpu and wasm backends within 1e-5 relative', async () => {
    const train = data(6, 600);
    const test = data(7, 100, 5);
    const dir = await mkdtemp(join(tmpdir(), 'vigil-ae-'));
    expect(await switchBackend('cpu')).toBe(true);
    const ae = new Autoencoder({ ...quick, epochs: 5 });
    await ae.fit(train);
    await ae.save(dir);
    const onCpu = ae.score(test);
    ae.dispose();
    expect(await switchBackend('wasm')).toBe(true);
    const onWasm = (await Autoencoder.load(dir)).score(test);
    for (let i = 0; i < onCpu.length; i++)
      expect(Math.abs((onWasm[i] as number) - (onCpu[i] as number))).toBeLessThanOrEqual(
        1e-5 * Math.max(1, onCpu[i] as number),
      );
  });
});
