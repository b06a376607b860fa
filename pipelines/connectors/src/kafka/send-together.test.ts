// sendTogether: a flush's topics leave in as few produce requests as Kafka takes — one when everything fits, and one
// more per extra chunk of a topic too large for one request — every message exactly once, in its topic's order.
import type { Message, ProducerBatch, RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { sendTogether } from './stateful-processor.js';

function recorder() {
  const requests: ProducerBatch[] = [];
  const sendBatch = async (batch: ProducerBatch): Promise<RecordMetadata[]> => {
    requests.push(batch);
    return [];
  };
  return { requests, to: { sendBatch } };
}

const small = (n: number, tag: string): Message[] => Array.from({ length: n }, (_, i) => ({ key: tag, value: `${i}` }));
const sent = (requests: ProducerBatch[], topic: string) =>
  requests.flatMap((r) => (r.topicMessages ?? []).filter((t) => t.topic === topic).flatMap((t) => t.messages));

describe('sendTogether', () => {
  it('sends a fused stage’s feature records, decisions and changelog in one request (acks=all)', async () => {
    const { requests, to } = recorder();
    await sendTogether(to, [
      ['features', small(3, 'f')],
      ['decisions', small(3, 'd')],
      ['changelog', small(2, 'c')],
    ]);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.acks).toBe(-1);
    expect(requests[0]?.topicMessages?.map((t) => [t.topic, t.messages.length])).toEqual([
      ['features', 3],
      ['decisions', 3],
      ['changelog', 2],
    ]);
  });

  it('splits a topic larger than one request into rounds, each topic at most once per request', async () => {
    const { requests, to } = recorder();
    // Three values of 300 KB: no two fit in one chunk of 512 KiB, so the topic takes three requests.
    const big = [0, 1, 2].map((i) => ({ key: `b${i}`, value: String(i).repeat(300_000) }));
    await sendTogether(to, [
      ['features', big],
      ['decisions', small(2, 'd')],
    ]);
    expect(requests).toHaveLength(3);
    for (const r of requests) {
      const topics = (r.topicMessages ?? []).map((t) => t.topic);
      expect(new Set(topics).size).toBe(topics.length);
    }
    expect(sent(requests, 'features').map((m) => m.key)).toEqual(['b0', 'b1', 'b2']);
    expect(sent(requests, 'decisions')).toHaveLength(2);
    expect(requests[0]?.topicMessages?.map((t) => t.topic)).toEqual(['features', 'decisions']);
  });

  it('sends nothing for nothing', async () => {
    const { requests, to } = recorder();
    await sendTogether(to, []);
    await sendTogether(to, [['features', []]]);
    expect(requests).toHaveLength(0);
  });
});
