// The decision stage on the real broker: a bundle trained by `vigil train` on simulated normal traffic scores the
// feature stage's records; an enumeration burst by one principal is decided on, with reasons, in the brief's decision
// record; normal principals are rarely flagged; enforcement is off by default (dry_run). Then a second bundle is
// renamed into the bundle directory and takes over while the detector runs.
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Decision, decisionSchema } from '@vigil/events';
import { generateTraffic, renderRecord, type SimRequest } from '@vigil/simulator';
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
  readTopic,
  requiredEnv,
  startDetectorProcess,
  trainTestBundle,
  vigilCli,
  waitFor,
} from '../support/services.js';

const PEPPER = 'decisions-integration-pepper-0123456789abcdef';

/** A principal walking other customers' accounts: sequential ids, mostly 403, two requests a second. */
function enumeration(sub: string, start: number, n: number): SimRequest[] {
  return Array.from({ length: n }, (_, i) => ({
    ts: start + i * 500,
    requestId: `${sub}-${i}`,
    method: 'GET',
    uri: `/v1/accounts/${900000 + i}`,
    status: i % 10 === 0 ? 200 : 403,
    clientIp: '185.220.101.7',
    userAgent: 'python-requests/2.31',
    latencyMs: 12,
    bytesIn: 0,
    bytesOut: 120,
    claims: {
      sub,
      jti: `${sub}-jti`,
      sid: `${sub}-sid`,
      iat: Math.floor(start / 1000) - 60,
      exp: Math.floor(start / 1000) + 3600,
      client_id: 'vigil-bank-app',
    },
  }));
}

