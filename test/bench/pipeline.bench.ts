// The live path end to end on the real broker and ClickHouse: Kong records on an input topic → vigil detect (parse +
// HMAC, re-key, entity and principal features, the default bundle scoring every event, the policy) → a decision for
// every event on the decisions topic, with access events, feature records and decisions in ClickHouse. Beside it, in
// the same run, on the same broker and input: an Apache Kafka Streams application doing the same topology
// (test/bench/peers/kafka-streams), and the broker's own limit for this client (the rate the input was produced at).
// Run: npm run bench:pipeline [-- --events N] [--guarantee exactly_once|at_least_once] [--no-peer] [--unfused]
//      [--producer-client kafkajs|platformatic]
// or npm run bench:pipeline -- --scale-out [--events N]: one `vigil detect` process, then two in one consumer group,
// each run on its own topics and tables over the same input
// (starts Kafka with its production flush settings and ClickHouse itself, like the integration tests)
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
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
const scaleOut = process.argv.includes('--scale-out');
/** --unfused: a decision stage of its own reading the features topic (scoring.fused: false), for comparison. */
const fused = !process.argv.includes('--unfused');
/** --producer-client kafkajs|platformatic: who writes outside transactions (kafka.producer_client; its default). */
const producerClient = flag('--producer-client', 'platformatic') as 'kafkajs' | 'platformatic';
/** --concurrency N: partitions each stage processes at once (consumer.partitions_consumed_concurrently; its default). */
const concurrency = process.argv.includes('--concurrency') ? Number(flag('--concurrency', '1')) : undefined;
// --scale-out measures one detector process against two in one group (the peer is not run unless --peer).
const runPeer = scaleOut ? process.argv.includes('--peer') : !process.argv.includes('--no-peer');
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
const t0 = performance.now();
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

/** The detector's config for one run: its own group, topics and tables (`run` tells the runs of --scale-out apart). */
const vigilConfig = (run: string) => ({
  format: 'kong',
  pepper: { secret: 'bench-pepper-0123456789abcdef0123456789' },
  kafka: { brokers, producer_client: producerClient },
  consumer: {
    group_id: `bench_vigil_${run}`,
    topics: [topic],
    ...(concurrency ? { partitions_consumed_concurrently: concurrency } : {}),
  },
  topics: {
    keyed: `bench_keyed_${run}`,
    entities: `bench_entities_${run}`,
    dead_letter: `bench_dlq_${run}`,
    partitions: PARTITIONS,
  },
  clickhouse: { url: chUrl, table_prefix: `bench_${run}_` },
  telemetry: { port: 0 },
  // idle_release: the input ends, so the reorder buffers' last events leave on the wall clock instead of waiting for
  // more.
  features: { guarantee, topic: `bench_features_${run}`, idle_release: true },
  scoring: {
    bundle: join(repo, 'models/bundles/default'),
    topic: `bench_decisions_${run}`,
    shadow_topic: `bench_decisions_${run}.shadow`,
    // A decision record for every event, allow included: the end point is the last event's decision.
    write_allow: true,
    fused,
  },
});

interface VigilRun {
  seconds: number;
  /** When each table had every event: where the time goes (ingest, the feature stages, the decision stage). */
  doneAt: Record<string, number>;
  recordsPerEvent: Record<string, number>;
  rssMb: number | null;
  /**
   * Requests decided without their entity parts (vigil_records_skipped{reason="join_incomplete"}; null for detector
   * processes): the principal stage reads the keyed topic in order, and on a backlog the parts come after every event
   * ingest wrote before them, so requests wait past the budget's share for them and leave without.
   */
  joinIncomplete: number | null;
  /**
   * CPU the in-process detector's process spent per event, in µs (user + system; null for detector processes): less
   * sensitive than events/s to what else the 2 shared cores run, so the figure that compares two clients or settings.
   */
  cpuUsPerEvent: number | null;
}

/**
 * One run of vigil detect over the input: in this process (`instances` 0), or as that many `vigil detect` processes
 * in one consumer group (scale-out: the partitions are shared among them). Timed from start until every event, feature
 * record and decision is in ClickHouse.
 */
