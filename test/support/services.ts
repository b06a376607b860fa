// What integration tests need from the real services: their addresses (a missing one fails the test, never skips
// it), random names, deadline polls, Kafka/ClickHouse clients and the detector as a child process.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { decodeSegment, SEGMENT_PREFIX, type SourceRecord, sourceRecords } from '@vigil/connectors';
import { Kafka, logLevel } from 'kafkajs';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The `vigil` executable that `npx vigil` runs (npm's link to services/cli/bin/vigil.js), started directly so that a
 * test's signal reaches the service itself rather than an npx wrapper. */
export const VIGIL_BIN = join(ROOT, 'node_modules/.bin/vigil');

export function requiredEnv(name: string): string {
  const v = process.env[name];
  if (!v)
    throw new Error(
      `${name} is not set: run integration tests through test/infra/with-services.sh (npm run test:integration)`,
    );
  return v;
}

export const randomName = (prefix: string) => `${prefix}_${randomBytes(4).toString('hex')}`;

/** Thrown from a waitFor probe to stop waiting at once (a process died). */
export class Fatal extends Error {}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      if (err instanceof Fatal) throw err;
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function kafkaClient(): Kafka {
  return new Kafka({
    brokers: requiredEnv('KAFKA_BROKERS').split(','),
    clientId: 'vigil-test',
    logLevel: logLevel.NOTHING,
  });
}

export function clickhouseClient(): ClickHouseClient {
  return createClient({ url: requiredEnv('CLICKHOUSE_URL'), log: { level: ClickHouseLogLevel.OFF } });
}

export async function clickhouseCount(client: ClickHouseClient, query: string): Promise<number> {
  const result = await client.query({ query, format: 'JSONEachRow' });
  const rows = await result.json<{ n: string | number }>();
  return Number(rows[0]?.n ?? 0);
}

/** Drops every table of the current database whose name starts with a test's prefix (its clean-up). */
export async function dropTablesWithPrefix(client: ClickHouseClient, prefix: string): Promise<void> {
  const tables = await (
    await client.query({
      query: `SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, '${prefix}')`,
      format: 'JSONEachRow',
    })
  ).json<{ name: string }>();
  for (const { name } of tables) await client.command({ query: `DROP TABLE IF EXISTS ${name}` });
}

/** Stops or restarts the test's ClickHouse (same ports, same data) through the infra script that started it. */
export function clickhouseControl(action: 'stop' | 'restart'): void {
  const script = requiredEnv('CLICKHOUSE_CONTROL_SCRIPT');
  execFileSync('bash', [script, action], { stdio: 'inherit' });
}

/** SIGKILLs the test's Kafka broker, or starts it again on the same ports and data (fault suite). */
export function kafkaControl(action: 'kill' | 'restart'): void {
  const script = requiredEnv('KAFKA_CONTROL_SCRIPT');
  execFileSync('bash', [script, action], { stdio: 'inherit' });
}

/** One record a test read from a topic (a packed record counts as the records it holds). */
export interface TopicRecord {
  key: string | null;
  /** The value as text (JSON topics; on vigil's binary topics its strings still read as themselves). */
  value: string;
  /** The value's bytes, for a codec (vigil's internal topics are binary: accessEventCodec). */
  bytes: Buffer;
  headers: Record<string, string>;
  /**
   * The record's Kafka timestamp, epoch ms: CreateTime (when its producer made it), or the broker's append time on a
   * topic set to LogAppendTime.
   */
  timestamp: number;
  /** Where it was read: partition/offset (of the packed record that held it, for packed ones). */
  at: string;
}

/**
 * Reads a topic from the beginning until `until` says enough and, with `quietMs`, nothing more has arrived for that
 * long (so a repeat that comes after the last first copy is read too), or the deadline passes.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  until: (values: TopicRecord[]) => boolean,
  timeoutMs = 60_000,
  quietMs = 0,
) {
  const consumer = kafka.consumer({ groupId: randomName('reader'), maxWaitTimeInMs: 100 });
  const values: TopicRecord[] = [];
  // What a timeout reports: how far the topic got and when it last grew (a stall and a shortfall read differently),
  // and the reader's own crashes (a reader that stopped is not a vigil that stopped).
  let grew = { n: 0, at: Date.now() };
  const crashes: string[] = [];
  consumer.on(consumer.events.CRASH, (e) => {
    crashes.push(`${e.payload.error.message}${e.payload.restart ? '' : ' (not restarted)'}`);
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      // Packed records (vigil's own topics between stages) are read as the records they hold, as vigil reads them, and
      // so are a changelog's segments (an entry's deletion reads as a tombstone does: an empty value).
      const records: SourceRecord[] = [];
      for (const m of batch.messages) {
        if (m.key?.toString().startsWith(SEGMENT_PREFIX) && m.value)
          for (const [key, value] of decodeSegment(m.value))
            records.push({
              key: Buffer.from(key),
              value: value ?? Buffer.alloc(0),
              headers: {},
              position: { partition: batch.partition, offset: m.offset },
            });
        else sourceRecords(batch.topic, batch.partition, m, records);
      }
      for (const r of records) {
        values.push({
          key: r.key?.toString() ?? null,
          value: r.value.toString(),
          bytes: r.value,
          headers: r.headers,
          timestamp: r.timestamp ?? 0,
          at: `${r.position.partition}/${r.position.offset}`,
        });
      }
      if (records.length > 0) grew = { n: values.length, at: Date.now() };
    },
  });
  try {
    await waitFor(`topic ${topic}`, async () => until(values) && Date.now() - grew.at >= quietMs, timeoutMs);
  } catch (err) {
    throw new Error(
      `${(err as Error).message}: ${grew.n} records read, the last ${Date.now() - grew.at} ms ago; ` +
        `the reader's crashes: ${crashes.length === 0 ? 'none' : crashes.join('; ')}`,
    );
  } finally {
    await consumer.disconnect();
  }
  return values;
}

export interface DetectorProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Throws Fatal when the process has exited: call it inside waitFor probes. */
  assertAlive: () => void;
}

