// A stateful stage on the real broker, failing, in both guarantees. A task that throws (a defect: tasks set bad
// records aside as poison, they do not throw): the stage stops, and nothing the throwing batch half did reaches the
// changelog — no checkpoint after the throw, by the checkpoint timer or at stop — so a restart restores the last whole
// state and reads the batch again. A checkpoint that fails part-way leaves the changelog as it was.
import {
  type ByteBudget,
  ensureTopics,
  KafkaStatefulProcessor,
  kafkaConsumerSchema,
  readChangelog,
  type SinkRecord,
  type StatefulTask,
} from '@vigil/connectors';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteTopics, kafkaClient, randomName, waitFor } from '../support/services.js';

describe('a stateful stage: what a failure leaves in its changelog', () => {
  const kafka = kafkaClient();
  const topics: string[] = [];
  afterAll(() => deleteTopics(kafka, topics));

  /** An input, output and changelog topic of one partition each, and the input's first records. */
  async function topicsWith(first: string[]) {
    const [input, output, changelog] = ['sp-in', 'sp-out', 'sp-changelog'].map((t) => randomName(t)) as [
      string,
      string,
      string,
    ];
    topics.push(input, output, changelog);
    await ensureTopics(kafka, [
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
      { topic: changelog, partitions: 1, compacted: true },
    ]);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: input, messages: first.map((v) => ({ key: v, value: v })) });
    return { input, output, changelog, producer };
  }

  /** The stage over those topics, running; `next()` reads its changelog's next offset. */
  function run(
    t: { input: string; output: string; changelog: string },
    guarantee: 'at_least_once' | 'exactly_once',
    task: StatefulTask<string>,
    onRetry?: (err: unknown) => void,
    budget?: ByteBudget,
  ) {
    const processor = new KafkaStatefulProcessor<string>(kafka, {
      consumer: kafkaConsumerSchema.parse({ group_id: randomName('sp-group'), topics: [t.input], max_wait_ms: 50 }),
      changelogTopic: t.changelog,
      outputTopic: t.output,
      commitIntervalMs: 50,
      guarantee,
      makeTask: () => task,
      ...(onRetry ? { onRetry } : {}),
      ...(budget ? { budget } : {}),
    });
    const done = processor.run();
    done.catch(() => undefined);
    const state = async () => (await readChangelog(kafka, t.changelog, [0])).get(0);
    const next = async () => (await state())?.get('$next')?.toString();
    return { processor, done, state, next };
  }

  for (const guarantee of ['at_least_once', 'exactly_once'] as const) {
    it(`whose task throws stops, and checkpoints nothing of the batch it threw in (${guarantee})`, async () => {
      const t = await topicsWith(['a', 'b', 'c']);

      // Counts each value; "boom" changes state, then throws.
      const counts = new Map<string, number>();
      const changed = new Set<string>();
      const task: StatefulTask<string> = {
        process(records) {
          const out: SinkRecord<string>[] = [];
          for (const r of records) {
            const v = r.value.toString();
            if (v === 'boom') {
              counts.set('half-done', 1);
              changed.add('half-done');
              throw new Error('a defect in the task');
            }
            counts.set(v, (counts.get(v) ?? 0) + 1);
            changed.add(v);
            out.push({ key: v, value: v });
          }
          return out;
        },
        drainChanges() {
          const out = [...changed].map((k): [string, Buffer] => [k, Buffer.from(String(counts.get(k)))]);
          changed.clear();
          return out;
        },
        restore() {},
      };
      // The changelog's bookkeeping is charged to the stage's state budget while it holds the partition.
      const budget = { used: 0, charge: (n: number) => (budget.used += n), release: (n: number) => (budget.used -= n) };
      const { processor, done, state, next } = run(t, guarantee, task, undefined, budget);
      await waitFor('a checkpoint covering a, b and c', async () => (await next()) === '3', 30_000);
      expect(budget.used).toBeGreaterThan(0);

      await t.producer.send({ topic: t.input, messages: ['boom', 'd'].map((v) => ({ key: v, value: v })) });
      await t.producer.disconnect();
      await expect(done).rejects.toThrow('a defect in the task');
      // Time for the checkpoint timer (every 10 ms) to have written anything it was going to, then the stop's own.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await processor.stop();
      expect(budget.used).toBe(0); // given back when the failed stage let the partition go

      const log = await state();
      expect(log?.get('$next')?.toString()).toBe('3');
      expect(log?.get('a')?.toString()).toBe('1');
      expect(log?.has('half-done')).toBe(false);
      expect(log?.has('d')).toBe(false);
    }, 60_000);
  }

  // A checkpoint's changelog is often more than one produce request (segments of 256 KiB, the cleaner's copies): one
  // that fails part-way — here the third of four requests, a record the broker refuses — must leave the changelog as
  // it was, or a restore would load state ahead of the offset it covers and count the replayed records twice.
  for (const guarantee of ['at_least_once', 'exactly_once'] as const) {
    it(`writes a checkpoint's changelog all or nothing, however many requests it takes (${guarantee})`, async () => {
      const t = await topicsWith(['a']);
      let pending: [string, Buffer][] = [];
      const task: StatefulTask<string> = {
        process(records) {
          for (const r of records) {
            const v = r.value.toString();
            if (v === 'a') pending.push(['a', Buffer.from('1')]);
            // Two values of 300 KiB (a request each), then one over the broker's 1 MiB limit.
            if (v === 'big')
              pending.push(
                ['k1', Buffer.alloc(300 * 1024, 1)],
                ['k2', Buffer.alloc(300 * 1024, 2)],
                ['too-large', Buffer.alloc(1536 * 1024, 3)],
              );
          }
          return [];
        },
        drainChanges() {
          const out = pending;
          pending = [];
          return out;
        },
        restore() {},
      };
      const failures: unknown[] = [];
      const { processor, state, next } = run(t, guarantee, task, (err) => failures.push(err));
      await waitFor('the first checkpoint', async () => (await next()) === '1', 30_000);
      await t.producer.send({ topic: t.input, messages: [{ key: 'big', value: 'big' }] });
      await t.producer.disconnect();
      await waitFor('the failed checkpoint', async () => failures.length > 0, 30_000);
      await processor.stop();
      const log = await state();
      expect(log?.get('$next')?.toString()).toBe('1');
      expect(log?.has('k1')).toBe(false);
      expect(log?.has('k2')).toBe(false);
    }, 90_000);
  }
});
