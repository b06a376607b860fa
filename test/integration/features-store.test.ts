// Feature records land in ClickHouse (the features table, idempotent by source position) and are training data read
// straight from there: the vectors read back equal the offline path's, and a bundle trains on them.
import { adapterFor } from '@vigil/adapters';
import { trainBundle } from '@vigil/bundle';
import type { AccessEvent } from '@vigil/events';
import { FeatureExtractor, FeatureStream, MmdbGeoLookup } from '@vigil/features';
import { generateTraffic, renderRecord, type SimRequest } from '@vigil/simulator';
import { readFeatureTable, TrainingSample } from '@vigil/train';
import type { Kafka } from 'kafkajs';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import {
  clickhouseClient,
  clickhouseCount,
  type DetectorProcess,
  deleteTopics,
  detectorConfig,
  freshTopics,
  kafkaClient,
  randomName,
  requiredEnv,
  startDetectorProcess,
  waitFor,
} from '../support/services.js';

const PEPPER = 'features-store-pepper-0123456789abcdef0123';
// Sent as a backlog over three partitions, ingest re-keys one partition's whole batch before the next, so events
// overtake each other by up to the log's span (60 s here); a bound wider than that keeps the online vectors equal to
// the offline ones (see features.test.ts).
const BOUND_MS = 120_000;

describe('features in ClickHouse', () => {
  const kafka: Kafka = kafkaClient();
  const ch = clickhouseClient();
  const topics: string[] = [];
  let detector: DetectorProcess | undefined;

  afterAll(async () => {
    detector?.child.kill('SIGKILL');
    await deleteTopics(kafka, topics);
    await ch.close();
  });

  it('stores every feature record once and trains a bundle from the table', async () => {
    const prefix = `${randomName('t')}_`;
    const t = await freshTopics(kafka);
    topics.push(...Object.values(t));
    detector = startDetectorProcess(
      detectorConfig(
        t,
        { pepper: PEPPER, group: randomName('detector'), boundMs: BOUND_MS, exact: true },
        {
          clickhouse: {
            url: requiredEnv('CLICKHOUSE_URL'),
            table_prefix: prefix,
            batch_max_age_ms: 200,
            batch_max_rows: 2000,
          },
        },
      ),
    );
    const d = detector;
    onTestFailed(() => console.log(`--- detector output ---\n${d.output().slice(-4000)}`));

    const start = Date.now() - 10 * 60_000;
    const traffic = generateTraffic({ seed: 31, customers: 200, start, meanGapMs: 20 });
    // Later traffic from other principals moves the watermark past the main log, as live traffic would.
    const tail = generateTraffic({ seed: 32, customers: 200, start: start + 5 * 60_000, meanGapMs: 20 });
    const requests = [
      ...Array.from({ length: 3000 }, () => traffic.next().value as SimRequest),
      ...Array.from({ length: 400 }, () => tail.next().value as SimRequest),
    ];
    const lines = requests.map((r) => JSON.stringify(renderRecord('kong', r, 'claims')));
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // A send retried after a partial failure (a topic created a moment ago) would duplicate records and change the
    // counts; warm the producer up with one malformed record (dead-lettered, no features) until the topic takes it.
    await waitFor(
      'the input topic',
      () => producer.send({ topic: t.input, acks: -1, messages: [{ value: 'warm-up, not JSON' }] }).then(() => true),
      60_000,
    );
    const send = async (part: string[]) => {
      for (let i = 0; i < part.length; i += 500) {
        await producer.send({ topic: t.input, acks: -1, messages: part.slice(i, i + 500).map((value) => ({ value })) });
      }
    };
    // The tail goes out once the main log is through ingest, as later traffic would; sent together, tail events could
    // reach a keyed partition before main ones and make those late.
    await send(lines.slice(0, 3000));
    await waitFor(
      'the main log through ingest',
      async () => {
        d.assertAlive();
        return (await clickhouseCount(ch, `SELECT count() AS n FROM ${prefix}access_events FINAL`)) >= 3000;
      },
      120_000,
    );
    await send(lines.slice(3000));
    await producer.disconnect();

    // The last BOUND_MS of event time stays in the reorder buffers; everything before it is stored.
    const offline = new FeatureStream(FeatureExtractor.standard(MmdbGeoLookup.bundled()), BOUND_MS);
    const expected = new Map<string, number[]>();
    const adapter = adapterFor('kong', { pepper: { version: 1, secret: PEPPER } });
    for (const line of lines)
      for (const o of adapter.parse(line))
        if (o.ok)
          for (const row of offline.push(o.event as AccessEvent))
            expected.set(row.event.request_id, Array.from(row.vector));
    const table = `${prefix}features`;
    await waitFor(
      'feature rows in ClickHouse',
      async () => {
        d.assertAlive();
        return (await clickhouseCount(ch, `SELECT count() AS n FROM ${table} FINAL`)) >= expected.size - 50;
      },
      120_000,
    );

    const schema = offline.extractor.schema;
    const sample = new TrainingSample({ maxRows: 10_000, holdoutShare: 0.2, seed: 0 });
    const seen = new Set<string>();
    let compared = 0;
    const n = await readFeatureTable(ch, { table, schemaHash: schema.hash }, (row) => {
      expect(seen.has(row.request_id), `${row.request_id} stored twice`).toBe(false);
      seen.add(row.request_id);
      const want = expected.get(row.request_id);
      if (want) {
        // ClickHouse 18.16's float parser is not always correctly rounded: a stored value can be one ulp off.
        expect(row.v.length).toBe(want.length);
        for (let i = 0; i < want.length; i++)
          expect(Math.abs((row.v[i] as number) - (want[i] as number))).toBeLessThanOrEqual(
            1e-12 * Math.max(1, Math.abs(want[i] as number)),
          );
        compared++;
      }
      sample.addVector(row.v, row.principal, row.ts);
    });
    expect(n).toBeGreaterThanOrEqual(expected.size - 50);
    expect(compared).toBeGreaterThanOrEqual(expected.size - 50);
    const { summary } = await trainBundle(sample.finish(schema), { trees: 50, autoencoder: { epochs: 3 } });
    expect(summary.rows).toBe(n);
    expect(summary.features).toBe(schema.names.length);
    await expect(
      readFeatureTable(ch, { table: `${table}; DROP TABLE x`, schemaHash: schema.hash }, () => {}),
    ).rejects.toThrow(/not a table name/);
    // An analyst's true-positive verdict keeps that request out of normal training data; a false positive does not.
    const [attack, benign] = [...seen].slice(0, 2) as [string, string];
    await ch.insert({
      table: `${prefix}labels`,
      values: [
        {
          day: '2026-11-28',
          ts: 1,
          request_id: attack,
          alert_id: '',
          verdict: 'true_positive',
          analyst: 'kim',
          note: '',
          ingested_at: 1,
        },
        {
          day: '2026-11-28',
          ts: 1,
          request_id: benign,
          alert_id: '',
          verdict: 'false_positive',
          analyst: 'kim',
          note: '',
          ingested_at: 1,
        },
      ],
      format: 'JSONEachRow',
    });
    const kept = new Set<string>();
    const m = await readFeatureTable(
      ch,
      { table, schemaHash: schema.hash, excludeLabelled: `${prefix}labels` },
      (row) => kept.add(row.request_id),
    );
    expect(m).toBe(n - 1);
    expect(kept.has(attack)).toBe(false);
    expect(kept.has(benign)).toBe(true);
    console.log(
      `features in ClickHouse: ${n} rows read back, ${compared} equal to the offline vectors, bundle trained on them`,
    );
  });
});
