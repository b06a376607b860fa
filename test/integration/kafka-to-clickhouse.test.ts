// End to end on a real Kafka broker and a real ClickHouse server: mixed good and bad records in five formats go
// through `vigil detect`. Every good record lands in ClickHouse exactly once and on the keyed topic; every bad one
// lands in the dead-letter topic with its reason — also when the detector is SIGKILLed mid-stream and restarted,
// and while ClickHouse is stopped for a while and started again. No raw token reaches any output.
import { createHmac } from 'node:crypto';
import { accessEventCodec, type DeadLetter, type GatewayFormat, principalKey } from '@vigil/events';
import { KIND_HEADER } from '@vigil/features';
import { generateTraffic, renderRecord } from '@vigil/simulator';
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import {
  clickhouseClient,
  clickhouseControl,
  clickhouseCount,
  type DetectorProcess,
  kafkaClient,
  randomName,
  readTopic,
  requiredEnv,
  startDetectorProcess,
  waitFor,
} from '../support/services.js';

const FORMATS: GatewayFormat[] = ['kong', 'envoy', 'nginx', 'haproxy', 'canonical'];
const GOOD_PER_FORMAT: Record<GatewayFormat, number> = {
  kong: 4000,
  envoy: 1000,
  nginx: 1000,
  haproxy: 1000,
  canonical: 1000,
};
const PEPPER = 'integration-test-pepper-0123456789abcdef';

interface Input {
  topic: string;
  format: GatewayFormat;
  value: Buffer;
  good?: string; // request id
  bad?: { marker: string; reason: string };
  token?: string;
  /** W3C trace id sent in a traceparent header, to be found again on the keyed topic. */
  traceId?: string;
}

const TIME_FIELD: Record<GatewayFormat, [string, unknown]> = {
  kong: ['started_at', Date.UTC(1990, 0, 1)],
  envoy: ['start_time', '1990-01-01T00:00:00Z'],
  nginx: ['time_iso8601', '1990-01-01T00:00:00+00:00'],
  haproxy: ['ts', Date.UTC(1990, 0, 1)],
  canonical: ['ts', Date.UTC(1990, 0, 1)],
};