/** Starts `vigil detect` as its own process (so a test can SIGKILL it) with a YAML config written to a temp file. */
export function startDetectorProcess(
  config: Record<string, unknown>,
  env: Record<string, string> = {},
): DetectorProcess {
  return startServiceProcess('detect', config, env);
}

/**
 * The environment a service under test inherits: this one, less the test infrastructure's own VIGIL_* settings
 * (test/infra: VIGIL_INFRA_DIR, VIGIL_KAFKA_FLUSH), which vigil would read as config overrides and refuse.
 */
function serviceEnv(): NodeJS.ProcessEnv {
  const { VIGIL_INFRA_DIR: _dir, VIGIL_KAFKA_FLUSH: _flush, ...env } = process.env;
  return env;
}

/** Starts `vigil <command> --config FILE` (detect, revoke, alert) as a child process with the given config. */
export function startServiceProcess(
  command: string,
  config: Record<string, unknown>,
  env: Record<string, string> = {},
): DetectorProcess {
  const file = join(tmpdir(), `${randomName(`vigil-${command}`)}.json`);
  // JSON is YAML, so the config file can be written without a YAML library.
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(VIGIL_BIN, [command, '--config', file], {
    env: { ...serviceEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const assertAlive = () => {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Fatal(`vigil ${command} exited (${child.exitCode ?? child.signalCode}):\n${output.slice(-2000)}`);
  };
  return { child, output: () => output, exited, assertAlive };
}

/**
 * A running service's own counters (vigil_* lines of its ops port's /metrics), for a failed test to print: which stage
 * stopped moving. Empty when the service cannot be reached.
 */
export async function serviceCounters(proc: DetectorProcess): Promise<string> {
  const port = /"ops_port":(\d+)/.exec(proc.output())?.[1];
  if (!port) return '';
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('vigil_'))
      .join('\n');
  } catch (err) {
    return `(metrics unavailable: ${String(err)})`;
  }
}

/** Topics of one detector under test, freshly named, and the input topic created with three partitions. */
export interface DetectorTopics {
  input: string;
  keyed: string;
  entities: string;
  dlq: string;
  features: string;
}

export async function freshTopics(kafka: Kafka): Promise<DetectorTopics> {
  const t = {
    input: randomName('in'),
    keyed: randomName('keyed'),
    entities: randomName('entities'),
    dlq: randomName('dlq'),
    features: randomName('features'),
  };
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: t.input, numPartitions: 3 }] });
  await admin.disconnect();
  return t;
}

/**
 * The feature stages' exact profile, for tests that assert it: one feature record (and decision) per request whatever
 * crashes (exactly once), and held events released by event time only, so the live vectors equal a replay's. The
 * defaults (at least once, no reorder bound) are the latency profile the gateway-loop test measures.
 */
export const EXACT_FEATURES = { guarantee: 'exactly_once', idle_release: false } as const;

/**
 * A Kong-format detector config on the test broker, reading `t.input`, with its feature stages (`exact`: in the exact
 * profile above); `extra` adds keys.
 */
export function detectorConfig(
  t: DetectorTopics,
  o: { pepper: string; group: string; boundMs: number; exact?: boolean },
  extra: Record<string, unknown> = {},
) {
  return {
    format: 'kong',
    pepper: { secret: o.pepper },
    kafka: { brokers: requiredEnv('KAFKA_BROKERS').split(',') },
    consumer: { group_id: o.group, topics: [t.input], session_timeout_ms: 6000, heartbeat_interval_ms: 1000 },
    topics: { keyed: t.keyed, entities: t.entities, dead_letter: t.dlq, partitions: 3 },
    features: { topic: t.features, reorder_bound_ms: o.boundMs, ...(o.exact ? EXACT_FEATURES : {}) },
    telemetry: { port: 0 },
    ...extra,
  };
}

/** Deletes a test's topics (best effort: the broker is thrown away after the run anyway). */
export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}

/**
 * Runs the built `vigil` CLI (with a pepper, for the commands that read logs); throws with its stderr when it fails.
 */
export function vigilCli(args: string[], pepper?: string) {
  const r = spawnSync(VIGIL_BIN, args, {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...(pepper !== undefined ? { VIGIL_PEPPER__SECRET: pepper } : {}) },
  });
  if (r.status !== 0) throw new Error(`vigil ${args[0]} failed: ${r.stderr.slice(-2000)}`);
  return r;
}

/** A bundle trained by `vigil train` on 20,000 simulated requests (seeded), written to `out`. */
export function trainTestBundle(dir: string, out: string, pepper: string, seed = 0): void {
  const log = join(dir, 'train.jsonl');
  if (!existsSync(log))
    vigilCli(
      [
        'simulate',
        '--format',
        'kong',
        '--out',
        log,
        '--events',
        '20000',
        '--customers',
        '300',
        '--credentials',
        'claims',
        '--seed',
        '5',
      ],
      pepper,
    );
  vigilCli(
    ['train', '--format', 'kong', '--input', log, '--out', out, '--max-rows', '20000', '--seed', String(seed)],
    pepper,
  );
}
