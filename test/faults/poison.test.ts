// Fault suite, poison records: one bad record in the input of every stage — the access log (nested thousands of
// levels deep, and carrying credentials), the entity- and principal-keyed topics (the principal stage decides too:
// scoring.fused, the default), the feature records (when a decision stage of its own reads them), the decision
// records — on a real broker. No stage stops: each bad record is dead-lettered with its reason and position (no raw
// credential in it), the good traffic around it is still decided on, and every process stays up and healthy.
import { request } from 'node:http';
import { join } from 'node:path';
import { type DeadLetter, type Decision, decisionSchema } from '@vigil/events';
import { ROLE_HEADER } from '@vigil/features';
import { generateTraffic, renderRecord, type SimRequest } from '@vigil/simulator';
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import {
  type DetectorProcess,
  deleteTopics,
  detectorConfig,
  freshTopics,
  kafkaClient,
  ROOT,
  randomName,
  readTopic,
  requiredEnv,
  startDetectorProcess,
  startServiceProcess,
  waitFor,
} from '../support/services.js';

const PEPPER = 'poison-integration-pepper-0123456789abcdef';
const SECRET = 'Sup3rSecretApiKey-9f8e7d';

const healthz = (port: number) =>
  new Promise<number>((resolve) => {
    request({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', () => resolve(0))
      .end();
  });

const opsPort = (p: DetectorProcess) => Number(/"ops_port":(\d+)/.exec(p.output())?.[1] ?? 0);

describe('fault suite: poison records in every stage', () => {
  const kafka: Kafka = kafkaClient();
  const topics: string[] = [];
  const processes: DetectorProcess[] = [];
  let producer: Producer | undefined;

  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await producer?.disconnect();
    await deleteTopics(kafka, topics);
  });

  // Fused (the default): the principal stage decides; a stage of its own (scoring.fused false) reads the feature
  // records, so a bad one there is its poison too.
  it.each([{ fused: true }, { fused: false }])(
    'dead-letters each bad record with its reason and goes on deciding (fused: $fused)',
    async ({ fused }) => {
      const t = await freshTopics(kafka);
      const decisions = randomName('decisions');
      topics.push(...Object.values(t), decisions, `${decisions}.shadow`);
      const detector = startDetectorProcess(
        detectorConfig(
          t,
          { pepper: PEPPER, group: randomName('detector'), boundMs: 500 },
          {
            scoring: {
              bundle: join(ROOT, 'models/bundles/default'),
              topic: decisions,
              shadow_topic: `${decisions}.shadow`,
              write_allow: true,
              fused,
            },
          },
        ),
      );
      processes.push(detector);
      const revoker = startServiceProcess('revoke', {
        kafka: { brokers: requiredEnv('KAFKA_BROKERS').split(',') },
        consumer: {
          group_id: randomName('revoker'),
          topics: [decisions],
          session_timeout_ms: 6000,
          heartbeat_interval_ms: 1000,
        },
        topics: {
          revocations: randomName('revocations'),
          notices: randomName('notices'),
          poison: t.dlq,
          partitions: 3,
        },
        pepper: { secret: PEPPER },
        telemetry: { port: 0 },
      });
      processes.push(revoker);
      onTestFailed(() =>
        console.log(
          `--- detector ---\n${detector.output().slice(-3000)}\n--- revoker ---\n${revoker.output().slice(-2000)}`,
        ),
      );
      await waitFor('the detector and the revoker', async () => {
        detector.assertAlive();
        revoker.assertAlive();
        return detector.output().includes('detector started') && revoker.output().includes('revoker started');
      });

      producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const p = producer;
      const start = Date.now() - 5 * 60_000;
      const traffic = generateTraffic({ seed: 11, customers: 100, start, meanGapMs: 200 });
      const good = (n: number) => Array.from({ length: n }, () => traffic.next().value as SimRequest);
      const sendGood = (rs: SimRequest[]) =>
        p.send({
          topic: t.input,
          acks: -1,
          messages: rs.map((r) => ({ value: JSON.stringify(renderRecord('kong', r, 'claims')) })),
        });
      const first = good(300);
      const second = good(300);
      await sendGood(first);

      // One bad record in every stage's input.
      const deep = `{"started_at":${start},"x":${'{"\\u0061":'.repeat(5000)}1${'}'.repeat(5000)}}`;
      const leaky = JSON.stringify({
        request: {
          headers: { 'x-api-key': [SECRET, SECRET], cookie: [`sid=${SECRET}`] },
          uri: `/v1/x?api-key=${SECRET}`,
        },
      });
      await p.send({ topic: t.input, acks: -1, messages: [{ value: deep }, { value: leaky }] });
      await p.send({ topic: t.keyed, acks: -1, messages: [{ key: 'sub:poison', value: '{"ts":"not a time"}' }] });
      await p.send({
        topic: t.entities,
        acks: -1,
        messages: [{ key: 'ip:1.2.3.4', value: 'garbage', headers: { [ROLE_HEADER]: 'ip' } }],
      });
      await p.send({ topic: decisions, acks: -1, messages: [{ key: 'sub:poison', value: '{"action":"revoke"}' }] });
      if (!fused)
        await p.send({ topic: t.features, acks: -1, messages: [{ key: 'sub:poison', value: '{"v":"not a vector"}' }] });
      await sendGood(second);
      // Later traffic moves event time on, so the reorder buffers release all of the first two batches.
      await sendGood(good(200));

      // Every good request is still decided on (allow included), after the bad records as before them.
      const ids = new Set([...first, ...second].map((r) => r.requestId));
      const decided = await readTopic(
        kafka,
        decisions,
        (v) => {
          detector.assertAlive();
          return v.filter((x) => ids.has((JSON.parse(x.value) as Decision).request_id)).length >= ids.size;
        },
        120_000,
      );
      for (const x of decided)
        if (x.value.includes('"request_id"') && ids.has((JSON.parse(x.value) as Decision).request_id))
          decisionSchema.parse(JSON.parse(x.value));

      // Each bad record is a dead letter with its reason and position.
      const stages = [
        'too_deep/kong',
        'missing_field/kong',
        'unprocessable/features',
        'unprocessable/entity_features',
        ...(fused ? [] : ['unprocessable/decisions']),
        'unprocessable/revoker',
      ];
      const letters = await readTopic(
        kafka,
        t.dlq,
        (v) =>
          stages.every((s) =>
            v.some(
              (x) =>
                `${(JSON.parse(x.value) as DeadLetter).reason}/${(JSON.parse(x.value) as DeadLetter).format}` === s,
            ),
          ),
        60_000,
      );
      const parsed = letters.map((x) => JSON.parse(x.value) as DeadLetter);
      for (const s of stages) expect(parsed.map((d) => `${d.reason}/${d.format}`)).toContain(s);
      const fromFeatures = parsed.find((d) => d.format === 'features');
      expect(fromFeatures?.source.topic).toBe(t.keyed);
      if (!fused) {
        const fromDecisions = parsed.find((d) => d.format === 'decisions');
        expect(fromDecisions?.source.topic).toBe(t.features);
        expect(fromDecisions?.detail).toBe('ts: not a finite number');
      }
      expect(parsed.find((d) => d.format === 'revoker')?.source.topic).toBe(decisions);
      expect(letters.map((x) => x.value).join('\n')).not.toContain(SECRET);
      expect(detector.output() + revoker.output()).not.toContain(SECRET);

      // Nobody stopped: both processes are up and say they are healthy.
      detector.assertAlive();
      revoker.assertAlive();
      expect(await healthz(opsPort(detector))).toBe(200);
      expect(await healthz(opsPort(revoker))).toBe(200);
      console.log(
        `poison (fused: ${fused}): ${parsed.length} dead letters (${stages.join(', ')}); ` +
          `${decided.length} decisions for ${ids.size} good requests; detector and revoker healthy`,
      );
      // The next case starts its own.
      detector.child.kill('SIGKILL');
      revoker.child.kill('SIGKILL');
    },
    240_000,
  );
});
