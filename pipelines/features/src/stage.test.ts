// The online feature stage: per-partition event-time order, and a batch acknowledged only when all its events have
// been released by the reorder buffer and their feature records written.
import type { Sink, SinkRecord, SourceBatch } from '@vigil/connectors';
import { type AccessEvent, principalKey } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import { FeatureExtractor } from './extractor.js';
import { Velocity } from './features/velocity.js';
import { createFeatureHandler, type FeatureRecord } from './stage.js';

const event = (ts: number, sub: string): AccessEvent => ({
  ts,
  request_id: `r-${sub}-${ts}`,
  gateway: 'canonical',
  method: 'GET',
  path: '/v1/x',
  route: '/v1/x',
  object_ids: [],
  query_keys: [],
  status: 200,
  client_ip: '192.0.2.1',
  principal: { sub, client_ip: '192.0.2.1' },
});

function batch(partition: number, events: AccessEvent[], acks: string[], name: string): SourceBatch {
  return {
    records: events.map((e, i) => ({
      value: Buffer.from(JSON.stringify(e)),
      key: Buffer.from(principalKey(e)),
      headers: {},
      position: { topic: 'keyed', partition, offset: String(i) },
    })),
    ack: (err) => acks.push(err ? `${name}:error` : name),
    heartbeat: async () => {},
  };
}

const settle = () => new Promise((r) => setTimeout(r, 5));

describe('feature stage', () => {
  it('releases in event-time order per partition and acks a batch when all its events are written', async () => {
    const written: SinkRecord<FeatureRecord>[] = [];
    const sink: Sink<FeatureRecord> = { write: async (r) => void written.push(...r), close: async () => {} };
    const handler = createFeatureHandler({ makeExtractor: () => new FeatureExtractor([new Velocity()]), boundMs: 2000, sink });
    const acks: string[] = [];
    await handler(batch(0, [event(1000, 'a'), event(500, 'a')], acks, 'b1'));
    await settle();
    expect([written.length, acks]).toEqual([0, []]);
    await handler(batch(1, [event(9000, 'b')], acks, 'other-partition'));
    await settle();
    expect(written.length).toBe(0);
    await handler(batch(0, [event(3500, 'a')], acks, 'b2'));
    await settle();
    expect(written.map((w) => w.value.request_id)).toEqual(['r-a-500', 'r-a-1000']);
    expect(written.map((w) => w.value.v[0])).toEqual([Math.log1p(1), Math.log1p(2)]);
    expect(acks).toEqual(['b1']);
  });

  it('passes a sink failure to the batches whose events it held', async () => {
    const sink: Sink<FeatureRecord> = { write: async (r) => (r.length ? Promise.reject(new Error('down')) : undefined), close: async () => {} };
    const handler = createFeatureHandler({ makeExtractor: () => new FeatureExtractor([new Velocity()]), boundMs: 0, sink });
    const acks: string[] = [];
    await handler(batch(0, [event(1000, 'a')], acks, 'b1'));
    await settle();
    expect(acks).toEqual(['b1:error']);
  });
});
