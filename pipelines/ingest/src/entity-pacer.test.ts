import { describe, expect, it } from 'vitest';
import { type EntityLag, EntityPacer } from './entity-pacer.js';

function pacer(maxLagEvents: number, eventsPerRecord = 1) {
  let lag: EntityLag = { end: 0, committed: 0 };
  let clock = 0;
  const changes: [boolean, number][] = [];
  const p = new EntityPacer({
    lag: async () => lag,
    eventsPerRecord: () => eventsPerRecord,
    maxLagEvents,
    stallMs: 10_000,
    onChange: (paced, lagEvents) => changes.push([paced, lagEvents]),
    now: () => clock,
  });
  return {
    p,
    changes,
    at: async (ms: number, next: EntityLag) => {
      clock = ms;
      lag = next;
      await p.poll();
    },
  };
}

describe('EntityPacer', () => {
  it('holds ingest while the entity stage trails by more events than allowed, and lets it go once it catches up', async () => {
    // Packed records of 50 events: 21 records behind is 1,050 events, over 1,000.
    const t = pacer(1_000, 50);
    await t.at(0, { end: 30, committed: 10 });
    expect(t.p.waiting).toBe(false);
    await t.at(200, { end: 40, committed: 19 });
    expect(t.p.waiting).toBe(true);
    await t.at(400, { end: 40, committed: 25 });
    expect(t.p.waiting).toBe(false);
    expect(t.changes).toEqual([
      [true, 1050],
      [false, 750],
    ]);
  });

  it('stops waiting for an entity stage that makes no progress (stopped), and waits again once it moves', async () => {
    const t = pacer(100);
    await t.at(0, { end: 500, committed: 0 });
    expect(t.p.waiting).toBe(true);
    await t.at(9_000, { end: 600, committed: 0 });
    expect(t.p.waiting).toBe(true);
    await t.at(10_500, { end: 700, committed: 0 });
    expect(t.p.waiting).toBe(false);
    await t.at(11_000, { end: 700, committed: 50 });
    expect(t.p.waiting).toBe(true);
  });

  it('keeps its decision when the broker does not answer, and lets a waiting batch go when ingest stops', async () => {
    const failing = new EntityPacer({
      lag: async () => {
        throw new Error('broker down');
      },
      eventsPerRecord: () => 1,
      maxLagEvents: 0,
    });
    await failing.poll();
    expect(failing.waiting).toBe(false);
    const t = pacer(10);
    await t.at(0, { end: 100, committed: 0 });
    let beats = 0;
    let running = true;
    const waited = t.p.wait(
      async () => {
        beats++;
        if (beats === 3) running = false;
      },
      () => running,
    );
    await waited;
    expect(beats).toBe(3);
    expect(t.p.waiting).toBe(true);
  });
});
