// Fault suite, the broker killed: Kafka is SIGKILLed mid-stream and started again a few seconds later while the
// detector (deciding with the default bundle in the principal feature stage) and the producer keep going. The
// detector pauses and resumes by itself — it does not exit — and afterwards every request has at least one decision,
// every repeat of a decision equal to the first but for decided_at; with the feature stages exactly once, exactly one
// feature record, and at least once with no reorder bound (the detector's defaults), at least one, every repeat with
// the first's vector.
import { join } from 'node:path';
import type { Decision } from '@vigil/events';
import type { FeatureRecord } from '@vigil/features';
import { generateTraffic, renderRecord, type SimRequest } from '@vigil/simulator';
import type { Kafka, Producer } from 'kafkajs';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import {
  type DetectorProcess,
  detectorConfig,
  freshTopics,
  kafkaClient,
  kafkaControl,
  ROOT,
  randomName,
  readTopic,
  serviceCounters,
  startDetectorProcess,
  type TopicRecord,
  waitFor,
} from '../support/services.js';

const PEPPER = 'broker-kill-pepper-0123456789abcdef0123';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fault suite: the broker killed mid-stream', () => {
  const kafka: Kafka = kafkaClient();
  let detector: DetectorProcess | undefined;
  let producer: Producer | undefined;

  // Each case's detector and producer end with it.
  afterEach(async () => {
    detector?.child.kill('SIGKILL');
    detector = undefined;
    await producer?.disconnect().catch(() => undefined);
    producer = undefined;
  });

  // Exactly once: one feature record per request. At least once with no reorder bound (the detector's defaults):
  // none lost, and a request computed again after the restart (from the last checkpoint) carries the same vector.
  it.each([
    { guarantee: 'exactly_once' as const, boundMs: 500 },
    { guarantee: 'at_least_once' as const, boundMs: 0 },
  ])(
    'loses nothing when Kafka is SIGKILLed and restarted: $guarantee, reorder bound $boundMs ms',
    async ({ guarantee, boundMs }) => {
      const once = guarantee === 'exactly_once';
      const t = await freshTopics(kafka);
      const decisions = randomName('decisions');
      const config = detectorConfig(
        t,
        { pepper: PEPPER, group: randomName('detector'), boundMs, exact: true },
        {
          scoring: {
            bundle: join(ROOT, 'models/bundles/default'),
            topic: decisions,
            shadow_topic: `${decisions}.shadow`,
            write_allow: true,
          },
        },
      );
      const d = startDetectorProcess(
        { ...config, features: { ...config.features, guarantee } },
        { VIGIL_PEPPER__SECRET: PEPPER },
      );
      detector = d;
      onTestFailed(async () => {
        // The client's connection errors while the broker is down would fill the tail: they are counted instead.
        const lines = d.output().split('\n');
        const refused = lines.filter((l) => l.includes('ECONNREFUSED'));
        const rest = lines.filter((l) => !l.includes('ECONNREFUSED') && !l.includes('feature state restored'));
        console.log(
          `--- detector (${refused.length} connection-refused lines left out) ---\n${rest.join('\n').slice(-12_000)}\n` +
            `--- its counters ---\n${await serviceCounters(d)}`,
        );
      });
      await waitFor('the detector', async () => {
        d.assertAlive();
        return d.output().includes('decision stage started') && d.output().includes('detector started');
      });

      const traffic = generateTraffic({ seed: 21, customers: 200, start: Date.now() - 10 * 60_000, meanGapMs: 100 });
      const requests = Array.from({ length: 3000 }, () => traffic.next().value as SimRequest);
      producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { retries: 100, maxRetryTime: 2000 },
      });
      await producer.connect();
      const p = producer;
      const sendAll = async (rs: SimRequest[]) => {
        for (let i = 0; i < rs.length; i += 100) {
          const messages = rs
            .slice(i, i + 100)
            .map((r) => ({ key: r.requestId, value: JSON.stringify(renderRecord('kong', r, 'claims')) }));
          // The producer's own retries ride out the outage; a send that still fails is sent again (idempotent).
          // Keyed, so that a retry puts each line on the partition of its first try: kafkajs partitions a keyless
          // message anew (round-robin) on every retry, and a batch the broker kept before it died would then come
          // back as other batches with the same sequence numbers: OUT_OF_ORDER_SEQUENCE_NUMBER on every later send.
          await waitFor('a send', () => p.send({ topic: t.input, acks: -1, messages }).then(() => true), 120_000, 500);
        }
      };
      // A third before the crash, a third while the broker is down (the producer waits), a third after.
      await sendAll(requests.slice(0, 1000));
      await sleep(1500);
      kafkaControl('kill');
      const killedAt = Date.now();
      const during = sendAll(requests.slice(1000, 2000));
      await sleep(5000);
      d.assertAlive();
      kafkaControl('restart');
      const downMs = Date.now() - killedAt;
      await during;
      await sendAll(requests.slice(2000));
      // Later traffic moves event time on past the last requests (the reorder bound).
      const tail = Array.from({ length: 200 }, () => traffic.next().value as SimRequest);
      await sendAll(tail);

      const ids = new Set(requests.map((r) => r.requestId));
      const fresh = kafkaClient();
      // Every request seen, and then nothing more for 3 s: a repeat that comes after the last first copy counts too.
      const features = await readTopic(
        fresh,
        t.features,
        (v) => {
          d.assertAlive();
          return (
            new Set(v.map((x) => (JSON.parse(x.value) as FeatureRecord).request_id).filter((id) => ids.has(id))).size >=
            ids.size
          );
        },
        180_000,
        3000,
      );
      const featureIds = features
        .map((x) => (JSON.parse(x.value) as FeatureRecord).request_id)
        .filter((id) => ids.has(id));
      expect(new Set(featureIds).size).toBe(ids.size);
      if (once) {
        if (featureIds.length !== ids.size) console.log(`repeated feature records:\n${repeated(features).join('\n')}`);
        expect(featureIds.length).toBe(ids.size); // exactly once: no repeats across the crash
      } else {
        // At least once: a repeat is the same computation again, from the same restored state.
        const first = new Map<string, FeatureRecord>();
        for (const x of features) {
          const f = JSON.parse(x.value) as FeatureRecord;
          if (!ids.has(f.request_id)) continue;
          const seen = first.get(f.request_id);
          if (seen) expect(f.v, `${f.request_id}'s repeat`).toEqual(seen.v);
          else first.set(f.request_id, f);
        }
      }

      const decided = await readTopic(
        fresh,
        decisions,
        (v) =>
          new Set(v.map((x) => (JSON.parse(x.value) as Decision).request_id).filter((id) => ids.has(id))).size >=
          ids.size,
        120_000,
      );
      const byId = new Map<string, Decision[]>();
      for (const x of decided) {
        const dec = JSON.parse(x.value) as Decision;
        if (!ids.has(dec.request_id)) continue;
        byId.set(dec.request_id, [...(byId.get(dec.request_id) ?? []), dec]);
      }
      expect(byId.size).toBe(ids.size);
      let repeats = 0;
      for (const list of byId.values()) {
        const [first, ...rest] = list as [Decision, ...Decision[]];
        for (const other of rest) {
          repeats++;
          expect({ ...other, decided_at: 0 }).toEqual({ ...first, decided_at: 0 });
        }
      }
      d.assertAlive();
      console.log(
        `broker SIGKILL (${guarantee}): down ${downMs} ms; ${ids.size} requests, ` +
          `${featureIds.length} feature records (0 lost, ${featureIds.length - ids.size} repeated, each equal to its ` +
          'first), ' +
          `${decided.length} decision records for them (${repeats} repeats, ` +
          'each equal to its first); the detector stayed up',
      );
    },
    420_000,
  );
});

/** Each request id with more than one feature record: where each copy was read, its Kafka time and vector's sum. */
function repeated(records: TopicRecord[]): string[] {
  const byId = new Map<string, string[]>();
  for (const r of records) {
    const f = JSON.parse(r.value) as FeatureRecord;
    const copy = `${r.at} t=${r.timestamp} ts=${f.ts} sum=${f.v.reduce((a, b) => a + b, 0).toFixed(3)}`;
    byId.set(f.request_id, [...(byId.get(f.request_id) ?? []), copy]);
  }
  return [...byId].filter(([, copies]) => copies.length > 1).map(([id, copies]) => `${id}: ${copies.join(' | ')}`);
}
