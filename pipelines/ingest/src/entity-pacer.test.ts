import { describe, expect, it } from 'vitest';
import { type EntityLag, EntityPacer } from './entity-pacer.js';

/** Two entity partitions: [end, committed] each; one member in the group unless said otherwise. */
const lagOf = (a: [number, number], b: [number, number], members = 1): EntityLag => ({
  partitions: [
    { partition: 0, end: a[0], committed: a[1], start: 0 },
    { partition: 1, end: b[0], committed: b[1], start: 0 },
  ],
  members,
});

function pacer(maxLagRequests: number, requestsPerRecord = 1, commitIntervalMs = 0) {
  let lag: EntityLag | Error = lagOf([0, 0], [0, 0]);
  let clock = 0;
  const changes: [boolean, number][] = [];
  const p = new EntityPacer({
    lag: async () => {
      if (lag instanceof Error) throw lag;
      return lag;
    },
    requestsPerRecord: () => requestsPerRecord,
    maxLagRequests,
    commitIntervalMs,
    stallMs: 10_000,
    onChange: (paced, lagRequests) => changes.push([paced, lagRequests]),
    now: () => clock,
  });
  return {
    p,
    changes,
    at: async (ms: number, next: EntityLag | Error) => {
      clock = ms;
      lag = next;
      await p.poll();
    },
  };
}

describe('EntityPacer', () => {
  it('holds ingest while the entity stage trails by more requests than allowed, and lets it go once it catches up', async () => {
    // Packed records standing for 50 requests: 21 records behind is 1,050 requests, over 1,000.
    const t = pacer(1_000, 50);
    await t.at(0, lagOf([20, 10], [10, 0]));
    expect(t.p.waiting).toBe(false);
    await t.at(200, lagOf([25, 10], [15, 9]));
    expect(t.p.waiting).toBe(true);
    await t.at(400, lagOf([25, 15], [15, 10]));
    expect(t.p.waiting).toBe(false);
    expect(t.changes).toEqual([
      [true, 1050],
      [false, 750],
    ]);
  });

  it('leaves a partition that makes no progress out of the lag, and takes it back once it moves', async () => {
    const t = pacer(100);
    await t.at(0, lagOf([500, 0], [10, 10]));
    expect(t.p.waiting).toBe(true);
    // Partition 0 stuck; partition 1 keeps up (nothing to read counts as keeping up).
    await t.at(9_000, lagOf([600, 0], [20, 20]));
    expect(t.p.waiting).toBe(true);
    await t.at(10_500, lagOf([700, 0], [30, 30]));
    expect(t.p.waiting).toBe(false);
    // A stuck partition no longer holds ingest back, however far the others run — up to the bound.
    await t.at(11_000, lagOf([800, 0], [150, 30]));
    expect(t.p.waiting).toBe(true);
    await t.at(11_200, lagOf([800, 0], [150, 140]));
    expect(t.p.waiting).toBe(false);
    // Partition 0 moves again: back in the lag.
    await t.at(12_000, lagOf([800, 50], [150, 150]));
    expect(t.p.waiting).toBe(true);
  });

  it('does not wait for an entity stage with no member in its group, nor for a lag it cannot read for long', async () => {
    const t = pacer(100);
    await t.at(0, lagOf([500, 0], [0, 0], 0));
    expect(t.p.waiting).toBe(false);
    await t.at(100, lagOf([500, 0], [0, 0], 1));
    expect(t.p.waiting).toBe(true);
    await t.at(5_000, new Error('coordinator not available'));
    expect(t.p.waiting).toBe(true);
    await t.at(10_200, new Error('coordinator not available'));
    expect(t.p.waiting).toBe(false);
  });

  it("allows a commit interval's worth of the entity stage's progress on top: committed offsets trail what it read", async () => {
    // 1,000 records a second committed; a 2 s commit interval: 2,000 more allowed.
    const t = pacer(100, 1, 2_000);
    await t.at(0, lagOf([5_000, 0], [0, 0]));
    expect(t.p.waiting).toBe(true);
    await t.at(1_000, lagOf([5_000, 1_000], [0, 0]));
    await t.at(2_000, lagOf([5_000, 2_000], [0, 0]));
    expect(t.p.waiting).toBe(true);
    await t.at(3_000, lagOf([5_000, 3_000], [0, 0]));
    expect(t.p.waiting).toBe(false);
  });

  it('allows as many times the bound as the principal stage has members, each holding its own share', async () => {
    const t = pacer(100);
    await t.at(0, { ...lagOf([250, 0], [0, 0]), holders: 2 });
    expect(t.p.waiting).toBe(true);
    await t.at(100, { ...lagOf([250, 0], [0, 0]), holders: 3 });
    expect(t.p.waiting).toBe(false);
    await t.at(200, { ...lagOf([250, 0], [0, 0]), holders: 0 });
    expect(t.p.waiting).toBe(true);
  });

  it('lets a waiting batch go when ingest stops, and stops reading at stop()', async () => {
    const t = pacer(10);
    await t.at(0, lagOf([100, 0], [0, 0]));
    let beats = 0;
    let running = true;
    await t.p.wait(
      async () => {
        beats++;
        if (beats === 3) running = false;
      },
      () => running,
    );
    expect(beats).toBe(3);
    await t.p.stop();
    expect(t.p.waiting).toBe(false);
    await t.at(100, lagOf([1_000, 0], [0, 0]));
    expect(t.p.waiting).toBe(false);
  });
});
