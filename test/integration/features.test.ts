// The online feature stage on the real broker gives, for every request, the same principal-keyed features as the
// offline path (`vigil features` / FeatureStream) over the same log — although the log is written unkeyed to
// three partitions, re-keyed by the detector, and consumed partition by partition.
import { adapterFor } from '@vigil/adapters';
import type { AccessEvent } from '@vigil/events';
import { FeatureExtractor, type FeatureRecord, FeatureStream, MmdbGeoLookup } from '@vigil/features';
import { generateTraffic, renderRecord } from '@vigil/simulator';
import type { Kafka } from 'kafkajs';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { type DetectorProcess, kafkaClient, randomName, readTopic, requiredEnv, startDetectorProcess, waitFor } from '../support/services.js';

const PEPPER = 'features-integration-pepper-0123456789abcdef';
const BOUND_MS = 120_000;

function log(seed: number, customers: number, events: number, start: number): string[] {
  const traffic = generateTraffic({ seed, customers, start, meanGapMs: 20 });
  return Array.from({ length: events }, (_, i) => JSON.stringify(renderRecord('kong', traffic.next().value as never, i % 2 ? 'claims' : 'bearer')));
}

describe('feature stage on Kafka', () => {
  const kafka: Kafka = kafkaClient();
  const created: string[] = [];
  const detectors: DetectorProcess[] = [];

  afterAll(async () => {
    for (const d of detectors) d.child.kill('SIGKILL');
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: created }).catch(() => undefined);
    await admin.disconnect();
  });

  // Two instances split the keyed partitions between them; each partition's state lives with its owner, so the
  // principal-keyed features must not change. (Both join before traffic starts: moving a partition mid-stream
  // needs the state checkpoints that are still to come.)
  it.each([1, 2])('computes the same principal-keyed features online, with %i instance(s), as offline', async (instances) => {
    const input = randomName('in');
    const keyed = randomName('keyed');
    const dlq = randomName('dlq');
    const featuresTopic = randomName('features');
    const group = randomName('detector');
    created.push(input, keyed, dlq, featuresTopic);
    const mine: DetectorProcess[] = [];
    onTestFailed(() => {
      for (const d of mine) console.log(`--- detector output ---\n${d.output().slice(-4000)}`);
    });
    const start = Date.now() - 10 * 60_000;
    const main = log(21, 40, 3000, start);
    // Later traffic from many other principals moves every keyed partition's watermark past the main log, as live
    // traffic would; it is not compared.
    const tail = log(22, 400, 400, start + 5 * 60_000);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: input, numPartitions: 3 }] });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const produce = async (lines: string[]) => {
      for (let i = 0; i < lines.length; i += 500) {
        const messages = lines.slice(i, i + 500).map((value) => ({ value }));
        // A topic created a moment ago may not be known to every broker connection yet.
        await waitFor('the input topic', () => producer.send({ topic: input, acks: -1, messages }).then(() => true), 30_000);
      }
    };
    const lines = [...main, ...tail];
    for (let i = 0; i < instances; i++) {
      const d = startDetectorProcess({
        format: 'kong',
        pepper: { secret: PEPPER },
        kafka: { brokers: requiredEnv('KAFKA_BROKERS').split(',') },
        consumer: { group_id: group, topics: [input], session_timeout_ms: 6000, heartbeat_interval_ms: 1000 },
        topics: { keyed, dead_letter: dlq, partitions: 3 },
        features: { topic: featuresTopic, reorder_bound_ms: BOUND_MS },
        telemetry: { port: 0 },
      });
      mine.push(d);
      detectors.push(d);
    }
    const alive = () => {
      for (const d of mine) d.assertAlive();
    };

    // Offline: the same lines, the same adapter and pepper, one stream in file order.
    const adapter = adapterFor('kong', { pepper: { version: 1, secret: PEPPER } });
    const offline = new FeatureStream(FeatureExtractor.standard(MmdbGeoLookup.bundled()), BOUND_MS);
    const expected = new Map<string, Float64Array>();
    for (const line of lines) {
      for (const o of adapter.parse(line)) {
        if (!o.ok) throw new Error(o.detail);
        for (const row of offline.push(o.event as AccessEvent)) expected.set(row.event.request_id, row.vector);
      }
    }
    for (const row of offline.flush()) expected.set(row.event.request_id, row.vector);
    const mainIds = main.map((l) => (JSON.parse(l) as { request: { id: string } }).request.id);

    const watcher = kafka.admin();
    await watcher.connect();
    await waitFor('the detector to create its topics', async () => {
      alive();
      return (await watcher.listTopics()).includes(featuresTopic);
    });
    await waitFor('every instance in both consumer groups', async () => {
      alive();
      const { groups } = await watcher.describeGroups([group, `${group}.features`]);
      return groups.every((g) => g.state === 'Stable' && g.members.length === instances);
    });
    await produce(main);
    // The tail arrives after the main log has been re-keyed, as later traffic would in a live system; sent all at
    // once as a backlog, it could overtake main events by more than the reorder bound.
    await waitFor(
      'the main log on the keyed topic',
      async () => {
        alive();
        return (await watcher.fetchTopicOffsets(keyed)).reduce((n, p) => n + Number(p.high), 0) >= main.length;
      },
      120_000,
    );
    await produce(tail);
    await producer.disconnect();
    await watcher.disconnect();
    const records = await readTopic(
      kafka,
      featuresTopic,
      (v) => {
        alive();
        const seen = new Set(v.map((x) => (JSON.parse(x.value) as FeatureRecord).request_id));
        return mainIds.every((id) => seen.has(id));
      },
      60_000,
    );
    const online = new Map<string, FeatureRecord>();
    for (const r of records) {
      const f = JSON.parse(r.value) as FeatureRecord;
      if (!online.has(f.request_id)) online.set(f.request_id, f);
    }
    const schema = offline.extractor.schema;
    const exact = schema.principal_exact.map((n) => schema.names.indexOf(n));
    let nonzero = 0;
    for (const id of mainIds) {
      const got = online.get(id);
      const want = expected.get(id);
      expect(got?.schema).toBe(schema.hash);
      const pick = (v: ArrayLike<number>) => exact.map((i) => v[i] as number);
      expect(pick(got?.v ?? []), id).toEqual(pick(want ?? []));
      nonzero += pick(want ?? []).filter((x) => x !== 0).length;
    }
    expect(nonzero).toBeGreaterThan(mainIds.length * 4);
    console.log(`feature stage, ${instances} instance(s): ${mainIds.length} requests, ${exact.length} principal-exact features identical online and offline`);
  });
});
