import { describe, expect, it } from 'vitest';
import { RobustScaler } from './robust-scaler.js';
import { groupThreshold, ScoreCalibrator } from './score-calibrator.js';

function uniform(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
}

describe('RobustScaler', () => {
  it('centres on the median and divides by the IQR, falling back to the MAD and then 1', () => {
    // Column 0: 1..100; column 1: mostly 0 with a few 5s (IQR 0); column 2: constant.
    const rows = 100;
    const data = new Float64Array(rows * 3);
    for (let i = 0; i < rows; i++) {
      data[i * 3] = i + 1;
      data[i * 3 + 1] = i < 90 ? 0 : 5;
      data[i * 3 + 2] = 7;
    }
    const s = RobustScaler.fit(data, rows, 3);
    expect(s.center[0]).toBeCloseTo(50.5);
    expect(s.scale[0]).toBeCloseTo(49.5);
    expect(s.center[1]).toBe(0);
    expect(s.scale[1]).toBeCloseTo(1.4826 * 0.5);
    expect(s.scale[2]).toBe(1);
    const t = s.transform([50.5, Number.NaN, 7], 1, 3);
    expect(t[0]).toBe(0);
    expect(t[1]).toBeNaN();
    expect(t[2]).toBe(0);
    expect(RobustScaler.fromJSON(JSON.parse(JSON.stringify(s))).transform(data, rows, 3)).toEqual(
      s.transform(data, rows, 3),
    );
    expect(() => s.transform([1, 2], 1, 2)).toThrow(/fit on 3/);
  });
});

describe('ScoreCalibrator', () => {
  const rand = uniform(42);
  // Exponential scores (ξ = 0) with scale 2.
  const exp = Float64Array.from({ length: 20_000 }, () => -2 * Math.log(rand()));

  it('maps the held-out distribution to [0, 1] monotonically, uniform on normal data', () => {
    const c = ScoreCalibrator.fit(exp);
    let previous = -1;
    for (let x = 0; x < 30; x += 0.25) {
      const v = c.calibrate(x);
      expect(v).toBeGreaterThanOrEqual(previous);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
      previous = v;
    }
    // On fresh normal scores, 1 % exceed the 0.99 calibrated level.
    const fresh = Array.from({ length: 20_000 }, () => -2 * Math.log(rand()));
    const flagged = fresh.filter((x) => c.calibrate(x) > 0.99).length / fresh.length;
    expect(flagged).toBeGreaterThan(0.008);
    expect(flagged).toBeLessThan(0.012);
  });

  it(
    'fits the far tail with a generalised Pareto: ' +
      'exponential data give ξ ≈ 0 and the true tail far beyond the data',
    () => {
      const c = ScoreCalibrator.fit(exp);
      expect(c.tail.xi).toBeGreaterThanOrEqual(0);
      expect(c.tail.xi).toBeLessThan(0.2);
      // P(S > 30) = e^(−15) ≈ 3e-7, far below 1/20,000: only the tail model can say it.
      const p = c.exceedance(30);
      expect(p).toBeGreaterThan(1e-7);
      expect(p).toBeLessThan(3e-6);
      // Heavy-tailed (Pareto, ξ = 0.5) scores give a positive shape.
      const pareto = Float64Array.from({ length: 20_000 }, () => rand() ** -0.5);
      expect(ScoreCalibrator.fit(pareto).tail.xi).toBeGreaterThan(0.3);
    },
  );

  it('inverts: the raw threshold for a rate has that exceedance, in the table and in the tail', () => {
    const c = ScoreCalibrator.fit(exp);
    for (const rate of [0.2, 0.05, 0.01, 1e-4, 1e-6])
      expect(c.exceedance(c.rawThreshold(rate)) / rate).toBeCloseTo(1, 3);
    expect(() => c.rawThreshold(0)).toThrow(/in \(0, 1\)/);
  });

  it('round-trips through JSON and refuses too little data', () => {
    const c = ScoreCalibrator.fit(exp);
    const back = ScoreCalibrator.fromJSON(JSON.parse(JSON.stringify(c)));
    for (const x of [0, 1, 5, 12, 40]) expect(back.calibrate(x)).toBe(c.calibrate(x));
    expect(() => ScoreCalibrator.fit([1, 2, 3])).toThrow(/at least 100/);
    expect(() => ScoreCalibrator.fromJSON({ kind: 'other' })).toThrow();
  });
});

describe('groupThreshold', () => {
  it('sets the threshold so that the target share of groups (principal-days) exceed it', () => {
    const rand = uniform(7);
    const scores: number[] = [];
    const groups: string[] = [];
    for (let g = 0; g < 2000; g++) {
      for (let i = 0; i < 20; i++) {
        scores.push(rand());
        groups.push(`p${g}`);
      }
    }
    const t = groupThreshold(scores, groups, 0.01);
    const max = new Map<string, number>();
    for (let i = 0; i < scores.length; i++)
      max.set(groups[i] as string, Math.max(max.get(groups[i] as string) ?? 0, scores[i] as number));
    const over = [...max.values()].filter((m) => m > t).length;
    expect(over).toBeLessThanOrEqual(20);
    expect(over).toBeGreaterThanOrEqual(18);
    // Per event the same threshold flags far fewer than 1 %: a day has 20 chances.
    expect(scores.filter((s) => s > t).length / scores.length).toBeLessThan(0.001);
  });
});
