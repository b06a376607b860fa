// The live path end to end on the real broker and ClickHouse: Kong records on an input topic → vigil detect (parse +
// HMAC, re-key, entity and principal features, the default bundle scoring every event, the policy) → a decision for
// every event on the decisions topic, with access events, feature records and decisions in ClickHouse. Beside it, in
// the same run, on the same broker and input: an Apache Kafka Streams application doing the same topology
// (test/bench/peers/kafka-streams), and the broker's own limit for this client (the rate the input was produced at).
// Run: npm run bench:pipeline [-- --events N] [--guarantee exactly_once|at_least_once] [--no-peer]
// (starts Kafka with its production flush settings and ClickHouse itself, like the integration tests)
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@clickhouse/client';
import { detectorConfigSchema, startDetector } from '@vigil/detector';
import { parseConfig } from '@vigil/runtime';
import { generateTraffic, renderRecord } from '@vigil/simulator';
import { Kafka, logLevel } from 'kafkajs';

const flag = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? (process.argv[i + 1] as string) : fallback;
};
const N = Number(flag('--events', '200000'));
const guarantee = flag('--guarantee', 'exactly_once') as 'exactly_once' | 'at_least_once';
const runPeer = !process.argv.includes('--no-peer');
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const chUrl = process.env.CLICKHOUSE_URL;
if (!brokers[0] || !chUrl) throw new Error('run through test/infra/with-services.sh (npm run bench:pipeline)');
const repo = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const PARTITIONS = 6;

const suffix = Date.now().toString(36);
const topic = `bench_in_${suffix}`;
const kafka = new Kafka({ brokers, clientId: 'bench', logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] });

// The input, produced before anything reads it: its rate is the broker's limit for one kafkajs producer here.
const traffic = generateTraffic({ seed: 3, customers: 20_000, start: Date.now() - 60_000, meanGapMs: 0.2 });
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
let t0 = performance.now();
for (let sent = 0; sent < N; ) {
  const chunk = Math.min(5000, N - sent);
  const messages = Array.from({ length: chunk }, () => ({
    value: JSON.stringify(renderRecord('kong', traffic.next().value as never)),
  }));
  await producer.send({ topic, acks: -1, messages });
  sent += chunk;
}
const produceSeconds = (performance.now() - t0) / 1000;
await producer.disconnect();

// The peer first, while nothing else runs: the same input, its own output topic.
let peerPerS: number | null = null;
if (runPeer) {
  const out = spawnSync(
    'bash',
    [
      join(repo, 'test/bench/peers/kafka-streams/run.sh'),
      '--brokers',
      brokers.join(','),
      '--input',
      topic,
      '--output',
      `bench_peer_out_${suffix}`,
      '--events',
      String(N),
      '--guarantee',
      guarantee,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 1_800_000 },
  );
  const last = out.stdout.trim().split('\n').at(-1) ?? '';
  try {
    peerPerS = Math.round((JSON.parse(last) as { events_per_s: number }).events_per_s);
  } catch {
    throw new Error(`the Kafka Streams peer printed no result (exit ${out.status}): ${out.stdout.slice(-2000)}`);
  }
}

