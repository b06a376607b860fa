// Fault suite, enforcement targets restarting during a burst of decisions: the revoker enforces 300 revocations while
// HAProxy is restarted (its runtime maps are lost) and then Redis (no persistence: it comes back empty), each down
// for a moment. Afterwards both hold every revocation exactly once — the restarted ones re-synced from
// vigil.revocations — and the target that stayed up never waited for the one that was down.
import type { Decision } from '@vigil/events';
import type { Kafka, Producer } from 'kafkajs';
import { createClient } from 'redis';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { type Haproxy, type Redis, showMap, startBackend, startHaproxy, startRedis } from '../support/gateway.js';
import {
  type DetectorProcess,
  deleteTopics,
  kafkaClient,
  randomName,
  requiredEnv,
  startServiceProcess,
  waitFor,
} from '../support/services.js';

const PEPPER = 'targets-restart-pepper-0123456789abcdef';
const BURST = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function revoke(i: number): Decision {
  return {
    ts: Date.now() - 1000,
    decided_at: Date.now(),
    request_id: `burst-${i}`,
    action: 'revoke',
    entity: 'principal',
    score: 0.9999,
    scores: { iforest: 0.9, autoencoder: 0.9, rules: 1 },
    principal: { jti: `burst-jti-${i}` },
    reasons: [{ feature: 'rule:impossible_travel:geo_speed_kmh', value: 9000, baseline: 1000, contribution: 1 }],
    bundle: 'test',
    dry_run: false,
    context: { route: '/v1/accounts/{id}', route_class: 'default', tenant: `t${i}` },
  };
}

describe('fault suite: enforcement targets restart during a burst of decisions', () => {
  const kafka: Kafka = kafkaClient();
  const topics = { decisions: randomName('decisions'), revocations: randomName('revocations') };
  let backend: Awaited<ReturnType<typeof startBackend>> | undefined;
  let haproxy: Haproxy | undefined;
  let redis: Redis | undefined;
  let revoker: DetectorProcess | undefined;
  let producer: Producer | undefined;

  afterAll(async () => {
    revoker?.child.kill('SIGKILL');
    await producer?.disconnect();
    await haproxy?.stop();
    await redis?.stop();
    await backend?.close();
    await deleteTopics(kafka, Object.values(topics));
  });

  it('ends with every revocation at both targets, once each', async () => {
    backend = await startBackend();
    const h = await startHaproxy(backend.port, PEPPER);
    haproxy = h;
    const r = await startRedis();
    redis = r;
    const rv = startServiceProcess('revoke', {
      kafka: { brokers: requiredEnv('KAFKA_BROKERS').split(',') },
      consumer: {
        group_id: randomName('revoker'),
        topics: [topics.decisions],
        session_timeout_ms: 6000,
        heartbeat_interval_ms: 1000,
      },
      topics: { revocations: topics.revocations, notices: topics.decisions, partitions: 3 },
      enforce: true,
      caps: { per_minute: 100_000, per_tenant_per_minute: 100 },
      adapters: {
        haproxy: [{ socket: h.socket, maps: h.maps }],
        redis: [{ url: r.url, prefix: 'vigil:deny:', channel: 'vigil:revocations' }],
      },
      resync_check_ms: 300,
      telemetry: { port: 0 },
    });
    revoker = rv;
    onTestFailed(() => console.log(rv.output().slice(-4000)));
    await waitFor('the revoker', async () => {
      rv.assertAlive();
      return rv.output().includes('revoker started');
    });
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const p = producer;
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i += 10) {
        await p.send({
          topic: topics.decisions,
          acks: -1,
          messages: Array.from({ length: Math.min(10, to - i) }, (_, k) => revoke(i + k)).map((d) => ({
            key: d.principal.jti as string,
            value: JSON.stringify(d),
          })),
        });
        await sleep(20);
      }
    };
    // The burst, with HAProxy restarted in its first third and Redis restarted empty in its second.
    const started = Date.now();
    await send(0, 60);
    await h.stop();
    await send(60, 100);
    await h.start();
    await send(100, 180);
    await r.stop();
    await send(180, 220);
    await r.start();
    await send(220, BURST);

    const jtis = () => showMap(h.socket, h.maps.revoke_jti as string).then((m) => m.map(([k]) => k));
    const reader = createClient({ url: r.url });
    await reader.connect();
    const keys = () => reader.keys('vigil:deny:jti:*');
    await waitFor(
      'every revocation at both targets',
      async () => (await jtis()).length >= BURST && (await keys()).length >= BURST,
      60_000,
      300,
    );
    const tookMs = Date.now() - started;
    const inHaproxy = await jtis();
    const inRedis = await keys();
    await reader.close();
    const expected = Array.from({ length: BURST }, (_, i) => `burst-jti-${i}`).sort();
    expect([...inHaproxy].sort()).toEqual(expected);
    expect(new Set(inHaproxy).size).toBe(inHaproxy.length); // once each
    expect(inRedis.map((k) => k.slice('vigil:deny:jti:'.length)).sort()).toEqual(expected);
    const queued = (rv.output().match(/"outcome":"queued"/g) ?? []).length;
    const resynced = (rv.output().match(/caught up by a re-sync|lost its lists/g) ?? []).length;
    rv.assertAlive();
    console.log(
      `targets restarted during a burst: ${BURST} revocations, HAProxy and ` +
        `Redis each hold all ${BURST} once ${tookMs} ms after the burst began; ` +
        `${queued} enforcements queued while a target was down, ${resynced} re-syncs`,
    );
  }, 240_000);
});
