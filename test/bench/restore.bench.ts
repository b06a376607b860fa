// Restore time of the feature stages' state after a restart, on a real broker: one principal partition holding N
// principals (one request each, each with its own IP and token — the worst case per principal) and one entity
// partition holding their N IPs are checkpointed to compacted changelog partitions the way the detector does it
// (the entity task's parts joined by the principal task), then read back and rebuilt into fresh tasks.
// Peer, same run: reading the same changelog without rebuilding anything (the Kafka read alone).
// Run: npm run bench:restore [-- --principals N]   (starts Kafka itself via test/infra/with-services.sh)
import {
  ChangelogSegments,
  chunkMessages,
  createKafka,
  ensureTopics,
  kafkaConnectionSchema,
  readChangelog,
  SOURCE_HEADER,
  type SourceRecord,
  type StatefulTask,
} from '@vigil/connectors';
import { type AccessEvent, accessEventCodec, principalKey } from '@vigil/events';
import {
  ENTITY_ROLES,
  EntityFeatureTask,
  entityKeys,
  entityPartCodec,
  FeatureExtractor,
  MmdbGeoLookup,
  PrincipalFeatureTask,
  ROLE_HEADER,
} from '@vigil/features';

const partCodec = entityPartCodec(new Set(ENTITY_ROLES));

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const PRINCIPALS = flag('--principals', 1_000_000);
const CHECKPOINT_EVERY = 50_000;
const brokers = process.env.KAFKA_BROKERS;
if (!brokers)
  throw new Error('KAFKA_BROKERS is not set: run through test/infra/with-services.sh (npm run bench:restore does)');

const geo = MmdbGeoLookup.bundled();
const kafka = createKafka(kafkaConnectionSchema.parse({ brokers: brokers.split(',') }));
const topics = { principal: `bench-restore-principal-${Date.now()}`, entity: `bench-restore-entity-${Date.now()}` };
await ensureTopics(kafka, [
  { topic: topics.principal, partitions: 1, compacted: true },
  { topic: topics.entity, partitions: 1, compacted: true },
]);
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

const makePrincipal = () => new PrincipalFeatureTask(FeatureExtractor.standard(geo), 2000);
const makeEntity = () => new EntityFeatureTask(FeatureExtractor.standard(geo), 2000);
let principal: PrincipalFeatureTask | undefined = makePrincipal();
let entity: EntityFeatureTask | undefined = makeEntity();
const written = { principal: { records: 0, bytes: 0 }, entity: { records: 0, bytes: 0 } };
let emitted = 0;

/** The changelog as the detector writes it: key groups packed into segments (changelog-segments.ts). */
const segments = { principal: new ChangelogSegments(), entity: new ChangelogSegments() };

async function checkpoint(which: 'principal' | 'entity', task: StatefulTask<unknown>) {
  const messages = segments[which].write(task.drainChanges(), task.packedState).map(([key, value]) => {
    written[which].records++;
    written[which].bytes += key.length + (value?.length ?? 0);
    return { key, value, partition: 0 };
  });
  for (const chunk of chunkMessages(messages)) await producer.send({ topic: topics[which], acks: -1, messages: chunk });
}

let t0 = performance.now();
for (let from = 0; from < PRINCIPALS; from += CHECKPOINT_EVERY) {
  const events: SourceRecord[] = [];
  const entityRecords: SourceRecord[] = [];
  for (let i = from; i < Math.min(PRINCIPALS, from + CHECKPOINT_EVERY); i++) {
    const e = event(i);
    // In the topics' codecs, as the detector writes them.
    const value = accessEventCodec.encode(e) as Buffer;
    events.push({
      value,
      key: Buffer.from(principalKey(e)),
      headers: { [SOURCE_HEADER]: `raw/0/${i}/0` },
      position: {},
    });
    for (const [role, key] of entityKeys(e))
      entityRecords.push({
        value,
        key: Buffer.from(key),
        headers: { [SOURCE_HEADER]: `raw/0/${i}/0`, [ROLE_HEADER]: role },
        position: {},
      });
  }
  const parts = entity.process(entityRecords).map((p) => ({
    value: partCodec.encode(p.value) as Buffer,
    key: Buffer.from(p.key as string),
    headers: p.headers ?? {},
    position: {},
  }));
  emitted += principal.process([...events, ...parts]).length;
  await checkpoint('entity', entity);
  await checkpoint('principal', principal);
}
const checkpointSeconds = (performance.now() - t0) / 1000;
const held = { principal: principal.held, entity: entity.held, joins: principal.pendingJoins };
principal = undefined;
entity = undefined;
await producer.disconnect();
const gc = (globalThis as { gc?: () => void }).gc;

const figures: Record<string, { read: number; restore: number; keys: number }> = {};
for (const which of ['principal', 'entity'] as const) {
  gc?.();
  t0 = performance.now();
  const raw = await readChangelog(kafka, topics[which], [0]);
  const read = (performance.now() - t0) / 1000;
  raw.clear();
  gc?.();
  t0 = performance.now();
  const log = (await readChangelog(kafka, topics[which], [0])).get(0) ?? new Map<string, Buffer>();
  const task = which === 'principal' ? makePrincipal() : makeEntity();
  const { state } = ChangelogSegments.restore(log, task.packedState);
  const keys = state.length;
  task.restore(state);
  figures[which] = { read, restore: (performance.now() - t0) / 1000, keys };
  if (task.held !== held[which]) throw new Error(`restored ${task.held} held events, expected ${held[which]}`);
  if (task instanceof PrincipalFeatureTask && task.pendingJoins !== held.joins)
    throw new Error('restored joins differ');
}

const admin = kafka.admin();
await admin.connect();
await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
await admin.disconnect();

console.log(
  `${PRINCIPALS.toLocaleString('en')} principals (one request each, ` +
    `each with its own IP and token), ${emitted.toLocaleString('en')} feature records joined`,
);
console.log(
  `checkpointing both stages while processing (extract + join + drain + produce): ${checkpointSeconds.toFixed(1)} s`,
);
for (const which of ['principal', 'entity'] as const) {
  const w = written[which];
  const f = figures[which] as { read: number; restore: number; keys: number };
  console.log(
    `${which} partition: changelog ${w.records.toLocaleString('en')} records, ` +
      `${f.keys.toLocaleString('en')} keys, ${(w.bytes / 2 ** 20).toFixed(0)} MiB ` +
      `(${Math.round(w.bytes / PRINCIPALS)} bytes per principal)`,
  );
  console.log(`  peer: read the changelog partition only   ${f.read.toFixed(1)} s`);
  console.log(
    `  restore (read + rebuild)                  ${f.restore.toFixed(1)} s  ` +
      `(${Math.round(PRINCIPALS / f.restore).toLocaleString('en')} principals/s; ` +
      `ratio to read-only ${(f.restore / f.read).toFixed(2)})`,
  );
}
process.exit(0);
