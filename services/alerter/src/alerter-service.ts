// Wiring of the alerter service: decisions from Kafka → incidents → signed webhooks; new revocations → CAEP SETs;
// dead letters to Kafka; delivery audit and labels in ClickHouse; the label callback and the ops endpoints.
// No domain logic here.

import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClickHouseClient } from '@clickhouse/client';
import { metrics } from '@opentelemetry/api';
import {
  type AlertAudit,
  Alerter,
  type DeadLetter,
  type DeliveryResult,
  decodeRetryItem,
  deliverQueued,
  labelRow,
  labelSchema,
  type ReceiverTarget,
  type RetryItem,
} from '@vigil/alerting';
import {
  ackWhenSettled,
  ClickHouseSink,
  clickhouseClient,
  createKafka,
  deadLetterPoisonWriter,
  decodeOrPoison,
  ensureTopics,
  KafkaSink,
  KafkaSource,
} from '@vigil/connectors';
import { BackgroundWrites, DEFAULT_RETRY, withRetry } from '@vigil/core';
import { decodeEnforcement } from '@vigil/enforcement';
import { type Decision, decodeDecision, type DeadLetter as PoisonLetter, primeDecisionCheck } from '@vigil/events';
import { logEvent, type RunningService, type ServiceLife, type ServiceParts, startService } from '@vigil/runtime';
import { migrate } from '@vigil/warehouse';
import type { AlerterConfig } from './config.js';

/** The running alerter: stop(), done, its ops port, the label endpoint's port (when enabled) and the alerter. */
export type RunningAlerter = RunningService<{ labelsPort: number | undefined; alerter: Alerter }>;

const secretsFrom = (name: string | undefined, env: NodeJS.ProcessEnv) => {
  if (name === undefined) return [];
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} (a receiver's webhook secret) is not set`);
  return value.split(',').map((s) => s.trim());
};

export function auditRow(a: AlertAudit) {
  const i = a.message.incident;
  return {
    day: new Date(a.at).toISOString().slice(0, 10),
    ts: a.at,
    alert_id: a.message.id,
    entity: i.entity,
    entity_key: i.entity_key,
    severity: i.severity,
    first_seen: i.first_seen,
    last_seen: i.last_seen,
    events: i.events,
    receiver: a.receiver,
    outcome: `${a.result.outcome}:${a.result.attempts}:${a.result.status}`,
    ingested_at: Date.now(),
  };
}

export function openClickHouse(config: AlerterConfig, onRetry: (stage: string) => (err: unknown) => void) {
  const ch = config.clickhouse;
  if (!ch) return undefined;
  const client = clickhouseClient(ch);
  return {
    client,
    ready: withRetry(() => migrate(client, ch.table_prefix), DEFAULT_RETRY, { onRetry: onRetry('clickhouse_migrate') }),
    prefix: ch.table_prefix,
  };
}

/** Writes one verdict (the label callback and `vigil label`). */
export async function writeLabel(client: ClickHouseClient, prefix: string, body: unknown, now = Date.now()) {
  const label = labelSchema.parse(body);
  await client.insert({ table: `${prefix}labels`, values: [labelRow(label, now)], format: 'JSONEachRow' });
  return label;
}

export function startAlerter(config: AlerterConfig, env: NodeJS.ProcessEnv = process.env): Promise<RunningAlerter> {
  return startService('alerter', config.telemetry, (life) => alerterParts(config, env, life));
}

