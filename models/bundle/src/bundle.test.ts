// A bundle trained on synthetic normal rows: thresholds meet their per-principal-day targets on held-out traffic,
// anomalies get the strongest actions with reasons naming the feature that moved, save → load gives identical
// scores, and a bundle of another feature schema is refused with a clear message.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { combine, ModelBundle } from './bundle.js';
import { trainBundle } from './train.js';

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];

function normalRows(seed: number, principals: number, perPrincipal: number) {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const rows = principals * perPrincipal;
  const data = new Float64Array(rows * NAMES.length);
  const groups: string[] = [];
  const holdout = new Uint8Array(rows);
  for (let p = 0; p < principals; p++) {
    for (let k = 0; k < perPrincipal; k++) {
      const i = p * perPrincipal + k;
      const z = gauss();
      const w = gauss();
      // Correlated features: the autoencoder can learn the structure, the forest the ranges.
      const row = [z, z + 0.1 * gauss(), w, w - z + 0.1 * gauss(), Math.abs(gauss()), 0.1 * gauss()];
      data.set(row, i * NAMES.length);
      groups.push(`p${p}|day${k % 3}`);
      holdout[i] = p % 5 === 0 ? 1 : 0;
    }
  }
  return {
    data,
    rows,
    cols: NAMES.length,
    groups,
    holdout,
    fromTs: 0,
    toTs: 1,
    features: { names: NAMES, hash: 'sha256:test', schema: {} },
  };
}

describe('model bundle', () => {
  it(
    'trains, meets its per-principal-day targets on ' + 'held-out traffic, acts on anomalies and explains them',
    async () => {
      const set = normalRows(1, 2500, 12);
      const { bundle, summary } = await trainBundle(set, {
        autoencoder: { epochs: 15, batchSize: 128, learningRate: 0.005 },
      });
      expect(summary.holdoutPrincipalDays).toBe(1500);
      for (const a of ['alert', 'step_up', 'revoke'] as const) {
        const t = summary.thresholds[a];
        expect(t.validation_principal_day_fpr).toBeLessThanOrEqual(t.target_principal_day_fpr);
        expect(t.validation_event_fpr).toBeLessThanOrEqual(t.validation_principal_day_fpr);
      }
      expect(summary.thresholds.revoke.score).toBeGreaterThanOrEqual(summary.thresholds.alert.score);

      // Fresh normal traffic rarely alerts; a row far off in one feature is revoked; a row breaking the learned
      // correlation (each value ordinary on its own) outscores 99 % of normal rows, and the reason names a feature
      // that broke it.
      const fresh = normalRows(2, 300, 10);
      const scoredFresh = bundle.score(fresh);
      const alerts = Array.from(scoredFresh.score).filter((s) => bundle.action(s) !== 'allow').length;
      expect(alerts / fresh.rows).toBeLessThan(0.01);
      const far = Float64Array.from([0, 0, 0, 0, 0.5, 9]);
      const broken = Float64Array.from([2.5, -2.5, 0, 0, 0.5, 0]);
      const scored = bundle.score({ data: Float64Array.from([...far, ...broken]), rows: 2, cols: 6 });
      expect(bundle.action(scored.score[0] as number)).toBe('revoke');
      const normalSorted = Array.from(scoredFresh.score).sort((x, y) => x - y);
      expect(scored.score[1]).toBeGreaterThan(normalSorted[Math.floor(0.99 * normalSorted.length)] as number);
      const reasons = bundle.explain(far, {
        iforestExceedance: scored.iforestExceedance[0] as number,
        autoencoderExceedance: scored.autoencoderExceedance[0] as number,
      });
      expect(reasons[0]?.feature).toBe('f');
      expect(reasons[0]?.value).toBe(9);
      expect(Math.abs(reasons[0]?.baseline ?? 99)).toBeLessThan(0.1);
      const why = bundle.explain(broken, {
        iforestExceedance: scored.iforestExceedance[1] as number,
        autoencoderExceedance: scored.autoencoderExceedance[1] as number,
      });
      expect(['a', 'b', 'd']).toContain(why[0]?.feature);
      // What is off its baseline leads, even when the autoencoder's error is larger on an ordinary value.
      const ordinaryButOneOff = Float64Array.from(bundle.scaler.center);
      ordinaryButOneOff[5] = 9;
      const ranked = bundle.explain(
        ordinaryButOneOff,
        {
          // The autoencoder the more surprised (the smaller exceedance), so its errors explain.
          iforestExceedance: 0.5,
          autoencoderExceedance: 0.001,
          autoencoderErrors: Float64Array.from([0.9, 0, 0, 0, 0, 0.1]),
        },
        2,
      );
      expect(ranked.map((r) => [r.feature, r.contribution])).toEqual([
        ['f', 0.1],
        ['a', 0.9],
      ]);

      // Save → load: identical scores; another feature schema is refused.
      const dir = await mkdtemp(join(tmpdir(), 'vigil-bundle-'));
      await bundle.save(dir);
      const back = await ModelBundle.load(dir, 'sha256:test');
      expect(Array.from(back.score(fresh).score)).toEqual(Array.from(scoredFresh.score));
      await expect(ModelBundle.load(dir, 'sha256:other')).rejects.toThrow(
        /trained on feature schema sha256:test, but this vigil computes sha256:other/,
      );
      await expect(ModelBundle.load(join(dir, 'missing'))).rejects.toThrow(/cannot read .*manifest.json/);
      // Policy overrides replace a default threshold.
      expect(bundle.action(scored.score[0] as number, { revoke: 1 })).toBe('step_up');
    },
  );

  it('combines exceedances by the documented rule', () => {
    expect(combine(0.5, 0.5)).toBe(0);
    expect(combine(0.001, 0.4)).toBeCloseTo(0.998);
    expect(combine(1, 1e-9)).toBeCloseTo(1 - 2e-9, 12);
  });
});
