// The alerter on real parts: decision records on a real Kafka topic, a real webhook receiver in the test that
// verifies every delivery with the Standard Webhooks reference library (and rejects a tampered body or a stale
// timestamp), failure injection (500s and timeouts, then recovery: every alert delivered once, none lost), a
// refusing receiver whose messages land on the dead-letter topic, CAEP session-revoked SETs on new revocations,
// delivery audit and analysts' verdicts in a real ClickHouse.
import { generateKeyPairSync, verify as verifySignature } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Decision } from '@vigil/events';
import type { Kafka } from 'kafkajs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import {
  clickhouseClient,
  clickhouseCount,
  type DetectorProcess,
  deleteTopics,
  kafkaClient,
  randomName,
  readTopic,
  requiredEnv,
  startServiceProcess,
  vigilCli,
  waitFor,
} from '../support/services.js';

const SECRET = `whsec_${Buffer.from('alerter-integration-secret-0123456789').toString('base64')}`;
const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';

function decision(entity: number, i: number, over: Partial<Decision> = {}): Decision {
  return {
    ts: Date.now() - 60_000 + i * 1000,
    decided_at: Date.now(),
    request_id: `e${entity}-r${i}`,
    action: 'alert',
    entity: 'principal',
    score: 0.95,
    scores: { iforest: 0.9, autoencoder: 0.95 },
    principal: { sub: `user-${entity}`, client_ip: '203.0.113.5' },
    reasons: [{ feature: 'distinct_objects_10m_log', value: 4 + i, baseline: 0.7, contribution: 0.6 }],
    bundle: 'test',
    dry_run: false,
    ...over,
  };
}

/** The SOC's receiver: verifies, answers per the failure plan, and records what it accepted. */
class Receiver {
  server!: Server;
  port = 0;
  requests = 0;
  rejected = 0;
  readonly accepted = new Map<string, number>();
  readonly chat: string[] = [];
  readonly caep: string[] = [];
  /** Answers to the first requests to /soc: a status, or 'hang' (no answer: the sender times out). */
  plan: (number | 'hang')[] = [];
  lastGood: { headers: Record<string, string>; body: string } | undefined;

  async start() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => this.handle(req, res, body));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const path = req.url ?? '';
    if (path === '/chat') {
      this.chat.push(body);
      return void res.writeHead(200).end('ok');
    }
    if (path === '/refuse') return void res.writeHead(400).end();
    if (path === '/caep') {
      expect(req.headers['content-type']).toBe('application/secevent+jwt');
      this.caep.push(body);
      return void res.writeHead(202).end();
    }
    this.requests++;
    const step = this.plan.shift();
    if (step === 'hang') return; // never answered
    if (typeof step === 'number') return void res.writeHead(step).end();
    try {
      new Webhook(SECRET).verify(body, req.headers as Record<string, string>);
    } catch {
      this.rejected++;
      return void res.writeHead(401).end();
    }
    const id = String(req.headers['webhook-id']);
    this.accepted.set(id, (this.accepted.get(id) ?? 0) + 1);
    this.lastGood = { headers: { ...(req.headers as Record<string, string>) }, body };
    res.writeHead(204).end();
  }
}