function badRecords(format: GatewayFormat, topic: string, sample: Record<string, unknown>, i: number): Input[] {
  const m = (kind: string) => `bad-${format}-${kind}-${i}`;
  const token = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsZWFrIn0.${'s'.repeat(20)}${i}${format}`;
  const [timeKey, oldTime] = TIME_FIELD[format];
  const bad = (marker: string, reason: string, value: Buffer | string, tok?: string): Input => ({
    topic,
    format,
    value: Buffer.isBuffer(value) ? value : Buffer.from(value),
    bad: { marker, reason },
    ...(tok ? { token: tok } : {}),
  });
  return [
    bad(m('json'), 'invalid_json', `{"marker":"${m('json')}","authorization":"Bearer ${token}","x":`, token),
    bad(
      m('missing'),
      'missing_field',
      JSON.stringify({ marker: m('missing'), authorization: `Bearer ${token}` }),
      token,
    ),
    bad(m('proto'), 'forbidden_key', `{"marker":"${m('proto')}","__proto__":{"admin":true}}`),
    bad(m('array'), 'not_an_object', JSON.stringify([m('array')])),
    bad(
      m('utf8'),
      'invalid_utf8',
      Buffer.concat([Buffer.from(`{"marker":"${m('utf8')}","x":"`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    ),
    bad(m('old'), 'timestamp_out_of_range', JSON.stringify({ ...sample, [timeKey]: oldTime, marker: m('old') })),
    bad(m('large'), 'too_large', JSON.stringify({ marker: m('large'), pad: 'x'.repeat(150_000) })),
    // One request can make a record thousands of levels deep (an attacker's body or query): dead-lettered, not fatal.
    bad(m('deep'), 'too_deep', `{"marker":"${m('deep')}","x":${'{"\\u0061":'.repeat(4000)}1${'}'.repeat(4000)}}`),
    bad(
      m('keys'),
      'missing_field',
      JSON.stringify({
        marker: m('keys'),
        request: { headers: { 'x-api-key': [token, token], cookie: [`sid=${token}`] } },
      }),
      token,
    ),
  ];
}

function buildInputs(topics: Record<GatewayFormat, string>): Input[] {
  const all: Input[] = [];
  FORMATS.forEach((format, f) => {
    const traffic = generateTraffic({ seed: 100 + f, customers: 300, start: Date.now() - 120_000, meanGapMs: 10 });
    const topic = topics[format];
    for (let i = 0; i < GOOD_PER_FORMAT[format]; i++) {
      const r = traffic.next().value;
      if (!r) throw new Error('traffic ended');
      const record = renderRecord(format, r, i % 2 === 0 ? 'bearer' : 'claims');
      all.push({
        topic,
        format,
        value: Buffer.from(JSON.stringify(record)),
        good: r.requestId,
        ...(r.token ? { token: r.token } : {}),
        ...(i % 250 === 0 ? { traceId: `${f}${i}`.padStart(32, 'a') } : {}),
      });
      if (i % 200 === 100) all.push(...badRecords(format, topic, record, i));
    }
  });
  return all;
}

async function produce(producer: Producer, inputs: Input[]) {
  const byTopic = new Map<string, Input[]>();
  for (const input of inputs) byTopic.set(input.topic, [...(byTopic.get(input.topic) ?? []), input]);
  for (const [topic, list] of byTopic) {
    for (let i = 0; i < list.length; i += 500) {
      // No key, like rsyslog or Kong's kafka-log: the detector re-keys.
      await producer.send({
        topic,
        acks: -1,
        messages: list.slice(i, i + 500).map((x) => ({
          value: x.value,
          headers: x.traceId ? { traceparent: `00-${x.traceId}-00f067aa0ba902b7-01` } : {},
        })),
      });
    }
  }
}

describe('Kafka → detector → ClickHouse, keyed topic and dead-letter topic', () => {
  const kafka: Kafka = kafkaClient();
  const ch = clickhouseClient();
  const prefix = `${randomName('t')}_`;
  const topics = Object.fromEntries(FORMATS.map((f) => [f, randomName(`in_${f}`)])) as Record<GatewayFormat, string>;
  const keyed = randomName('keyed');
  const dlq = randomName('dlq');
  const featuresTopic = randomName('features');
  const entities = randomName('entities');
  const group = randomName('detector');
  let producer: Producer;
  const running: DetectorProcess[] = [];

  const config = {
    format: 'kong',
    topic_formats: Object.fromEntries(FORMATS.map((f) => [topics[f], f])),
    pepper: { secret: PEPPER },
    kafka: { brokers: requiredEnv('KAFKA_BROKERS').split(',') },
    // Small fetches keep the run long enough to kill it mid-stream; a short session lets the restarted
    // instance take over the killed one's partitions quickly.
    consumer: {
      group_id: group,
      topics: Object.values(topics),
      max_bytes_per_partition: 4096,
      session_timeout_ms: 6000,
      heartbeat_interval_ms: 1000,
      commit_interval_ms: 200,
    },
    topics: { keyed, entities, dead_letter: dlq, partitions: 3 },
    features: { topic: featuresTopic },
    clickhouse: {
      url: requiredEnv('CLICKHOUSE_URL'),
      table_prefix: prefix,
      batch_max_age_ms: 200,
      batch_max_rows: 2000,
    },
    adapter: { max_record_bytes: 100_000 },
    telemetry: { port: 0, trace_one_in: 50 },
  };
  const table = `${prefix}access_events`;

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: Object.values(topics).map((topic) => ({ topic, numPartitions: 3 })),
    });
    await admin.disconnect();
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
  });

  afterAll(async () => {
    for (const d of running) d.child.kill('SIGKILL');
    await producer?.disconnect();
    for (const t of [
      'access_events',
      'features',
      'decisions',
      'revocations',
      'alerts',
      'labels',
      'schema_migrations',
    ]) {
      await ch.command({ query: `DROP TABLE IF EXISTS ${prefix}${t}` }).catch(() => undefined);
    }
    await ch.close();
    const admin = kafka.admin();
    await admin.connect();
    await admin
      .deleteTopics({ topics: [...Object.values(topics), keyed, entities, dlq, featuresTopic] })
      .catch(() => undefined);
    await admin.disconnect();
  });

  it(
    'delivers every good record once and dead-letters ' + 'every bad one, across SIGKILL and a ClickHouse outage',
    async () => {
      onTestFailed(() => {
        for (const [i, d] of running.entries())
          console.log(`--- detector ${i + 1} output ---\n${d.output().slice(-4000)}`);
      });
      const inputs = buildInputs(topics);
      const good = inputs.filter((x) => x.good !== undefined);
      const bad = inputs.filter((x) => x.bad !== undefined);
      const cut = Math.floor(inputs.length * 0.6);
      await produce(producer, inputs.slice(0, cut));
      const goodInFirstPart = inputs.slice(0, cut).filter((x) => x.good).length;

      // 1. First instance; SIGKILL it mid-stream.
      const first = startDetectorProcess(config);
      running.push(first);
      const countAtKill = await waitFor(
        'the first rows in ClickHouse',
        async () => {
          first.assertAlive();
          const n = await clickhouseCount(ch, `SELECT count() AS n FROM ${table}`).catch(() => 0);
          return n >= good.length * 0.1 ? n : false;
        },
        90_000,
        50,
      );
      first.child.kill('SIGKILL');
      await first.exited;
      expect(countAtKill).toBeLessThan(goodInFirstPart);

      // 2. A new instance takes over from the committed offsets.
      const second = startDetectorProcess(config);
      running.push(second);
      await waitFor(
        'the first part in ClickHouse',
        async () => {
          second.assertAlive();
          return (await clickhouseCount(ch, `SELECT uniqExact(request_id) AS n FROM ${table}`)) >= goodInFirstPart;
        },
        120_000,
      );

      // 3. ClickHouse goes away while the rest arrives: consumption must pause, not drop or commit past it.
      clickhouseControl('stop');
      await produce(producer, inputs.slice(cut));
      await new Promise((r) => setTimeout(r, 6000));
      const admin = kafka.admin();
      await admin.connect();
      let committed = 0;
      let end = 0;
      for (const topic of Object.values(topics)) {
        const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        committed += (offsets?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
        end += (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
      }
      await admin.disconnect();
      expect(committed).toBeLessThan(end);
      expect(second.child.exitCode).toBeNull();
      clickhouseControl('restart');

      // 4. Everything arrives, each good record exactly once.
      await waitFor(
        'every good record in ClickHouse',
        async () => {
          second.assertAlive();
          return (await clickhouseCount(ch, `SELECT count() AS n FROM ${table} FINAL`)) >= good.length;
        },
        180_000,
        500,
      );
      const rows = await (
        await ch.query({ query: `SELECT gateway, request_id FROM ${table} FINAL`, format: 'JSONEachRow' })
      ).json<{
        gateway: string;
        request_id: string;
      }>();
      expect(rows.length).toBe(good.length);
      expect(new Set(rows.map((r) => `${r.gateway}/${r.request_id}`))).toEqual(
        new Set(good.map((g) => `${g.format}/${g.good}`)),
      );

      // 5. Every bad record is in the dead-letter topic with its reason; no raw token anywhere.
      const dead = await readTopic(kafka, dlq, (v) => new Set(v.map((x) => x.value)).size >= bad.length);
      // Dead letters keep no raw value: a record is found by the HMAC of its marker (kept in its redacted structure)
      // or, for one with no structure to keep, the HMAC of its bytes — what an operator holding the pepper can do.
      const hmac = (data: string | Buffer) => `v1:${createHmac('sha256', PEPPER).update(data).digest('hex')}`;
      for (const b of bad) {
        const marks = [hmac(b.bad?.marker ?? ''), hmac(b.value)];
        const found = dead.find((x) => marks.some((mark) => x.value.includes(mark)));
        const d = found ? (JSON.parse(found.value) as DeadLetter) : undefined;
        expect(d, `dead letter for ${b.bad?.marker}`).toBeDefined();
        expect(d?.original_mode).toBe('redacted');
        expect(d?.reason).toBe(b.bad?.reason);
        expect(d?.source.topic).toBe(b.topic);
      }
      // The keyed topic also carries the entity stage's parts for the principal stage to join (header vigil-kind).
      const isEvent = (x: { headers: Record<string, string> }) => x.headers[KIND_HEADER] === undefined;
      const events = (
        await readTopic(
          kafka,
          keyed,
          (v) => new Set(v.filter(isEvent).map((x) => accessEventCodec.decode(x.bytes).request_id)).size >= good.length,
        )
      ).filter(isEvent);
      // vigil's own topics carry its binary codec: every event on it reads back whole.
      for (const { key, bytes } of events) expect(key).toBe(principalKey(accessEventCodec.decode(bytes)));
      // At-least-once: what the killed instance had produced but not committed was produced again by its successor.
      console.log(
        `keyed topic: ${events.length} records for ${good.length} events ` +
          `(${events.length - good.length} redelivered); ClickHouse: ${rows.length} rows under FINAL`,
      );
      // The trace that started at the gateway goes on with the keyed event (a new span id, the same trace id).
      const traced = inputs.filter((x) => x.traceId);
      expect(traced.length).toBeGreaterThan(10);
      for (const x of traced) {
        const out = events.find((e) => accessEventCodec.decode(e.bytes).request_id === x.good);
        expect(out?.headers.traceparent).toMatch(new RegExp(`^00-${x.traceId}-[0-9a-f]{16}-01$`));
      }
      const everything = dead.map((d) => d.value).join('\n') + events.map((e) => e.value).join('\n');
      for (const x of inputs) if (x.token) expect(everything.includes(x.token)).toBe(false);

      // 6. A graceful stop exits cleanly.
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    },
  );
});