async function alerterParts(
  config: AlerterConfig,
  env: NodeJS.ProcessEnv,
  { counters, onRetry, runs }: ServiceLife,
): Promise<ServiceParts<{ labelsPort: number | undefined; alerter: Alerter }>> {
  const retryTopic = (receiver: string) => `${config.topics.retry}.${receiver}`;
  const target = (
    r: AlerterConfig['receivers'][number] | AlerterConfig['caep'][number],
    secrets: string[],
  ): ReceiverTarget => ({
    name: r.name,
    url: r.url,
    secrets,
    timeoutMs: r.timeout_ms,
    maxAttempts: r.max_attempts,
    initialBackoffMs: r.initial_backoff_ms,
    maxBackoffMs: r.max_backoff_ms,
  });
  const kafka = createKafka(config.kafka);
  await withRetry(
    () =>
      ensureTopics(kafka, [
        // The input too: started before the detector created it, the alerter would otherwise stop on its first fetch.
        ...config.consumer.topics.map((topic) => ({ topic, partitions: config.topics.partitions })),
        { topic: config.topics.dead_letter, partitions: config.topics.partitions },
        // One retry queue per receiver: a receiver that stays down holds back only its own messages.
        ...config.receivers.map((r) => ({ topic: retryTopic(r.name), partitions: config.topics.partitions })),
        { topic: config.topics.poison, partitions: config.topics.partitions },
        { topic: config.topics.revocations, partitions: config.topics.partitions, compacted: true },
      ]),
    DEFAULT_RETRY,
    { onRetry: onRetry('kafka_admin') },
  );
  const ch = openClickHouse(config, onRetry);
  await ch?.ready;
  const audit = ch
    ? new ClickHouseSink<AlertAudit, ReturnType<typeof auditRow>>(ch.client, {
        table: `${ch.prefix}alerts`,
        toRow: (r) => auditRow(r.value),
        maxRows: 1000,
        maxAgeMs: 200,
        onRetry: onRetry('clickhouse_audit'),
      })
    : undefined;
  const dlq = new KafkaSink<DeadLetter>(kafka, { topic: config.topics.dead_letter, onRetry: onRetry('kafka_dlq') });
  const retrySinks = new Map(
    config.receivers.map((r) => [
      r.name,
      new KafkaSink<RetryItem>(kafka, { topic: retryTopic(r.name), onRetry: onRetry('kafka_alert_retry') }),
    ]),
  );
  const poisonSink = new KafkaSink<PoisonLetter>(kafka, {
    topic: config.topics.poison,
    onRetry: onRetry('kafka_poison'),
  });
  const auditRows = async (rows: AlertAudit[]) => {
    for (const r of rows) {
      deliveries.add(1, { receiver: r.receiver, outcome: r.result.outcome });
      const fields = { id: r.message.id, receiver: r.receiver, outcome: r.result.outcome, attempts: r.result.attempts };
      logEvent(r.result.outcome === 'delivered' ? 'info' : 'warn', 'alert', fields);
    }
    await audit?.write(rows.map((value) => ({ value })));
  };
  const deadLetterItems = async (items: DeadLetter[]) => {
    for (const d of items)
      logEvent('warn', 'alert dead-lettered', { id: d.id, receiver: d.receiver, reason: d.reason, status: d.status });
    await dlq.write(items.map((value) => ({ key: value.id, value })));
  };
  const deliveries = metrics
    .getMeter('vigil')
    .createCounter('vigil_alert_deliveries', { description: 'Alert messages, by receiver and outcome.' });
  const alerter = new Alerter({
    receivers: config.receivers.map((r) => ({
      target: target(r, secretsFrom(r.secret_env, env)),
      format: r.format,
      minSeverity: r.min_severity,
    })),
    caep: config.caep.map((c) => ({
      target: target(c, []),
      options: {
        issuer: c.issuer,
        audience: c.audience,
        ...(c.subject_issuer !== undefined ? { subjectIssuer: c.subject_issuer } : {}),
        ...(c.private_key_file !== undefined ? { privateKeyPem: readFileSync(c.private_key_file, 'utf8') } : {}),
        ...(c.key_id !== undefined ? { keyId: c.key_id } : {}),
      },
    })),
    windowMs: config.incident_window_ms,
    audit: auditRows,
    deadLetter: deadLetterItems,
    retry: async (items) => {
      await Promise.all(
        items.map((value) =>
          (retrySinks.get(value.receiver) as KafkaSink<RetryItem>).write([
            { key: value.message.incident.alert_id, value },
          ]),
        ),
      );
    },
    concurrency: config.retry.concurrency,
  });

  // The retry workers, one consumer per receiver: a consumer fetches for all its partitions at once, so a message
  // waiting out one receiver's outage in a shared consumer would hold back every other receiver's queue. Each takes
  // its queued messages in order (per incident, by partition) until delivered, refused or out of budget; the offset
  // commits once the outcome (audit row, dead letter) is durable.
  const webhookTargets = new Map(config.receivers.map((r) => [r.name, target(r, secretsFrom(r.secret_env, env))]));
  const retrySources = config.receivers.map(
    (r) =>
      new KafkaSource(
        kafka,
        {
          ...config.consumer,
          group_id: `${config.consumer.group_id}.retry.${r.name}`,
          topics: [retryTopic(r.name)],
          from_beginning: true,
          partitions_consumed_concurrently: config.topics.partitions,
        },
        { poison: deadLetterPoisonWriter('alerter_retry', poisonSink) },
      ),
  );
  const retryWork = new BackgroundWrites();
  const retryHandler = ackWhenSettled(
    async (records, poison) => {
      for (const r of records) {
        const item = decodeOrPoison(r, decodeRetryItem, poison);
        if (!item) continue;
        const t = webhookTargets.get(item.receiver);
        const result: DeliveryResult = t
          ? await deliverQueued(t, item, { budgetMs: config.retry.budget_ms })
          : { outcome: 'dead_lettered', attempts: item.attempts, status: 0, reason: 'refused' };
        alerter.retried(item.receiver, item.message.incident.alert_id);
        retryWork.track(auditRows([{ at: Date.now(), message: item.message, receiver: item.receiver, result }]));
        if (result.outcome !== 'delivered') {
          const reason = t ? (result.reason ?? 'attempts_exhausted') : 'unknown_receiver';
          retryWork.track(
            deadLetterItems([
              { receiver: item.receiver, id: item.message.id, body: item.body, status: result.status, reason },
            ]),
          );
        }
      }
    },
    () => retryWork.settled(),
  );

  // Decisions, in order; a batch is done when every message it caused is delivered or dead-lettered. The check is
  // compiled now, not on the first decision.
  primeDecisionCheck();
  const decisions = new KafkaSource(kafka, config.consumer, { poison: deadLetterPoisonWriter('alerter', poisonSink) });
  // Deliveries are done when the work resolves; dead letters and audit rows follow, the offset commits after them.
  const handle = (fn: Parameters<typeof ackWhenSettled>[0]) => ackWhenSettled(fn, () => alerter.settled());
  for (const source of retrySources) runs.push(source.run(retryHandler));
  runs.push(
    decisions.run(
      handle(async (records, poison) => {
        counters.recordsIn('alerter', records.length);
        const decisions: Decision[] = [];
        for (const r of records) {
          const d = decodeOrPoison(r, decodeDecision, poison);
          if (d) decisions.push(d);
        }
        await alerter.handle(decisions);
      }),
    ),
  );
  // New revocations only (the topic holds the whole history): CAEP session-revoked.
  let revocations: KafkaSource | undefined;
  if (config.caep.length > 0) {
    revocations = new KafkaSource(
      kafka,
      {
        ...config.consumer,
        group_id: `${config.consumer.group_id}.caep`,
        topics: [config.topics.revocations],
        from_beginning: false,
      },
      { poison: deadLetterPoisonWriter('alerter_caep', poisonSink) },
    );
    const caep = revocations.run(
      handle(async (records, poison) => {
        for (const r of records) {
          if (r.value.length === 0) continue; // a tombstone: lifted or expired
          const e = decodeOrPoison(r, decodeEnforcement, poison);
          if (e?.action === 'revoke') await alerter.revoked(e);
        }
      }),
    );
    runs.push(caep);
  }
  const closer = setInterval(() => {
    alerter.flushDue().catch((err: unknown) =>
      logEvent('warn', 'closing incidents failed; will try again', {
        error: (err as { code?: string }).code ?? 'unknown',
      }),
    );
  }, 1000);

  // The label callback: POST /v1/labels with the bearer token; generic errors only.
  let labels: Server | undefined;
  const token = config.labels.token_env !== undefined ? env[config.labels.token_env] : undefined;
  if (config.labels.token_env !== undefined && !token)
    throw new Error(`environment variable ${config.labels.token_env} (the label callback's token) is not set`);
  if (token && ch) {
    const expected = Buffer.from(`Bearer ${token}`);
    labels = createServer((req, res) => {
      const reply = (status: number, text: string) =>
        void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status: text }));
      if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/v1/labels') return reply(404, 'not found');
      const given = Buffer.from(req.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return reply(401, 'unauthorized');
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
        if (body.length > 16_384) req.destroy();
      });
      req.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          return reply(400, 'invalid label');
        }
        writeLabel(ch.client, ch.prefix, parsed).then(
          () => reply(202, 'accepted'),
          (err: unknown) =>
            reply(
              (err as { name?: string }).name === 'ZodError' ? 400 : 503,
              (err as { name?: string }).name === 'ZodError' ? 'invalid label' : 'unavailable',
            ),
        );
      });
    });
    const server = labels;
    await new Promise<void>((r) => server.listen(config.labels.port, '0.0.0.0', r));
  }
  const labelsPort = labels ? (labels.address() as AddressInfo).port : undefined;
  return {
    fields: { receivers: config.receivers.length, caep: config.caep.length, labels_port: labelsPort ?? 0 },
    exposes: { labelsPort, alerter },
    teardown: async () => {
      clearInterval(closer);
      await decisions.stop();
      await revocations?.stop();
      await Promise.allSettled(retrySources.map((source) => source.stop()));
      await alerter.flushDue().catch(() => undefined);
      await dlq.close().catch(() => undefined);
      await poisonSink.close().catch(() => undefined);
      await Promise.allSettled([...retrySinks.values()].map((sink) => sink.close()));
      await audit?.close().catch(() => undefined);
      await new Promise<void>((r) => (labels ? labels.close(() => r()) : r()));
      await ch?.client.close();
    },
  };
}
