// Kafka → vigil detect → keyed topic + DLQ + ClickHouse, end to end on the real broker and server, against a plain
// kafkajs consumer group reading the same topic (the peer: the cost of consumption alone).
// Run: npm run bench:pipeline [-- --events N] [--guarantee exactly_once|at_least_once]
// (starts Kafka and ClickHouse itself, like the integration tests)
import { createClient } from '@clickhouse/client';
import { detectorConfigSchema, startDetector } from '@vigil/detector';
import { parseConfig } from '@vigil/runtime';
import { generateTraffic, renderRecord } from '@vigil/simulator';
import { Kafka, logLevel } from 'kafkajs';

const arg = process.argv.indexOf('--events');
const N = arg > 0 ? Number(process.argv[arg + 1]) : 200_000;
// The feature stages' delivery guarantee (features.guarantee): exactly_once (the default) or at_least_once.
const guaranteeArg = process.argv.indexOf('--guarantee');
const guarantee = guaranteeArg > 0 ? (process.argv[guaranteeArg + 1] as string) : 'exactly_once';
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const chUrl = process.env.CLICKHOUSE_URL;
if (!brokers[0] || !chUrl) throw new Error('run through test/infra/with-services.sh (npm run bench:pipeline)');

const suffix = Date.now().toString(36);
const topic = `bench_in_${suffix}`;
const kafka = new Kafka({ brokers, clientId: 'bench', logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 6 }] });

const traffic = generateTraffic({ seed: 3, customers: 20_000, start: Date.now() - 60_000, meanGapMs: 0.2 });
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
let t0 = performance.now();
for (let sent = 0; sent < N; ) {
  const chunk = Math.min(5000, N - sent);
  const messages = Array.from({ length: chunk }, () => ({ value: JSON.stringify(renderRecord('kong', traffic.next().value as never)) }));
  await producer.send({ topic, acks: -1, messages });
  sent += chunk;
}
const produceSeconds = (performance.now() - t0) / 1000;
await producer.disconnect();

// Peer: consume everything, parse nothing.
const peer = kafka.consumer({ groupId: `bench_peer_${suffix}`, maxWaitTimeInMs: 50 });
await peer.connect();
await peer.subscribe({ topic, fromBeginning: true });
let consumed = 0;
t0 = performance.now();
const peerDone = new Promise<void>((resolve) => {
  void peer.run({
    eachBatch: async ({ batch }) => {
      consumed += batch.messages.length;
      if (consumed >= N) resolve();
    },
  });
});
await peerDone;
const peerSeconds = (performance.now() - t0) / 1000;
await peer.disconnect();

const prefix = `bench_${suffix}_`;
const config = parseConfig(detectorConfigSchema, {
  format: 'kong',
  pepper: { secret: 'bench-pepper-0123456789abcdef0123456789' },
  kafka: { brokers },
  consumer: { group_id: `bench_vigil_${suffix}`, topics: [topic] },
  topics: { keyed: `bench_keyed_${suffix}`, dead_letter: `bench_dlq_${suffix}`, partitions: 6 },
  clickhouse: { url: chUrl, table_prefix: prefix },
  telemetry: { port: 0 },
  features: { guarantee },
});
const ch = createClient({ url: chUrl });
t0 = performance.now();
const detector = await startDetector(config);
for (;;) {
  const rows = await (await ch.query({ query: `SELECT count() AS n FROM ${prefix}access_events`, format: 'JSONEachRow' }))
    .json<{ n: string }>()
    .catch(() => []);
  if (Number(rows[0]?.n ?? 0) >= N) break;
  await new Promise((r) => setTimeout(r, 100));
}
const vigilSeconds = (performance.now() - t0) / 1000;
await detector.stop();
for (const t of ['access_events', 'features', 'decisions', 'revocations', 'alerts', 'labels', 'schema_migrations']) {
  await ch.command({ query: `DROP TABLE IF EXISTS ${prefix}${t}` });
}
await ch.close();
await admin.deleteTopics({ topics: [topic, config.topics.keyed, config.topics.dead_letter] }).catch(() => undefined);
await admin.disconnect();

const rate = (s: number) => Math.round(N / s).toLocaleString('en');
console.log(`records: ${N} kong (bearer tokens), 6 partitions, one detector instance (feature stages ${guarantee}), Kafka and ClickHouse on loopback`);
console.log(`produce (kafkajs, acks=all, idempotent)        ${rate(produceSeconds)} rec/s`);
console.log(`peer: kafkajs consumer group, no processing     ${rate(peerSeconds)} rec/s`);
console.log(`vigil detect: parse, keyed topic, DLQ, ClickHouse ${rate(vigilSeconds)} rec/s (start-up included)`);
console.log(`ratio vigil / peer: ${(peerSeconds / vigilSeconds).toFixed(2)}`);
process.exit(0);