describe('alerter on Kafka and ClickHouse with a real webhook receiver', () => {
  const kafka: Kafka = kafkaClient();
  const ch = clickhouseClient();
  const prefix = `${randomName('al')}_`;
  const topics = {
    decisions: randomName('decisions'),
    revocations: randomName('revocations'),
    dlq: randomName('alerts-dlq'),
  };
  const group = randomName('alerter');
  const receiver = new Receiver();
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyFile = join(tmpdir(), `${randomName('caep-key')}.pem`);
  let alerter: DetectorProcess;
  let config: Record<string, unknown>;

  beforeAll(async () => {
    await receiver.start();
    writeFileSync(keyFile, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const base = `http://127.0.0.1:${receiver.port}`;
    const retry = { timeout_ms: 300, max_attempts: 12, initial_backoff_ms: 20, max_backoff_ms: 200 };
    config = {
      kafka: { brokers: requiredEnv('KAFKA_BROKERS').split(',') },
      consumer: { group_id: group, topics: [topics.decisions], session_timeout_ms: 6000, heartbeat_interval_ms: 1000 },
      topics: { revocations: topics.revocations, dead_letter: topics.dlq, retry: `${topics.dlq}.retry`, partitions: 3 },
      clickhouse: { url: requiredEnv('CLICKHOUSE_URL'), table_prefix: prefix, batch_max_age_ms: 100 },
      incident_window_ms: 2000,
      receivers: [
        { name: 'soc', url: `${base}/soc`, format: 'ocsf', secret_env: 'SOC_SECRET', ...retry },
        { name: 'chat', url: `${base}/chat`, format: 'slack', min_severity: 'critical', ...retry },
        { name: 'broken', url: `${base}/refuse`, format: 'generic', secret_env: 'SOC_SECRET', ...retry },
      ],
      caep: [
        {
          name: 'idp',
          url: `${base}/caep`,
          issuer: 'https://vigil.test',
          audience: 'https://idp.test',
          private_key_file: keyFile,
          key_id: 'k1',
          ...retry,
        },
      ],
      labels: { port: 0, token_env: 'SOC_LABEL_TOKEN' },
      telemetry: { port: 0 },
    };
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: topics.decisions, numPartitions: 3 }] });
    await admin.disconnect();
    alerter = startServiceProcess('alert', config, { SOC_SECRET: SECRET, SOC_LABEL_TOKEN: 'label-token-123' });
    await waitFor('the alerter to start', async () => {
      alerter.assertAlive();
      return alerter.output().includes('alerter started');
    });
  }, 120_000);

  afterAll(async () => {
    alerter?.child.kill('SIGKILL');
    receiver.server?.close();
    await deleteTopics(kafka, Object.values(topics));
  });

  it(
    'delivers one alert per entity per incident, each once, ' + 'through 500s and timeouts; dead-letters refusals',
    async () => {
      onTestFailed(() => console.log(alerter.output().slice(-4000)));
      receiver.plan = [500, 500, 500, 'hang', 500, 'hang', 503, 500];
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const ds: Decision[] = [];
      for (let e = 0; e < 30; e++) for (let i = 0; i < 4; i++) ds.push(decision(e, i));
      // Five incidents escalate to a revocation (critical: an update to the SOC and to the chat channel).
      for (let e = 0; e < 5; e++) ds.push(decision(e, 4, { action: 'revoke', score: 0.9999 }));
      await producer.send({
        topic: topics.decisions,
        acks: -1,
        messages: ds.map((d) => ({ key: d.principal.sub as string, value: JSON.stringify(d) })),
      });
      await producer.disconnect();
      // 30 opens, 5 escalations, and a summary at close for the 25 incidents that gathered events after their open.
      await waitFor(
        'every alert at the receiver',
        async () => {
          alerter.assertAlive();
          return receiver.accepted.size >= 60;
        },
        60_000,
      );
      // Anything extra (a split incident, a second delivery) would arrive within a window and a closing pass.
      await new Promise((r) => setTimeout(r, 3500));
      const ids = [...receiver.accepted.keys()];
      expect(ids.filter((id) => id.endsWith('.1'))).toHaveLength(30);
      expect(ids.filter((id) => id.endsWith('.2'))).toHaveLength(30);
      expect(receiver.accepted.size).toBe(60);
      expect([...receiver.accepted.values()].every((n) => n === 1)).toBe(true);
      expect(receiver.requests).toBeGreaterThan(60); // the failures were retried
      expect(receiver.rejected).toBe(0);
      expect(receiver.chat).toHaveLength(5);
      expect(JSON.parse(receiver.chat[0] as string).text).toMatch(/CRITICAL/);

      // The receiver's verification is real: a tampered body or a stale timestamp is refused.
      const good = receiver.lastGood as { headers: Record<string, string>; body: string };
      const post = (headers: Record<string, string>, body: string) =>
        fetch(`http://127.0.0.1:${receiver.port}/soc`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        }).then((r) => r.status);
      const signed = {
        'webhook-id': good.headers['webhook-id'] as string,
        'webhook-timestamp': good.headers['webhook-timestamp'] as string,
        'webhook-signature': good.headers['webhook-signature'] as string,
      };
      expect(await post(signed, good.body.replace('"class_uid":2004', '"class_uid":2005'))).toBe(401);
      const { signedHeaders } = await import('@vigil/alerting');
      expect(
        await post({ ...signedHeaders([SECRET], 'stale', Math.floor(Date.now() / 1000) - 3600, good.body) }, good.body),
      ).toBe(401);

      // The refusing receiver: every message dead-lettered once, with its reason.
      const dead = await readTopic(kafka, topics.dlq, (v) => v.length >= 60, 30_000);
      expect(dead).toHaveLength(60);
      expect(
        dead.every((d) => (JSON.parse(d.value) as { receiver: string; reason: string }).reason === 'refused'),
      ).toBe(true);
      // The audit: one delivered row per message for the SOC.
      await waitFor(
        'the audit rows',
        async () =>
          (await clickhouseCount(
            ch,
            `SELECT count() AS n FROM ${prefix}alerts FINAL WHERE ` +
              "receiver = 'soc' AND startsWith(outcome, 'delivered')",
          )) === 60,
      );
    },
  );

  it('pushes a signed CAEP session-revoked SET for a new revocation', async () => {
    await waitFor('the CAEP consumer to join', async () => {
      const admin = kafka.admin();
      await admin.connect();
      const { groups } = await admin.describeGroups([`${group}.caep`]);
      await admin.disconnect();
      return groups[0]?.state === 'Stable';
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const enforcement = {
      id: 'sub:alice',
      kind: 'sub',
      value: 'alice',
      action: 'revoke',
      not_before: 1,
      expires_at: Date.now() + 60_000,
      request_id: 'r-caep',
      decision_ts: Date.now(),
      principal: { sub: 'alice' },
      reasons: ['rule:impossible_travel:geo_speed_kmh'],
      enforced_at: Date.now(),
    };
    await producer.send({
      topic: topics.revocations,
      acks: -1,
      messages: [{ key: enforcement.id, value: JSON.stringify(enforcement) }],
    });
    await producer.disconnect();
    await waitFor('the SET', async () => receiver.caep.length >= 1, 30_000);
    const [h, c, s] = (receiver.caep[0] as string).split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toMatchObject({
      alg: 'ES256',
      typ: 'secevent+jwt',
      kid: 'k1',
    });
    expect(JSON.parse(Buffer.from(c, 'base64url').toString())).toMatchObject({
      iss: 'https://vigil.test',
      aud: 'https://idp.test',
      sub_id: { format: 'opaque', id: 'alice' },
      events: { [SESSION_REVOKED]: { initiating_entity: 'policy' } },
    });
    expect(
      verifySignature(
        'sha256',
        Buffer.from(`${h}.${c}`),
        { key: keys.publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(s, 'base64url'),
      ),
    ).toBe(true);
  });

  it(
    'records analysts’ verdicts from the authenticated ' + 'callback and from vigil label; errors are generic',
    async () => {
      const port = Number(/"labels_port":(\d+)/.exec(alerter.output())?.[1]);
      const post = (auth: string | undefined, body: string) =>
        fetch(`http://127.0.0.1:${port}/v1/labels`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
          body,
        }).then(async (r) => [r.status, await r.text()]);
      expect(await post(undefined, '{"alert_id":"va_1","verdict":"false_positive"}')).toEqual([
        401,
        '{"status":"unauthorized"}',
      ]);
      expect(await post('Bearer wrong-token-12345', '{"alert_id":"va_1","verdict":"false_positive"}')).toEqual([
        401,
        '{"status":"unauthorized"}',
      ]);
      expect(await post('Bearer label-token-123', '{"verdict":"maybe"}')).toEqual([400, '{"status":"invalid label"}']);
      expect(await post('Bearer label-token-123', 'not json')).toEqual([400, '{"status":"invalid label"}']);
      expect(
        (await post('Bearer label-token-123', '{"alert_id":"va_1","verdict":"false_positive","analyst":"kim"}'))[0],
      ).toBe(202);
      const file = join(tmpdir(), `${randomName('alerter-config')}.json`);
      writeFileSync(file, JSON.stringify({ ...config, labels: { port: 0 } }));
      vigilCli(['label', '--config', file, '--verdict', 'true_positive', '--request-id', 'e1-r0', '--analyst', 'lee']);
      const rows = await (
        await ch.query({
          query: `SELECT request_id, alert_id, verdict, analyst FROM ${prefix}labels FINAL ORDER BY analyst`,
          format: 'JSONEachRow',
        })
      ).json();
      expect(rows).toEqual([
        { request_id: '', alert_id: 'va_1', verdict: 'false_positive', analyst: 'kim' },
        { request_id: 'e1-r0', alert_id: '', verdict: 'true_positive', analyst: 'lee' },
      ]);
    },
  );
});
