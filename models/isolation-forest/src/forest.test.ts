// The forest against the paper's definitions and the conformance rules every vigil model follows: input not mutated;
// save → load gives identical scores; same seed → same model; scoring before fitting is a clear error; NaN features
// follow the documented rule.
import { describe, expect, it } from 'vitest';
import { averagePathLength } from './average-path.js';
import { IsolationForest } from './forest.js';
import { rocAuc } from './roc-auc.js';

/** A normal cloud around the origin plus a few far points, from a small seeded generator. */
function data(seed: number, n = 1000, outliers = 20) {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    rows.push([gauss(), gauss(), gauss()]);
    labels.push(0);
  }
  for (let i = 0; i < outliers; i++) {
    rows.push([6 + rand(), -6 - rand(), gauss()]);
    labels.push(1);
  }
  return { rows, labels };
}

describe('c(n)', () => {
  it('follows eq. 1 of the paper', () => {
    expect(averagePathLength(1)).toBe(0);
    expect(averagePathLength(2)).toBe(1);
    expect(averagePathLength(256)).toBeCloseTo(2 * (Math.log(255) + 0.5772156649) - (2 * 255) / 256, 10);
  });
});

describe('IsolationForest', () => {
  const { rows, labels } = data(1);

  it('scores far points near 1 and the cloud below 0.5, separating them (AUC)', () => {
    const scores = new IsolationForest({ seed: 3 }).fit(rows).score(rows);
    expect(rocAuc(scores, labels)).toBeGreaterThan(0.99);
    expect(Math.min(...Array.from(scores).slice(1000))).toBeGreaterThan(0.6);
    const normal = Array.from(scores)
      .slice(0, 1000)
      .sort((a, b) => a - b);
    expect(normal[500]).toBeLessThan(0.5);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = new IsolationForest({ seed: 7 }).fit(rows);
    const b = new IsolationForest({ seed: 7 }).fit(rows);
    expect(b.toJSON()).toEqual(a.toJSON());
    expect(new IsolationForest({ seed: 8 }).fit(rows).toJSON().threshold).not.toEqual(a.toJSON().threshold);
  });

  it('does not modify its input', () => {
    const copy = rows.map((r) => [...r]);
    const f = new IsolationForest().fit(rows);
    f.score(rows);
    f.contributions(rows[0] as number[]);
    expect(rows).toEqual(copy);
  });

  it('saves to JSON and loads back with identical scores', () => {
    const f = new IsolationForest({ seed: 2, trees: 50 }).fit(rows);
    const back = IsolationForest.fromJSON(JSON.parse(JSON.stringify(f)));
    expect(Array.from(back.score(rows))).toEqual(Array.from(f.score(rows)));
    expect(() => IsolationForest.fromJSON({ format: 'something else' })).toThrow(/not a saved vigil isolation forest/);
    const broken = { ...f.toJSON(), left: f.toJSON().left.map(() => 0) };
    expect(() => IsolationForest.fromJSON(broken)).toThrow(/malformed/);
  });

  it('grows height-limited trees on ψ-point subsamples', () => {
    const f = new IsolationForest({ trees: 10, sampleSize: 64 }).fit(rows).toJSON();
    expect(f.psi).toBe(64);
    expect(f.roots).toHaveLength(10);
    // Every tree holds exactly its ψ sample points in its leaves, within ceil(log2 ψ) levels.
    for (let t = 0; t < 10; t++) {
      let points = 0;
      const walk = (node: number, depth: number) => {
        expect(depth).toBeLessThanOrEqual(6);
        if ((f.feature[node] as number) < 0) points += f.size[node] as number;
        else {
          walk(f.left[node] as number, depth + 1);
          walk((f.left[node] as number) + 1, depth + 1);
        }
      };
      walk(f.roots[t] as number, 0);
      expect(points).toBe(64);
    }
  });

  it('refuses to score before fitting, non-finite training data and rows of another width, with clear messages', () => {
    expect(() => new IsolationForest().score(rows)).toThrow(/not fitted/);
    expect(() =>
      new IsolationForest().fit([
        [1, Number.NaN],
        [2, 3],
      ]),
    ).toThrow(/must be finite/);
    const f = new IsolationForest().fit(rows);
    expect(() => f.score([[1, 2]])).toThrow(/trained on 3/);
    expect(() => new IsolationForest({ trees: 0 })).toThrow(/positive integer/);
  });

  it('scores a NaN feature as the training median', () => {
    const f = new IsolationForest({ seed: 1 }).fit(rows);
    const median = f.toJSON().medians[2] as number;
    expect(f.scoreOne([7, -7, Number.NaN])).toBe(f.scoreOne([7, -7, median]));
  });

  it('credits the features that isolate a point', () => {
    const f = new IsolationForest({ seed: 5 }).fit(rows);
    const c = f.contributions([8, 0, 0]);
    expect(c.reduce((a, b) => a + b, 0)).toBeCloseTo(1);
    expect(c[0]).toBeGreaterThan(c[1] as number);
    expect(c[0]).toBeGreaterThan(c[2] as number);
  });

  it('makes a node of identical points a leaf instead of splitting forever', () => {
    const same = Array.from({ length: 300 }, () => [1, 2]);
    const f = new IsolationForest({ trees: 5 }).fit(same).toJSON();
    expect(f.feature.every((x) => x === -1)).toBe(true);
    expect(f.size).toEqual([256, 256, 256, 256, 256]);
  });
});

describe('rocAuc', () => {
  it('counts ties as half, like scikit-learn', () => {
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(rocAuc([1, 1, 1, 1], [0, 1, 0, 1])).toBe(0.5);
  });
});