describe('decision stage on Kafka', () => {
  const kafka: Kafka = kafkaClient();
  const topics: string[] = [];
  let detector: DetectorProcess | undefined;

  afterAll(async () => {
    detector?.child.kill('SIGKILL');
    await deleteTopics(kafka, topics);
  });

  it(
    'decides on an enumeration burst with reasons, ' + 'rarely on normal traffic, and swaps bundles while running',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vigil-decisions-'));
      const prefix = `${randomName('dec')}_`;
      trainTestBundle(dir, join(dir, 'bundle'), PEPPER);
      const first = JSON.parse(readFileSync(join(dir, 'bundle', 'manifest.json'), 'utf8')).bundle_id as string;

      const t = await freshTopics(kafka);
      const decisions = randomName('decisions');
      topics.push(...Object.values(t), decisions, `${decisions}.shadow`);
      detector = startDetectorProcess(
        detectorConfig(
          t,
          { pepper: PEPPER, group: randomName('detector'), boundMs: 1000 },
          {
            scoring: {
              bundle: join(dir, 'bundle'),
              topic: decisions,
              shadow_topic: `${decisions}.shadow`,
              watch_interval_ms: 500,
            },
            clickhouse: { url: requiredEnv('CLICKHOUSE_URL'), table_prefix: prefix, batch_max_age_ms: 200 },
          },
        ),
      );
      const d = detector;
      onTestFailed(() => console.log(`--- detector output ---\n${d.output().slice(-4000)}`));
      await waitFor('the decision stage', async () => {
        d.assertAlive();
        return d.output().includes('decision stage started');
      });

      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const send = async (requests: SimRequest[]) => {
        const messages = requests.map((r) => ({ value: JSON.stringify(renderRecord('kong', r, 'claims')) }));
        for (let i = 0; i < messages.length; i += 500) {
          await waitFor(
            'the input topic',
            () => producer.send({ topic: t.input, acks: -1, messages: messages.slice(i, i + 500) }).then(() => true),
            30_000,
          );
        }
      };
      const start = Date.now() - 10 * 60_000;
      const normal = generateTraffic({ seed: 9, customers: 300, start, meanGapMs: 100 });
      const take = (n: number) => Array.from({ length: n }, () => normal.next().value as SimRequest);
      const before = take(2000);
      const attackStart = (before[before.length - 1] as SimRequest).ts;
      await send([...before, ...enumeration('attacker-1', attackStart, 120), ...take(1500)]);

      const read = (want: (ds: Decision[]) => boolean) =>
        readTopic(
          kafka,
          decisions,
          (v) => {
            d.assertAlive();
            return want(v.map((x) => JSON.parse(x.value) as Decision));
          },
          90_000,
        ).then((v) => v.map((x) => JSON.parse(x.value) as Decision));
      const attackerDecided = (ds: Decision[], sub: string) => ds.filter((x) => x.principal.sub === sub);
      const got = await read((ds) => attackerDecided(ds, 'attacker-1').length >= 10);
      for (const x of got) expect(() => decisionSchema.parse(x)).not.toThrow();
      const attack = attackerDecided(got, 'attacker-1');
      expect(
        attack.every((x) => x.bundle === first && x.dry_run && x.action !== 'allow' && x.entity === 'principal'),
      ).toBe(true);
      expect(attack.some((x) => x.reasons.length > 0 && x.reasons[0]?.contribution !== undefined)).toBe(true);
      expect(attack[0]?.principal.jti).toBe('attacker-1-jti');
      const normalFlagged = got.filter((x) => x.principal.sub !== 'attacker-1').length;
      expect(normalFlagged / 3500).toBeLessThan(0.02);

      // Every decision record is stored in ClickHouse, and `vigil explain` shows one to the SOC from there.
      const explained = attack[0] as Decision;
      const configFile = join(dir, 'detector.json');
      writeFileSync(
        configFile,
        JSON.stringify({
          format: 'kong',
          kafka: { brokers: ['127.0.0.1:9'] },
          pepper: { secret: PEPPER },
          clickhouse: { url: requiredEnv('CLICKHOUSE_URL'), table_prefix: prefix },
        }),
      );
      const ch = clickhouseClient();
      await waitFor(
        'the decision rows',
        async () => (await clickhouseCount(ch, `SELECT count() AS n FROM ${prefix}decisions FINAL`)) >= got.length,
      );
      const shown = vigilCli(['explain', explained.request_id, '--config', configFile, '--json']);
      // ClickHouse 18.16's float parser is not always correctly rounded: numbers may come back one ulp off.
      const back = JSON.parse(shown.stdout.trim()) as Decision;
      const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));
      const { score, scores, reasons, ...rest } = back;
      const { score: s0, scores: ss0, reasons: r0, ...rest0 } = explained;
      expect(rest).toEqual(rest0);
      expect(close(score, s0) && close(scores.iforest, ss0.iforest) && close(scores.autoencoder, ss0.autoencoder)).toBe(
        true,
      );
      expect(reasons.map((r) => r.feature)).toEqual(r0.map((r) => r.feature));
      expect(reasons.every((r, i) => close(r.value, (r0[i] as Decision['reasons'][number]).value))).toBe(true);
      const text = vigilCli(['explain', explained.request_id, '--config', configFile]).stdout;
      expect(text).toContain(`${explained.action.toUpperCase()} principal — dry run`);
      // A rule's reason (rule:<name>:<evidence>) reads "rule <name>: <evidence in words> …"; a model's names its
      // feature.
      const lead = explained.reasons[0]?.feature as string;
      expect(text).toContain(lead.startsWith('rule:') ? `rule ${lead.split(':')[1]}: ` : `[${lead}]`);

      // Hot swap: a second bundle, written elsewhere and renamed into place.
      trainTestBundle(dir, join(dir, 'next'), PEPPER, 1);
      const second = JSON.parse(readFileSync(join(dir, 'next', 'manifest.json'), 'utf8')).bundle_id as string;
      renameSync(join(dir, 'bundle'), join(dir, 'old'));
      renameSync(join(dir, 'next'), join(dir, 'bundle'));
      await waitFor(
        'the swap',
        async () => {
          d.assertAlive();
          return d.output().includes(`"to":"${second}"`);
        },
        60_000,
      );
      // After the first traffic (3,500 requests ~100 ms apart) and still in the past: the adapter refuses future times.
      const later = start + 7 * 60_000;
      const after = generateTraffic({ seed: 10, customers: 300, start: later, meanGapMs: 100 });
      await send([
        ...enumeration('attacker-2', later, 120),
        ...Array.from({ length: 1500 }, () => after.next().value as SimRequest),
      ]);
      const swapped = await read((ds) => attackerDecided(ds, 'attacker-2').length >= 10);
      expect(attackerDecided(swapped, 'attacker-2').every((x) => x.bundle === second)).toBe(true);
      await producer.disconnect();
      console.log(
        `decisions: ${attack.length} on attacker-1 (bundle ${first}), ` +
          `${normalFlagged} on 3,500 normal requests; after the swap ` +
          `${attackerDecided(swapped, 'attacker-2').length} on attacker-2 (bundle ${second})`,
      );
    },
  );
});
