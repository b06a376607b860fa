// The NAB scorer on two 40-record series whose score is worked out by hand below (standard profile: tp 1, fp 0.11,
// fn 1). σs(x) = 2/(1 + e^(5x)) − 1; σs(−1) = 0.9866143 is the largest true-positive weight, so a detection at a
// window's first record is worth exactly 1. Probation = ⌊0.15 · 40⌋ = 6 records (0–5).
import { describe, expect, it } from 'vitest';
import { type NabSeries, nabScore, probationaryLength, scaledSigmoid } from './nab-score.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2015, 8, 1);
const ts = Array.from({ length: 40 }, (_, i) => T0 + i * MINUTE);

/** Series A: window = records 12..15. */
function seriesA(): NabSeries {
  const scores = new Array(40).fill(0.1);
  scores[2] = 0.99; // inside the probationary period: never scored
  scores[8] = 0.8; // false positive before any window
  scores[13] = 0.9; // second record of the window
  scores[14] = 0.95; // third record of the window (scores higher, but later)
  scores[18] = 0.7; // false positive 3 records behind the window
  return { name: 'A', timestamps: ts, scores, windows: [[ts[12] as number, ts[15] as number]] };
}

/** Series B: window = records 20..23; its first record scores 0.7; a false positive at record 8 scores 0.8. */
function seriesB(): NabSeries {
  const scores = new Array(40).fill(0.1);
  scores[8] = 0.8;
  scores[20] = 0.7;
  return { name: 'B', timestamps: ts, scores, windows: [[ts[20] as number, ts[23] as number]] };
}

describe('NAB score (standard profile)', () => {
  it('has the probationary period and the scaled sigmoid of NAB', () => {
    expect(probationaryLength(40)).toBe(6);
    expect(probationaryLength(10_000)).toBe(750); // 0.15 · 5000 caps it
    expect(scaledSigmoid(-1)).toBeCloseTo(0.9866143, 7);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(3)).toBe(-1);
  });

  it(
    'one series: the earliest detection in the window counts, ' + 'the probation is ignored, the best threshold wins',
    () => {
      // Thresholds from the top (record 2's 0.99 is probationary, so it never counts):
      //   none detected           −1 (the window is missed)
      //   ≥ 0.95: record 14       σs(−(15 − 14 + 1)/4)/σs(−1) = σs(−0.5)/σs(−1) = 0.8482836/0.9866143
      //                           = 0.8597926
      //   ≥ 0.9:  records 13, 14  the earlier counts: σs(−3/4)/σs(−1) = 0.9540453/0.9866143 = 0.9669891
      //   ≥ 0.8:  + record 8      before any window: −0.11 → 0.8569891
      //   ≥ 0.7:  + record 18     σs(|15 − 18|/(4 − 1)) · 0.11 = σs(1) · 0.11 = −0.1085276 → 0.7484615
      //   ≥ 0.1:  everything      1 − 6 · 0.11 (records 6–11) + 24 sigmoid-weighted ones behind → −2.2556537
      // Best: 0.9669891 at 0.9. Null (one constant score): max(−1, −2.2556537) = −1; perfect = 1.
      // Normalised: 100 · (0.9669891 + 1) / (1 + 1) = 98.349454.
      const r = nabScore([seriesA()]);
      expect(r.threshold).toBe(0.9);
      expect(r.score).toBeCloseTo(0.9669891, 6);
      expect(r.nullScore).toBe(-1);
      expect(r.perfectScore).toBe(1);
      expect(r.normalised).toBeCloseTo(98.349454, 4);
      expect([r.windows, r.windowsDetected, r.falsePositives]).toEqual([1, 1, 0]);
    },
  );

  it('two series share one threshold, and false positives are weighted by their distance behind a window', () => {
    // Both series together (two windows, each −1 while missed):
    //   ≥ 0.95: A's window 0.8597926, B's −1                            = −0.1402074
    //   ≥ 0.9:  A's window 0.9669891, B's −1                            = −0.0330109
    //   ≥ 0.8:  + two false positives before any window, −0.11 each     = −0.2530109
    //   ≥ 0.7:  + A's record 18 (−0.1085276) and B's window caught at its first record (−1 → +1, i.e. +2)
    //                                                                   =  1.6384615
    //   ≥ 0.1:  everything                                              = −4.5113074
    // Best: 1.6384615 at 0.7 (3 false positives: A8, B8, A18). Null −2, perfect 2.
    // Normalised: 100 · (1.6384615 + 2) / (2 + 2) = 90.961538.
    const r = nabScore([seriesA(), seriesB()]);
    expect(r.threshold).toBe(0.7);
    expect(r.score).toBeCloseTo(1.6384615, 6);
    expect(r.nullScore).toBe(-2);
    expect(r.perfectScore).toBe(2);
    expect(r.normalised).toBeCloseTo(90.961538, 4);
    expect([r.windows, r.windowsDetected, r.falsePositives]).toEqual([2, 2, 3]);
  });

  it(
    'a detector that never fires scores 0 normalised; ' +
      'one that catches every window at its start and nothing else 100',
    () => {
      const silent = { ...seriesA(), scores: new Array(40).fill(0) };
      expect(nabScore([silent]).normalised).toBe(0);
      const perfect = { ...seriesB(), scores: Array.from({ length: 40 }, (_, i) => (i === 20 ? 1 : 0)) };
      expect(nabScore([perfect]).normalised).toBeCloseTo(100, 10);
    },
  );
});