const prefix = `bench_${suffix}_`;
const config = parseConfig(detectorConfigSchema, {
  format: 'kong',
  pepper: { secret: 'bench-pepper-0123456789abcdef0123456789' },
  kafka: { brokers },
  consumer: { group_id: `bench_vigil_${suffix}`, topics: [topic] },
  topics: {
    keyed: `bench_keyed_${suffix}`,
    entities: `bench_entities_${suffix}`,
    dead_letter: `bench_dlq_${suffix}`,
    partitions: PARTITIONS,
  },
  clickhouse: { url: chUrl, table_prefix: prefix },
  telemetry: { port: 0 },
  // idle_release: the input ends, so the reorder buffers' last events leave on the wall clock instead of waiting for
  // more.
  features: { guarantee, topic: `bench_features_${suffix}`, idle_release: true },
  scoring: {
    bundle: join(repo, 'models/bundles/default'),
    topic: `bench_decisions_${suffix}`,
    shadow_topic: `bench_decisions_${suffix}.shadow`,
    // A decision record for every event, allow included: the end point is the last event's decision.
    write_allow: true,
  },
});
const ch = createClient({ url: chUrl });
const count = async (table: string) => {
  const rows = await (await ch.query({ query: `SELECT count() AS n FROM ${prefix}${table}`, format: 'JSONEachRow' }))
    .json<{ n: string }>()
    .catch(() => []);
  return Number(rows[0]?.n ?? 0);
};
t0 = performance.now();
const detector = await startDetector(config);
const seen = { access_events: 0, features: 0, decisions: 0 };
// When each table had every event: where the time goes (ingest, the feature stages, the decision stage).
const doneAt: Record<string, number> = {};
for (;;) {
  for (const table of Object.keys(seen) as (keyof typeof seen)[]) {
    if (seen[table] >= N) continue;
    seen[table] = await count(table);
    if (seen[table] >= N) doneAt[table] = Number(((performance.now() - t0) / 1000).toFixed(1));
  }
  if (seen.access_events >= N && seen.features >= N && seen.decisions >= N) break;
  await new Promise((r) => setTimeout(r, 100));
}
const vigilSeconds = (performance.now() - t0) / 1000;
const rss = Math.round(process.memoryUsage().rss / 1e6);
await detector.stop();
for (const t of ['access_events', 'features', 'decisions', 'revocations', 'alerts', 'labels', 'schema_migrations']) {
  await ch.command({ query: `DROP TABLE IF EXISTS ${prefix}${t}` });
}
await ch.close();
const created = await admin.listTopics();
// Kafka records written per event on each of the run's topics (packed records count once): what the clients encode.
const recordsPerEvent: Record<string, number> = {};
for (const t of created.filter((name) => name.includes(suffix) && name !== topic)) {
  const offsets = await admin.fetchTopicOffsets(t);
  const n = offsets.reduce((sum, p) => sum + Number(p.high), 0);
  if (n > 0)
    recordsPerEvent[t.replace(`bench_vigil_${suffix}.`, '').replace(`_${suffix}`, '')] = Number((n / N).toFixed(3));
}
await admin.deleteTopics({ topics: created.filter((t) => t.includes(suffix)) }).catch(() => undefined);
await admin.disconnect();

const eventsPerS = Math.round(N / vigilSeconds);
const producePerS = Math.round(N / produceSeconds);
const fmt = (n: number) => n.toLocaleString('en');
console.log(
  `records: ${fmt(N)} Kong (bearer tokens), ${PARTITIONS} partitions; ` +
    'Kafka (production flush) and ClickHouse on the same 2 cores',
);
console.log(`input produced by kafkajs (acks=all, idempotent)   ${fmt(producePerS)} rec/s`);
if (peerPerS !== null) console.log(`Kafka Streams peer, same topology (${guarantee})     ${fmt(peerPerS)} events/s`);
console.log(
  `vigil detect, log line → decision + ClickHouse (${guarantee}) ` +
    `${fmt(eventsPerS)} events/s (start-up included), RSS ${rss} MB`,
);
if (peerPerS !== null) console.log(`ratio vigil / Kafka Streams: ${(eventsPerS / peerPerS).toFixed(2)}`);
console.log(
  JSON.stringify({
    events: N,
    events_per_s: eventsPerS,
    broker_produce_limit_per_s: producePerS,
    kafka_streams_peer_per_s: peerPerS,
    ratio_to_peer: peerPerS === null ? null : Number((eventsPerS / peerPerS).toFixed(2)),
    guarantee,
    rss_mb: rss,
    all_in_clickhouse_after_s: doneAt,
    kafka_records_per_event: recordsPerEvent,
  }),
);
process.exit(0);
