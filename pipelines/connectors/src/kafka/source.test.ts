// KafkaSource's offset commits against a consumer stand-in (the broker's side is the integration tests'): one commit
// at a time, and nothing fetched before a rebalance committed after it.
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { SourceBatch } from '../types.js';
import { kafkaConsumerSchema } from './config.js';
import { KafkaSource } from './source.js';

type EachBatch = (args: {
  batch: { topic: string; partition: number; messages: object[] };
  resolveOffset: (offset: string) => void;
  heartbeat: () => Promise<void>;
  isRunning: () => boolean;
  isStale: () => boolean;
}) => Promise<void>;

function harness() {
  const listeners = new Map<string, () => void>();
  const commits: { partition: number; offset: string }[][] = [];
  let settleCommit: (() => void) | undefined;
  let eachBatch: EachBatch | undefined;
  const consumer = {
    events: { CRASH: 'crash', GROUP_JOIN: 'group_join' },
    on: (event: string, fn: () => void) => listeners.set(event, fn),
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async (o: { eachBatch: EachBatch }) => {
      eachBatch = o.eachBatch;
    },
    // Each commit stays in flight until the test settles it.
    commitOffsets: (offsets: { partition: number; offset: string }[]) => {
      commits.push(offsets.map(({ partition, offset }) => ({ partition, offset })));
      return new Promise<void>((resolve) => {
        settleCommit = resolve;
      });
    },
  };
  const kafka = { consumer: () => consumer } as unknown as Kafka;
  const config = kafkaConsumerSchema.parse({ group_id: 'g', topics: ['in'], commit_interval_ms: 3_600_000 });
  const source = new KafkaSource(kafka, config);
  const acks: SourceBatch['ack'][] = [];
  void source.run(async (batch) => {
    acks.push(batch.ack);
  });
  const flush = () => new Promise((r) => setImmediate(r));
  return {
    source,
    commits,
    acks,
    flush,
    settle: () => settleCommit?.(),
    rebalance: () => listeners.get('group_join')?.(),
    /** A fetched batch of `partition` from `first` to `last`, handed to the source. */
    fetch: async (partition: number, first: number, last: number) => {
      while (!eachBatch) await flush();
      const messages = [];
      for (let o = first; o <= last; o++)
        messages.push({ offset: String(o), value: Buffer.from('x'), key: null, headers: {}, timestamp: '0' });
      await eachBatch({
        batch: { topic: 'in', partition, messages },
        resolveOffset: () => undefined,
        heartbeat: async () => undefined,
        isRunning: () => true,
        isStale: () => false,
      });
      await flush();
    },
  };
}

describe('KafkaSource commits', () => {
  it('one at a time: what is acknowledged meanwhile waits for the next, which carries the newest offset', async () => {
    const h = harness();
    await h.fetch(0, 0, 1);
    h.acks[0]?.();
    await h.flush();
    const first = h.source.commit();
    expect(h.commits).toEqual([[{ partition: 0, offset: '2' }]]);
    await h.fetch(0, 2, 3);
    await h.fetch(0, 4, 5);
    h.acks[1]?.();
    h.acks[2]?.();
    await h.flush();
    // The first is still in flight: no second commit beside it (two could land out of order).
    void h.source.commit();
    expect(h.commits).toHaveLength(1);
    h.settle();
    await first;
    void h.source.commit();
    expect(h.commits).toEqual([[{ partition: 0, offset: '2' }], [{ partition: 0, offset: '6' }]]);
  });

  it('commits nothing fetched before a rebalance, acknowledged before it or after', async () => {
    const h = harness();
    await h.fetch(0, 0, 9);
    await h.fetch(1, 0, 4);
    h.acks[0]?.();
    await h.flush();
    h.rebalance();
    // The other batch's acknowledgement comes after the rebalance.
    h.acks[1]?.();
    await h.flush();
    void h.source.commit();
    expect(h.commits).toEqual([]);
    // kafkajs reads each partition again from its committed offset: those batches are what gets committed.
    await h.fetch(0, 0, 9);
    h.acks[2]?.();
    await h.flush();
    void h.source.commit();
    expect(h.commits).toEqual([[{ partition: 0, offset: '10' }]]);
  });
});
