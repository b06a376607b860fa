// The records on vigil's internal topics: the access event's binary codec against JSON (JSON.stringify to write,
// JSON.parse with the same field checks to read: what the topics carried before), over the same simulated events of
// every gateway format, one core; and the partition of each record's key (Kafka's murmur2) by kafkajs' default
// partitioner against vigil's own (@vigil/connectors' partitionerFor, murmur2.ts). Prints a table, then one JSON line.
// Run: npm run build && npm run bench:codec [-- --events N]
import { adapterFor } from '@vigil/adapters';
import { partitionerFor } from '@vigil/connectors';
import { type AccessEvent, accessEventCodec, decodeAccessEvent, GATEWAY_FORMATS, principalKey } from '@vigil/events';
import { generateTraffic, renderRecord } from '@vigil/simulator';
import { Partitioners } from 'kafkajs';

const arg = process.argv.indexOf('--events');
const N = arg > 0 ? Number(process.argv[arg + 1]) : 200_000;
const pepper = { version: 1, secret: 'bench-pepper-0123456789abcdef0123456789' };

const events: AccessEvent[] = [];
const traffic = generateTraffic({ seed: 11, customers: 5000, start: Date.UTC(2026, 10, 2), meanGapMs: 20 });
for (let i = 0; events.length < N; i++) {
  const format = GATEWAY_FORMATS[i % GATEWAY_FORMATS.length] as (typeof GATEWAY_FORMATS)[number];
  const line = Buffer.from(JSON.stringify(renderRecord(format, traffic.next().value as never, 'bearer')));
  for (const o of adapterFor(format, { pepper }).parse(line)) if (o.ok) events.push(o.event);
}

/** Best of three passes, seconds: the machine is shared, the fastest pass is the one least disturbed. */
function best(fn: () => void): number {
  let t = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    fn();
    t = Math.min(t, (performance.now() - t0) / 1000);
  }
  return t;
}

function measure(name: string, encode: (e: AccessEvent) => Buffer | string, decode: (b: Buffer) => AccessEvent) {
  const encoded = events.map((e) => {
    const v = encode(e);
    return typeof v === 'string' ? Buffer.from(v) : v;
  });
  let bytes = 0;
  for (const b of encoded) bytes += b.length;
  let sink = 0;
  const write = best(() => {
    for (const e of events) sink += encode(e).length;
  });
  const read = best(() => {
    for (const b of encoded) sink += decode(b).ts > 0 ? 1 : 0;
  });
  if (sink === 0) throw new Error('nothing measured');
  return { name, write_per_s: N / write, read_per_s: N / read, bytes_per_event: bytes / N };
}

const json = measure('JSON', (e) => JSON.stringify(e), decodeAccessEvent);
const binary = measure('binary v1', accessEventCodec.encode, accessEventCodec.decode);
for (const e of events.slice(0, 1000)) {
  if (JSON.stringify(accessEventCodec.decode(accessEventCodec.encode(e) as Buffer)) !== JSON.stringify(e))
    throw new Error(`event ${e.request_id} does not survive the binary codec`);
}
/** Records partitioned per second over the events' principal keys (6 partitions), and a checksum of the partitions. */
function partitions(name: string, partitionOf: (key: string) => number) {
  const keys = events.map(principalKey);
  let sum = 0;
  const seconds = best(() => {
    sum = 0;
    for (const key of keys) sum += partitionOf(key);
  });
  return { name, per_s: N / seconds, sum };
}
const metadata = Array.from({ length: 6 }, (_, partitionId) => ({
  partitionId,
  partitionErrorCode: 0,
  leader: 0,
  replicas: [0],
  isr: [0],
}));
const kafkajsPartitioner = Partitioners.DefaultPartitioner();
const byKafkajs = partitions('kafkajs', (key) =>
  kafkajsPartitioner({ topic: 't', partitionMetadata: metadata, message: { key, value: null } }),
);
const byVigil = partitions('vigil', partitionerFor(6));
if (byVigil.sum !== byKafkajs.sum) throw new Error('the two partitioners disagree');

const fmt = (x: number) => Math.round(x).toLocaleString('en');
console.log('codec      write ev/s   read ev/s    bytes/event');
for (const r of [json, binary])
  console.log(
    `${r.name.padEnd(10)} ${fmt(r.write_per_s).padStart(10)}   ${fmt(r.read_per_s).padStart(10)}   ${r.bytes_per_event.toFixed(0)}`,
  );
console.log(
  `partitioning by key (murmur2, 6 partitions): kafkajs ${fmt(byKafkajs.per_s)}/s, vigil ${fmt(byVigil.per_s)}/s (×${(byVigil.per_s / byKafkajs.per_s).toFixed(1)})`,
);
console.log(`node ${process.version}; ${N} events, every gateway format; one core; best of three passes`);
console.log(
  JSON.stringify({
    events: N,
    json_write_per_s: Math.round(json.write_per_s),
    json_read_per_s: Math.round(json.read_per_s),
    binary_write_per_s: Math.round(binary.write_per_s),
    binary_read_per_s: Math.round(binary.read_per_s),
    write_ratio: Number((binary.write_per_s / json.write_per_s).toFixed(2)),
    read_ratio: Number((binary.read_per_s / json.read_per_s).toFixed(2)),
    bytes_ratio: Number((binary.bytes_per_event / json.bytes_per_event).toFixed(2)),
    kafkajs_partitions_per_s: Math.round(byKafkajs.per_s),
    vigil_partitions_per_s: Math.round(byVigil.per_s),
    partition_ratio: Number((byVigil.per_s / byKafkajs.per_s).toFixed(1)),
  }),
);
