// Fault suite, a SOC receiver's outage, time-compressed by config (a 60 s retry budget stands for the default hour,
// a 10 s outage for ten minutes): alerts raised while the receiver answers 500 wait on the durable retry queue and
// are all delivered, once each, when it is back — every attempt signed afresh, so the receiver's five-minute
// timestamp tolerance holds however long the outage. Deliveries run concurrently. A receiver that stays down past the
// budget gets its messages dead-lettered, and only then. The alerter stays up and healthy throughout.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Decision } from '@vigil/events';
import type { Kafka } from 'kafkajs';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import {
  type DetectorProcess,
  deleteTopics,
  kafkaClient,
  randomName,
  readTopic,
  requiredEnv,
  startServiceProcess,
  waitFor,
} from '../support/services.js';

const SECRET = `whsec_${Buffer.from('receiver-outage-secret-0123456789abcd').toString('base64')}`;
const OUTAGE_MS = 10_000;
const BUDGET_MS = 60_000;
const INCIDENTS = 40;

function decision(entity: number): Decision {
  return {
    ts: Date.now() - 30_000,
    decided_at: Date.now(),
    request_id: `outage-e${entity}`,
    action: 'alert',
    entity: 'principal',
    score: 0.95,
    scores: { iforest: 0.9, autoencoder: 0.95 },
    principal: { sub: `outage-user-${entity}`, client_ip: '203.0.113.9' },
    reasons: [{ feature: 'distinct_objects_10m_log', value: 4, baseline: 0.7, contribution: 0.6 }],
    bundle: 'test',
    dry_run: false,
  };
}

/** Answers 500 while down; then verifies each delivery's signature and timestamp like a Standard Webhooks receiver. */
class Receiver {
  server!: Server;
  port = 0;
  down = true;
  failed = 0;
  rejected = 0;
  inFlight = 0;
  maxInFlight = 0;
  readonly accepted = new Map<string, number>();

  async start() {
    this.server = createServer((req, res) => {
      let body = '';
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        // A little service time, as a real receiver has: concurrent deliveries overlap in it.
        setTimeout(() => {
          this.inFlight--;
          if (req.url === '/gone' || this.down) {
            this.failed++;
            return void res.writeHead(500).end();
          }
          try {
            new Webhook(SECRET).verify(body, req.headers as Record<string, string>);
          } catch {
            this.rejected++;
            return void res.writeHead(401).end();
          }
          const id = String(req.headers['webhook-id']);
          this.accepted.set(id, (this.accepted.get(id) ?? 0) + 1);
          res.writeHead(204).end();
        }, 20);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }
}

describe('fault suite: a receiver outage', () => {
  const kafka: Kafka = kafkaClient();
  const topics = {
    decisions: randomName('decisions'),
    revocations: randomName('revocations'),
    dlq: randomName('alerts-dlq'),
    retry: randomName('retry'),
  };
  const receiver = new Receiver();
  let alerter: DetectorProcess | undefined;

  afterAll(async () => {
    alerter?.child.kill('SIGKILL');
    receiver.server?.close();
    await deleteTopics(kafka, Object.values(topics));
  });

  it('queues alerts durably through the outage and delivers each once ' +
    'when the receiver is back; dead-letters only past the budget', async () => {
    await receiver.start();
    const base = `http://127.0.0.1:${receiver.port}`;
    const retry = { timeout_ms: 1000, max_attempts: 2, initial_backoff_ms: 50, max_backoff_ms: 2000 };
    alerter = startServiceProcess(
      'alert',
      {
        kafka: { brokers: requiredEnv('KAFKA_BROKERS').split(',') },
        consumer: {
          group_id: randomName('alerter'),
          topics: [topics.decisions],
          session_timeout_ms: 6000,
          heartbeat_interval_ms: 1000,
        },
        topics: { revocations: topics.revocations, dead_letter: topics.dlq, retry: topics.retry, partitions: 3 },
        retry: { budget_ms: BUDGET_MS, concurrency: 8 },
        incident_window_ms: 600_000,
        receivers: [
          { name: 'soc', url: `${base}/soc`, format: 'ocsf', secret_env: 'SOC_SECRET', ...retry },
          { name: 'gone', url: `${base}/gone`, format: 'generic', secret_env: 'SOC_SECRET', ...retry },
        ],
        telemetry: { port: 0 },
      },
      { SOC_SECRET: SECRET },
    );
    const a = alerter;
    onTestFailed(() => console.log(a.output().slice(-4000)));
    await waitFor('the alerter to start', async () => {
      a.assertAlive();
      return a.output().includes('alerter started');
    });

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const started = Date.now();
    const ds = Array.from({ length: INCIDENTS }, (_, e) => decision(e));
    await producer.send({
      topic: topics.decisions,
      acks: -1,
      messages: ds.map((d) => ({ key: d.principal.sub as string, value: JSON.stringify(d) })),
    });
    await producer.disconnect();

    // The outage: everything fails; then the receiver comes back.
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    expect(receiver.accepted.size).toBe(0);
    const failedDuringOutage = receiver.failed;
    receiver.down = false;
    await waitFor(
      'every alert delivered after the outage',
      async () => {
        a.assertAlive();
        return receiver.accepted.size >= INCIDENTS;
      },
      BUDGET_MS,
    );
    const deliveredAfterMs = Date.now() - started;
    expect(receiver.accepted.size).toBe(INCIDENTS);
    expect([...receiver.accepted.values()].every((n) => n === 1)).toBe(true);
    expect(receiver.rejected).toBe(0);

    // The receiver that never came back: its messages are dead letters once the budget is spent, not before.
    const dead = await readTopic(kafka, topics.dlq, (v) => v.length >= INCIDENTS, BUDGET_MS + 60_000);
    const deadAfterMs = Date.now() - started;
    const letters = dead.map((d) => JSON.parse(d.value) as { receiver: string; reason: string });
    expect(letters.every((l) => l.receiver === 'gone' && l.reason === 'attempts_exhausted')).toBe(true);
    expect(letters).toHaveLength(INCIDENTS);
    expect(deadAfterMs).toBeGreaterThanOrEqual(BUDGET_MS);
    a.assertAlive();
    console.log(
      `receiver outage (${OUTAGE_MS / 1000} s, budget ${BUDGET_MS / 1000} s): ` +
        `${INCIDENTS} alerts, ${failedDuringOutage} failed attempts during the outage, ` +
        `all ${receiver.accepted.size} delivered once ${deliveredAfterMs} ` +
        'ms after they were raised, 0 rejected signatures, ' +
        `up to ${receiver.maxInFlight} deliveries at once; the receiver that ` +
        `stayed down: ${letters.length} dead letters after ${deadAfterMs} ms`,
    );
  }, 300_000);
});
