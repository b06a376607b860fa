// `vigil doctor` against the real parts: a detector config on the test's Kafka and ClickHouse (one input topic there,
// one missing), then a revoker config on a real HAProxy (the maps of config/haproxy/haproxy.cfg) and redis-server.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { type Haproxy, type Redis, startBackend, startHaproxy, startRedis } from '../support/gateway.js';
import {
  deleteTopics,
  detectorConfig,
  freshTopics,
  kafkaClient,
  randomName,
  requiredEnv,
  VIGIL_BIN,
} from '../support/services.js';

const PEPPER = 'doctor-integration-pepper-0123456789abcdef';

interface Report {
  ok: boolean;
  service: string;
  checks: { status: 'ok' | 'warn' | 'fail'; check: string; target: string; detail: string; hint?: string }[];
}

const execFileAsync = promisify(execFile);

/** Runs `vigil doctor` on a config (JSON is YAML) and returns its exit status and output. */
async function doctor(config: Record<string, unknown>, args: string[] = [], env: Record<string, string> = {}) {
  const file = join(tmpdir(), `${randomName('vigil-doctor')}.yaml`);
  writeFileSync(file, JSON.stringify(config));
  try {
    const out = await execFileAsync(VIGIL_BIN, ['doctor', '--config', file, ...args], {
      env: { PATH: process.env.PATH ?? '', VIGIL_PEPPER__SECRET: PEPPER, ...env },
    });
    return { status: 0, ...out };
  } catch (err) {
    // A non-zero exit rejects, with the output attached.
    const failed = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { status: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const find = (r: Report, check: string, target: string) =>
  r.checks.find((c) => c.check === check && c.target === target);

describe('vigil doctor on real services', () => {
  const kafka: Kafka = kafkaClient();
  const topics: string[] = [];
  let haproxy: Haproxy | undefined;
  let redis: Redis | undefined;
  let backend: Awaited<ReturnType<typeof startBackend>> | undefined;

  afterAll(async () => {
    await haproxy?.stop();
    await redis?.stop();
    await backend?.close();
    await deleteTopics(kafka, topics);
  });

  it('passes Kafka and ClickHouse and fails the missing input topic by name', async () => {
    const t = await freshTopics(kafka);
    topics.push(t.input);
    const missing = randomName('missing');
    const group = randomName('doctor');
    const config = detectorConfig(
      t,
      { pepper: PEPPER, group, boundMs: 1000 },
      {
        consumer: { group_id: group, topics: [t.input, missing] },
        clickhouse: { url: requiredEnv('CLICKHOUSE_URL') },
      },
    );
    const brokers = requiredEnv('KAFKA_BROKERS').split(',');
    const chOrigin = new URL(requiredEnv('CLICKHOUSE_URL')).origin;

    const text = await doctor(config);
    expect(text.status, text.stdout + text.stderr).toBe(1);
    expect(text.stderr).toBe('');
    for (const b of brokers)
      expect(text.stdout).toMatch(
        new RegExp(`^ok +kafka broker +${b.replaceAll('.', '\\.')} — metadata answered`, 'm'),
      );
    expect(text.stdout).toContain(`ok    clickhouse`);
    expect(text.stdout).toMatch(
      new RegExp(
        `^FAIL +kafka topic +${missing} — missing: the detector reads it ` +
          `and does not create it\\n +fix: create it \\(kafka-topics\\.sh`,
        'm',
      ),
    );
    expect(text.stdout).toMatch(new RegExp(`^ok +kafka topic +${t.input} — exists$`, 'm'));
    expect(text.stdout).not.toContain(PEPPER);

    const json = await doctor(config, ['--json']);
    expect(json.status).toBe(1);
    const report = JSON.parse(json.stdout) as Report;
    expect(report.ok).toBe(false);
    expect(find(report, 'clickhouse', chOrigin)).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^SELECT 1 answered as default \(ClickHouse \d/),
    });
    expect(find(report, 'clickhouse database', `${chOrigin} default`)).toMatchObject({ status: 'ok' });
    expect(find(report, 'pepper', 'VIGIL_PEPPER__SECRET')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^42 characters, sha256 [0-9a-f]{8}/),
    });
    // Topics the detector creates at start are warnings when missing; the only failure is the topic nobody creates.
    expect(find(report, 'kafka topic', t.keyed)).toMatchObject({
      status: 'warn',
      detail: 'missing: the detector creates it at start',
    });
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([
      expect.objectContaining({ check: 'kafka topic', target: missing }),
    ]);

    // A database that is not there is named, with the statement that makes it.
    const database = randomName('nodb');
    const nodb = JSON.parse(
      (await doctor(config, ['--json'], { VIGIL_CLICKHOUSE__DATABASE: database })).stdout,
    ) as Report;
    expect(find(nodb, 'clickhouse', chOrigin)?.status).toBe('ok');
    expect(find(nodb, 'clickhouse database', `${chOrigin} ${database}`)).toMatchObject({
      status: 'fail',
      hint: expect.stringContaining(`CREATE DATABASE ${database}`),
    });
  });

  it(
    'passes a revoker whose HAProxy maps, Redis and Kong answer ' +
      '(warnings allowed), and names a map HAProxy has not loaded',
    async () => {
      backend = await startBackend();
      haproxy = await startHaproxy(backend.port, PEPPER);
      redis = await startRedis();
      const config = {
        kafka: { brokers: requiredEnv('KAFKA_BROKERS').split(',') },
        consumer: { topics: [randomName('decisions')] },
        topics: {
          revocations: randomName('revocations'),
          notices: randomName('notices'),
          poison: randomName('poison'),
        },
        adapters: {
          haproxy: [{ socket: haproxy.socket, maps: haproxy.maps }],
          redis: [{ url: redis.url }],
          kong: [{ admin_url: `http://127.0.0.1:${backend.port}/admin` }],
        },
      };
      const before = backend.hits();
      const good = await doctor(config, ['--json']);
      const report = JSON.parse(good.stdout) as Report;
      expect(good.status, good.stdout).toBe(0);
      expect(report.service).toBe('revoker');
      expect(find(report, 'haproxy', haproxy.socket)).toMatchObject({
        status: 'ok',
        detail: expect.stringMatching(/^Runtime API answered show info \(HAProxy \d/),
      });
      expect(find(report, 'haproxy maps', haproxy.socket)).toMatchObject({
        status: 'ok',
        detail: `all ${Object.keys(haproxy.maps).length} map(s) loaded`,
      });
      expect(find(report, 'redis', redis.url)).toMatchObject({ status: 'ok' });
      expect(find(report, 'kong admin API', `http://127.0.0.1:${backend.port}`)).toMatchObject({ status: 'ok' });
      expect(report.checks.filter((c) => c.check === 'kafka topic').every((c) => c.status === 'warn')).toBe(true);
      // The probe of the Kong admin API is one HEAD: the gateway's backend sees at most that.
      expect(backend.hits() - before).toBeLessThanOrEqual(1);

      const unloaded = join(tmpdir(), `${randomName('unloaded')}.map`);
      const bad = await doctor({
        ...config,
        adapters: {
          ...config.adapters,
          haproxy: [{ socket: haproxy.socket, maps: { ...haproxy.maps, throttle_sub: unloaded } }],
        },
      });
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(
        new RegExp(`^FAIL +haproxy maps +${unloaded} — not loaded by HAProxy \\(throttle_sub\\)$`, 'm'),
      );
    },
  );
});
