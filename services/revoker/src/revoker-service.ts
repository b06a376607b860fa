// Wiring of the revoker service: config in → Kafka consumer on the decision topic, the revocation store (loaded
// from its compacted topic), gateway adapters, guardrails, audit rows in ClickHouse, cap notices back onto the
// decision topic, timers for expiry and gateway re-sync, and the ops endpoints. No domain logic here.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics } from '@opentelemetry/api';
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
import { DEFAULT_RETRY, withRetry } from '@vigil/core';
import {
  Allowlist,
  type AuditEntry,
  buildTargets,
  checkRequest,
  KafkaRevocationLog,
  RateCaps,
  RevocationStore,
  Revoker,
} from '@vigil/enforcement';
import { type DeadLetter, type Decision, decodeDecision, primeDecisionCheck } from '@vigil/events';
import { logEvent, type RunningService, type ServiceLife, type ServiceParts, startService } from '@vigil/runtime';
import { migrate } from '@vigil/warehouse';
import type { RevokerConfig } from './config.js';

/** The running revoker: stop(), done, its ops port, the check endpoint's port (when enabled) and the revoker. */
export type RunningRevoker = RunningService<{ checkPort: number | undefined; revoker: Revoker }>;

export function auditRow(a: AuditEntry) {
  const e = a.enforcement;
  return {
    day: new Date(a.at).toISOString().slice(0, 10),
    ts: a.at,
    action_id: a.action_id,
    request_id: e.request_id,
    action: e.action,
    identifier_kind: e.kind,
    identifier: e.value,
    adapter: a.adapter,
    outcome: a.outcome,
    dry_run: a.dry_run ? 1 : 0,
    reasons: JSON.stringify({
      reasons: e.reasons,
      ...(a.detail ? { detail: a.detail } : {}),
      ...(e.tenant ? { tenant: e.tenant } : {}),
    }),
    expires_at: e.expires_at,
    ingested_at: Date.now(),
  };
}

/** Builds the revoker on the store loaded from Kafka (shared by the service and `vigil revoke --undo`). */
export async function openRevoker(config: RevokerConfig, onRetry: (stage: string) => (err: unknown) => void) {
  const kafka = createKafka(config.kafka);
  await withRetry(
    () =>
      ensureTopics(kafka, [
        { topic: config.topics.revocations, partitions: config.topics.partitions, compacted: true },
        // The input too: started before the detector created it, the revoker would otherwise stop on its first fetch.
        ...config.consumer.topics.map((topic) => ({ topic, partitions: config.topics.partitions })),
        { topic: config.topics.notices, partitions: config.topics.partitions },
        { topic: config.topics.poison, partitions: config.topics.partitions },
      ]),
    DEFAULT_RETRY,
    { onRetry: onRetry('kafka_admin') },
  );
  const loaded = await withRetry(() => KafkaRevocationLog.load(kafka, config.topics.revocations), DEFAULT_RETRY, {
    onRetry: onRetry('revocations_load'),
  });
  const log = new KafkaRevocationLog(kafka, config.topics.revocations);
  // Connected now (the connection, the producer id), not on the first enforcement: that one is the urgent one.
  await withRetry(() => log.connect(), DEFAULT_RETRY, { onRetry: onRetry('revocations_connect') });
  primeDecisionCheck();
  const store = new RevocationStore(log, loaded);
  let audit: ClickHouseSink<AuditEntry, ReturnType<typeof auditRow>> | undefined;
  if (config.clickhouse) {
    const ch = config.clickhouse;
    const client = clickhouseClient(ch);
    await withRetry(() => migrate(client, ch.table_prefix), DEFAULT_RETRY, { onRetry: onRetry('clickhouse_migrate') });
    audit = new ClickHouseSink(client, {
      table: `${ch.table_prefix}revocations`,
      toRow: (r) => auditRow(r.value),
      maxRows: 1000,
      maxAgeMs: 200,
      onRetry: onRetry('clickhouse_audit'),
    });
  }
  const notices = new KafkaSink<Decision>(kafka, { topic: config.topics.notices, onRetry: onRetry('kafka_notices') });
  const outcomes = metrics
    .getMeter('vigil')
    .createCounter('vigil_enforcements', { description: 'Enforcement outcomes, by adapter and outcome.' });
  const revoker = new Revoker({
    adapters: buildTargets(config.adapters),
    store,
    allowlist: new Allowlist(config.allowlist),
    caps: new RateCaps(config.caps),
    enforce: config.enforce,
    ttl: {
      revokeTtlMs: config.ttl.revoke_s * 1000,
      throttleTtlMs: config.ttl.throttle_s * 1000,
      stepUpTtlMs: config.ttl.step_up_s * 1000,
    },
    audit: async (rows) => {
      for (const r of rows) {
        outcomes.add(1, { adapter: r.adapter, outcome: r.outcome });
        logEvent(r.outcome === 'failed' || r.outcome === 'capped' ? 'warn' : 'info', 'enforcement', {
          outcome: r.outcome,
          adapter: r.adapter,
          action: r.enforcement.action,
          kind: r.enforcement.kind,
          request_id: r.enforcement.request_id,
        });
      }
      await audit?.write(rows.map((value) => ({ value })));
    },
    notify: async (notice) => {
      logEvent('warn', 'enforcement cap reached: further decisions are only alerted', { notice: notice.request_id });
      await notices.write([{ key: notice.request_id, value: notice }]);
    },
    onRetry: (adapter, err) => onRetry(`adapter_${adapter}`)(err),
  });
  const close = async () => {
    await revoker.close();
    await log.close().catch(() => undefined);
    await notices.close().catch(() => undefined);
    await audit?.close().catch(() => undefined);
  };
  return { kafka, revoker, store, close };
}

