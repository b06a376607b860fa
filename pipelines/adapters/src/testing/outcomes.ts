// What the per-format tests share: a Kong record builder and readers of a line's outcomes.
import { accessEventSchema } from '@vigil/events';
import { expect } from 'vitest';
import type { RecordOutcome } from '../adapter.js';

export const T0 = Date.UTC(2026, 10, 28, 9, 0, 0);

export const kongRecord = (over: Record<string, unknown> = {}, request: Record<string, unknown> = {}) =>
  JSON.stringify({
    started_at: T0,
    client_ip: '203.0.113.7',
    request: {
      id: 'req-1',
      method: 'GET',
      uri: '/v1/accounts/12345/transactions?page=2',
      size: 120,
      headers: {},
      ...request,
    },
    response: { status: 200, size: 900 },
    latencies: { request: 12, kong: 1, proxy: 11 },
    ...over,
  });

/** The one outcome of a line. */
export const only = (outcomes: RecordOutcome[]) => {
  expect(outcomes).toHaveLength(1);
  return outcomes[0] as RecordOutcome;
};

/** The one event of a line, valid against the event schema. */
export const event = (outcomes: RecordOutcome[]) => {
  const o = only(outcomes);
  if (!o.ok) throw new Error(`expected an event, got ${o.reason}: ${o.detail}`);
  expect(accessEventSchema.safeParse(o.event).success).toBe(true);
  return o.event;
};

/** The reason code of a line's one dead letter. */
export const reason = (outcomes: RecordOutcome[]) => {
  const o = only(outcomes);
  if (o.ok) throw new Error('expected a dead letter');
  return o.reason;
};