async function runVigil(run: string, instances: number): Promise<VigilRun> {
  const raw = vigilConfig(run);
  const prefix = raw.clickhouse.table_prefix;
  // Quiet: the first counts may ask for tables the detector has not made yet.
  const ch = createClient({ url: chUrl, log: { level: ClickHouseLogLevel.OFF } });
  // Distinct requests, not rows: a rebalance redelivers what was not committed, and the copies must not end a run
  // early. A table not there yet (the detector processes are still migrating) counts as empty.
  const count = async (table: string) => {
    const rows = await ch
      .query({ query: `SELECT uniqExact(request_id) AS n FROM ${prefix}${table}`, format: 'JSONEachRow' })
      .then((result) => result.json<{ n: string }>())
      .catch(() => []);
    return Number(rows[0]?.n ?? 0);
  };
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const { stop, failed, joinIncomplete } = instances === 0 ? await inProcess(raw) : detectorProcesses(raw, instances);
  const seen = { access_events: 0, features: 0, decisions: 0 };
  const doneAt: Record<string, number> = {};
  for (;;) {
    for (const table of Object.keys(seen) as (keyof typeof seen)[]) {
      if (seen[table] >= N) continue;
      seen[table] = await count(table);
      if (seen[table] >= N) doneAt[table] = Number(((performance.now() - started) / 1000).toFixed(1));
    }
    if (seen.access_events >= N && seen.features >= N && seen.decisions >= N) break;
    const why = failed();
    if (why !== undefined || performance.now() - started > DEADLINE_MS)
      throw new Error(
        `the run did not finish: ${why ?? `not done after ${DEADLINE_MS / 1000} s`} (${JSON.stringify(seen)})`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - started) / 1000;
  const rssMb = instances === 0 ? Math.round(process.memoryUsage().rss / 1e6) : null;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuUsPerEvent = instances === 0 ? Math.round((cpu.user + cpu.system) / N) : null;
  const incomplete = joinIncomplete ? await joinIncomplete() : null;
  await stop();
  for (const t of ['access_events', 'features', 'decisions', 'revocations', 'alerts', 'labels', 'schema_migrations']) {
    await ch.command({ query: `DROP TABLE IF EXISTS ${prefix}${t}` });
  }
  await ch.close();
  // Kafka records written per event on each of the run's topics (packed records count once): what the clients encode.
  const runTopics = (await admin.listTopics()).filter((name) => name.includes(run) && name !== topic);
  const recordsPerEvent: Record<string, number> = {};
  for (const t of runTopics) {
    const offsets = await admin.fetchTopicOffsets(t);
    const n = offsets.reduce((sum, p) => sum + Number(p.high), 0);
    if (n > 0)
      recordsPerEvent[t.replace(`bench_vigil_${run}.`, '').replace(`_${run}`, '')] = Number((n / N).toFixed(3));
  }
  await admin.deleteTopics({ topics: runTopics }).catch(() => undefined);
  return { seconds, doneAt, recordsPerEvent, rssMb, cpuUsPerEvent, joinIncomplete: incomplete };
}

interface Running {
  stop(): Promise<void>;
  /** Why the detector stopped on its own, if it did. */
  failed(): string | undefined;
  /** Requests the principal stage let go without their entity parts, from its metrics (in-process runs). */
  joinIncomplete?(): Promise<number>;
}

/** A run that has not finished by then has failed (a stuck stage must not hold the bench forever). */
const DEADLINE_MS = 30 * 60_000;

async function inProcess(raw: ReturnType<typeof vigilConfig>): Promise<Running> {
  const detector = await startDetector(parseConfig(detectorConfigSchema, raw));
  let failure: string | undefined;
  detector.done.catch((err: unknown) => {
    failure = `the detector stopped: ${(err as Error).message}`;
  });
  const joinIncomplete = async () => {
    const text = await (await fetch(`http://127.0.0.1:${detector.opsPort}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('vigil_records_skipped_total{') && l.includes('"join_incomplete"'));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return { stop: () => detector.stop(), failed: () => failure, joinIncomplete };
}

/** `instances` processes of `vigil detect` with one config (JSON is YAML); stopping sends SIGTERM and waits. */
function detectorProcesses(raw: ReturnType<typeof vigilConfig>, instances: number): Running {
  const file = join(tmpdir(), `vigil-bench-${raw.consumer.group_id}.json`);
  writeFileSync(file, JSON.stringify(raw));
  // The infrastructure's own VIGIL_* settings would read as config overrides.
  const { VIGIL_INFRA_DIR: _dir, VIGIL_KAFKA_FLUSH: _flush, ...env } = process.env;
  const children = Array.from({ length: instances }, () =>
    spawn(process.execPath, [join(repo, 'services/cli/dist/bin.js'), 'detect', '--config', file], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  const exited = children.map((c) => new Promise((resolve) => c.once('exit', resolve)));
  // Whatever ends this bench — an error, Ctrl-C, a SIGTERM from the infra script — no detector outlives it.
  const killAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  return {
    stop: async () => {
      for (const c of children) c.kill('SIGTERM');
      await Promise.all(exited);
    },
    failed: () => {
      const dead = children.find((c) => c.exitCode !== null || c.signalCode !== null);
      return dead ? `a detect process exited (${dead.exitCode ?? dead.signalCode})` : undefined;
    },
  };
}

const runs: { instances: number; result: VigilRun }[] = [];
if (scaleOut) {
  for (const instances of [1, 2])
    runs.push({ instances, result: await runVigil(`${suffix}_p${instances}`, instances) });
} else {
  runs.push({ instances: 0, result: await runVigil(suffix, 0) });
}
await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
await admin.disconnect();
const {
  seconds: vigilSeconds,
  doneAt,
  recordsPerEvent,
  rssMb: rss,
  cpuUsPerEvent,
  joinIncomplete,
} = (runs[0] as (typeof runs)[number]).result;

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
  `vigil detect${scaleOut ? ', one process' : ''}, log line → decision + ClickHouse (${guarantee}) ` +
    `${fmt(eventsPerS)} events/s (start-up included)${rss === null ? '' : `, RSS ${rss} MB`}`,
);
if (peerPerS !== null) console.log(`ratio vigil / Kafka Streams: ${(eventsPerS / peerPerS).toFixed(2)}`);
if (joinIncomplete !== null)
  console.log(`requests decided without their entity parts (join_incomplete): ${fmt(joinIncomplete)} of ${fmt(N)}`);
// Scale-out: the two-process run against the one-process run on the same input.
const scale = runs.map(({ instances, result }) => ({
  instances,
  events_per_s: Math.round(N / result.seconds),
  all_in_clickhouse_after_s: result.doneAt,
}));
const [one, two] = scale;
if (scaleOut && one && two) {
  console.log(`two detector processes in one group: ${fmt(two.events_per_s)} events/s`);
  console.log(`ratio two processes / one: ${(two.events_per_s / one.events_per_s).toFixed(2)}`);
}
console.log(
  JSON.stringify({
    ...(scaleOut
      ? {
          scale_out: scale,
          ratio_two_to_one: one && two ? Number((two.events_per_s / one.events_per_s).toFixed(2)) : null,
        }
      : {}),
    events: N,
    events_per_s: eventsPerS,
    broker_produce_limit_per_s: producePerS,
    kafka_streams_peer_per_s: peerPerS,
    ratio_to_peer: peerPerS === null ? null : Number((eventsPerS / peerPerS).toFixed(2)),
    guarantee,
    partitions_consumed_concurrently: concurrency ?? 1,
    producer_client: producerClient,
    decisions: fused ? 'fused' : 'stage',
    rss_mb: rss,
    cpu_us_per_event: cpuUsPerEvent,
    requests_without_entity_parts: joinIncomplete,
    all_in_clickhouse_after_s: doneAt,
    kafka_records_per_event: recordsPerEvent,
  }),
);
process.exit(0);