export function startRevoker(config: RevokerConfig): Promise<RunningRevoker> {
  return startService('revoker', config.telemetry, (life) => revokerParts(config, life));
}

async function revokerParts(
  config: RevokerConfig,
  { counters, onRetry, runs }: ServiceLife,
): Promise<ServiceParts<{ checkPort: number | undefined; revoker: Revoker }>> {
  const { kafka, revoker, store, close } = await openRevoker(config, onRetry);
  // Every instance follows the topic, so it knows what the others enforced and what an operator lifted.
  const follower = await withRetry(
    () => KafkaRevocationLog.follow(kafka, config.topics.revocations, store),
    DEFAULT_RETRY,
    {
      onRetry: onRetry('revocations_follow'),
    },
  );
  // Gateways get the whole list at start: whatever they hold now may be stale or gone. In the background, so a
  // gateway that is down does not keep the revoker from starting; decisions queue behind it meanwhile.
  revoker.resync(true).then(
    (synced) =>
      logEvent('info', 'revocation lists synced', {
        entries: store.size,
        adapters: synced.join(','),
        enforce: config.enforce,
      }),
    (err: unknown) =>
      logEvent('warn', 'initial re-sync failed; the periodic check will retry', {
        error: (err as { code?: string }).code ?? 'unknown',
      }),
  );

  const poisonSink = new KafkaSink<DeadLetter>(kafka, {
    topic: config.topics.poison,
    onRetry: onRetry('kafka_poison'),
  });
  const source = new KafkaSource(kafka, config.consumer, { poison: deadLetterPoisonWriter('revoker', poisonSink) });
  // One decision after another: caps, duplicates and the store see them in order.
  const done = source.run(
    ackWhenSettled(
      async (records, poison) => {
        counters.recordsIn('revoker', records.length);
        for (const r of records) {
          const decision = decodeOrPoison(r, decodeDecision, poison);
          if (decision) await revoker.handle(decision);
        }
        // Gateways are done here; the audit rows follow in the background and the offset commits once they are durable.
      },
      () => revoker.settled(),
    ),
  );
  runs.push(done);
  let busy = false;
  const guarded = (what: string, fn: () => Promise<unknown>) => () => {
    if (busy) return;
    busy = true;
    fn()
      .catch((err: unknown) =>
        logEvent('warn', `${what} failed; will try again`, { error: (err as { code?: string }).code ?? 'unknown' }),
      )
      .finally(() => {
        busy = false;
      });
  };
  const prune = setInterval(
    guarded('prune', () => revoker.prune()),
    config.prune_interval_ms,
  );
  // Every resync_check_ms: targets that restarted empty (HAProxy's process, Redis' run_id) and targets that were down
  // (behind: skipped meanwhile, their enforcements queued in vigil.revocations) get their whole list again.
  // A target is reported down once, at the first check that finds it behind — however it got there (an enforcement
  // between checks, or this check's own re-sync attempt) — and back once it caught up.
  const reportedDown = new Set<string>();
  const resync = setInterval(
    guarded('resync', async () => {
      const behind = new Set(revoker.lag().map((l) => l.target));
      const synced = await revoker.resync();
      for (const name of synced) {
        logEvent(
          'warn',
          behind.has(name) ? 'target back; caught up by a re-sync' : 'target lost its lists (restarted?); re-synced',
          { adapter: name },
        );
        reportedDown.delete(name);
      }
      for (const l of revoker.lag()) {
        if (reportedDown.has(l.target)) continue;
        reportedDown.add(l.target);
        logEvent('warn', 'target down; queuing its enforcements', { adapter: l.target });
      }
    }),
    config.resync_check_ms,
  );
  metrics
    .getMeter('vigil')
    .createObservableGauge('vigil_enforcement_target_lag', {
      description: 'Enforcements waiting for a target that is down (0 when it is up), by target.',
    })
    .addCallback((result) => {
      const lag = new Map(revoker.lag().map((l) => [l.target, l.queued]));
      for (const target of revoker.targets) result.observe(lag.get(target) ?? 0, { adapter: target });
    });
  // The check endpoint (Envoy ext_authz): the store's verdict on a request, from its headers only.
  let check: Server | undefined;
  if (config.check.enabled) {
    check = createServer((req, res) => {
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const forwarded = header('x-forwarded-for')?.split(',')[0]?.trim();
      const clientIp = header('x-envoy-external-address') ?? forwarded ?? req.socket.remoteAddress;
      const verdict = checkRequest(
        (id) => store.get(id),
        {
          ...(header('authorization') ? { authorization: header('authorization') } : {}),
          ...(clientIp ? { clientIp } : {}),
        },
        {
          ...(config.pepper ? { pepper: config.pepper } : {}),
          now: Date.now(),
        },
      );
      res.writeHead(verdict.status, { 'content-type': 'application/json', ...verdict.headers }).end(verdict.body);
    });
    const server = check;
    await new Promise<void>((r) => server.listen(config.check.port, '0.0.0.0', r));
  }
  const checkPort = check ? (check.address() as AddressInfo).port : undefined;
  return {
    fields: {
      topics: config.consumer.topics.join(','),
      enforce: config.enforce,
      check_port: checkPort ?? 0,
    },
    exposes: { checkPort, revoker },
    teardown: async () => {
      clearInterval(prune);
      clearInterval(resync);
      await source.stop();
      await poisonSink.close().catch(() => undefined);
      await follower.stop().catch(() => undefined);
      await new Promise<void>((r) => (check ? check.close(() => r()) : r()));
      await close();
    },
  };
}
