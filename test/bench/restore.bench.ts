// Restore time of the feature stage's state after a restart, on a real broker: one keyed partition holding N
// principals (one request each, each with its own IP and token — the worst case per principal) is checkpointed to
// a compacted changelog partition the way the detector does it, then read back and rebuilt into a fresh task.
// Peer, same run: reading the same changelog without rebuilding anything (the Kafka read alone).
// Run: npm run bench:restore [-- --principals N]   (starts Kafka itself via test/infra/with-services.sh)
import { chunkMessages, createKafka, ensureTopics, kafkaConnectionSchema, readChangelog, SOURCE_HEADER, type SourceRecord } from '@vigil/connectors';
import { type AccessEvent, principalKey } from '@vigil/events';
import { FeatureExtractor, FeaturePartitionTask, MmdbGeoLookup } from '@vigil/features';

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const PRINCIPALS = flag('--principals', 1_000_000);
const CHECKPOINT_EVERY = 50_000;
const brokers = process.env.KAFKA_BROKERS;
if (!brokers) throw new Error('KAFKA_BROKERS is not set: run through test/infra/with-services.sh (npm run bench:restore does)');

const geo = MmdbGeoLookup.bundled();
const kafka = createKafka(kafkaConnectionSchema.parse({ brokers: brokers.split(',') }));
const topic = `bench-restore-${Date.now()}`;
await ensureTopics(kafka, [{ topic, partitions: 1, compacted: true }]);
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();

const start = Date.UTC(2026, 10, 2);
const event = (i: number): AccessEvent => {
  const ip = `81.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return {
    ts: start + i,
    request_id: `r-${i}`,
    gateway: 'canonical',
    method: 'GET',
    path: `/v1/accounts/${i}`,
    route: '/v1/accounts/{id}',
    object_ids: [String(i)],
    query_keys: [],
    status: 200,
    client_ip: ip,
    user_agent: 'VigilBank/5.2 (Android 15)',
    principal: { sub: `p-${i}`, token_fingerprint: `v1:${i.toString(16).padStart(64, '0')}`, client_ip: ip },
  };
};

let task: FeaturePartitionTask | undefined = new FeaturePartitionTask(FeatureExtractor.standard(geo), 2000);
let records = 0;
let bytes = 0;
let t0 = performance.now();
for (let from = 0; from < PRINCIPALS; from += CHECKPOINT_EVERY) {
  const batch: SourceRecord[] = [];
  for (let i = from; i < Math.min(PRINCIPALS, from + CHECKPOINT_EVERY); i++) {
    const e = event(i);
    batch.push({
      value: Buffer.from(JSON.stringify(e)),
      key: Buffer.from(principalKey(e)),
      headers: { [SOURCE_HEADER]: `raw/0/${i}/0` },
      position: { offset: String(i) },
    });
  }
  task.process(batch);
  const changes = task.drainChanges();
  records += changes.length;
  const messages = changes.map(([key, value]) => {
    bytes += key.length + (value?.length ?? 0);
    return { key, value, partition: 0 };
  });
  for (const chunk of chunkMessages(messages)) await producer.send({ topic, acks: -1, messages: chunk });
}
const checkpointSeconds = (performance.now() - t0) / 1000;
const held = task.held;
task = undefined;
await producer.disconnect();
(globalThis as { gc?: () => void }).gc?.();

t0 = performance.now();
const raw = await readChangelog(kafka, topic, [0]);
const readOnlySeconds = (performance.now() - t0) / 1000;
const rawKeys = raw.get(0)?.size ?? 0;
raw.clear();
(globalThis as { gc?: () => void }).gc?.();

t0 = performance.now();
const state = (await readChangelog(kafka, topic, [0])).get(0) ?? new Map();
const restored = new FeaturePartitionTask(FeatureExtractor.standard(geo), 2000);
restored.restore(state.entries());
const restoreSeconds = (performance.now() - t0) / 1000;
if (restored.held !== held) throw new Error(`restored ${restored.held} held events, expected ${held}`);

const admin = kafka.admin();
await admin.connect();
await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
await admin.disconnect();

console.log(
  `principals: ${PRINCIPALS.toLocaleString('en')} in one partition; changelog: ${records.toLocaleString('en')} records written, ${rawKeys.toLocaleString('en')} keys, ${(bytes / 2 ** 20).toFixed(0)} MiB (${Math.round(bytes / PRINCIPALS)} bytes per principal)`,
);
console.log(`checkpointing while processing (extract + drain + produce): ${checkpointSeconds.toFixed(1)} s`);
console.log(`peer: read the changelog partition only                     ${readOnlySeconds.toFixed(1)} s`);
console.log(
  `restore (read + rebuild every store and held event)          ${restoreSeconds.toFixed(1)} s  (${Math.round(PRINCIPALS / restoreSeconds).toLocaleString('en')} principals/s)`,
);
console.log(`ratio restore / read-only: ${(restoreSeconds / readOnlySeconds).toFixed(2)}`);
process.exit(0);
