import { describe, expect, it } from 'vitest';
import { OffsetTracker } from './offset-tracker.js';

describe('OffsetTracker', () => {
  it('commits only the contiguous acknowledged prefix per partition', () => {
    const t = new OffsetTracker();
    const a = t.track('in', 0, '9');
    const b = t.track('in', 0, '19');
    const c = t.track('in', 1, '4');
    b();
    expect(t.drain()).toEqual([]);
    expect(t.unacknowledged).toBe(2);
    a();
    c();
    expect(t.drain()).toEqual([
      { topic: 'in', partition: 0, offset: '20' },
      { topic: 'in', partition: 1, offset: '5' },
    ]);
    expect(t.drain()).toEqual([]);
    expect(t.unacknowledged).toBe(0);
  });

  it('ignores a second acknowledgement', () => {
    const t = new OffsetTracker();
    const a = t.track('in', 2, '0');
    t.track('in', 2, '1');
    a();
    a();
    expect(t.unacknowledged).toBe(1);
    expect(t.drain()).toEqual([{ topic: 'in', partition: 2, offset: '1' }]);
  });

  it('commits nothing fetched or acknowledged before a rebalance, and still counts it acknowledged', () => {
    const t = new OffsetTracker();
    const before = t.track('in', 0, '9');
    const acked = t.track('in', 1, '3');
    acked();
    t.reset();
    // Read again from the committed offset after the rebalance.
    const again = t.track('in', 0, '9');
    const next = t.track('in', 0, '14');
    next();
    expect(t.drain()).toEqual([]);
    before();
    expect(t.unacknowledged).toBe(1);
    expect(t.drain()).toEqual([]);
    again();
    expect(t.drain()).toEqual([{ topic: 'in', partition: 0, offset: '15' }]);
    expect(t.unacknowledged).toBe(0);
  });
});
