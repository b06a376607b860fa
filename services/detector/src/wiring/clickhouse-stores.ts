// What the detector keeps in ClickHouse (config: clickhouse): access events as ingest writes them (sampled), and —
// each from its topic, in its own consumer group — feature records and decision records, for analysts, `vigil
// explain` and training. Plus the retention run: ClickHouse 18.16 has no TTL, so expired daily partitions are dropped
// hourly (wall clock: I/O only).
import {
  ClickHouseSink,
  type ClickHouseSinkOptions,
  clickhouseClient,
  deadLetterPoisonWriter,
  KafkaSource,
} from '@vigil/connectors';
import { type AccessEvent, type Decision, unitHash } from '@vigil/events';
import type { FeatureRecord } from '@vigil/features';
import { logEvent } from '@vigil/runtime';
import {
  accessEventRow,
  decisionRow,
  dropExpiredPartitions,
  featureRow,
  identity,
  keyedHash,
  migrate,
} from '@vigil/warehouse';
import { retried, stageConsumer, type Wiring } from './context.js';

/** A topic's records into a table, in the store's own consumer group. */
export interface TopicStore<T, Row extends Record<string, unknown>> {
  source: KafkaSource;
  sink: ClickHouseSink<T, Row>;
}

export interface ClickHouseStores {
  /** Access events, written by the ingest stage beside the keyed topic. */
  analytics: ClickHouseSink<AccessEvent, ReturnType<typeof accessEventRow>>;
  features?: TopicStore<FeatureRecord, ReturnType<typeof featureRow>>;
  decisions?: TopicStore<Decision, ReturnType<typeof decisionRow>>;
  close(): Promise<void>;
}

/** Deterministic sampling by request id, so a replay stores the same sample. */
const sampledById = (requestId: string, rate: number) => rate >= 1 || unitHash(requestId) < rate;

/** Migrates the schema and builds the stores the config asks for; undefined without a clickhouse section. */
export async function clickhouseStores(w: Wiring): Promise<ClickHouseStores | undefined> {
  const { config, kafka, dlqSink, onRetry } = w;
  const ch = config.clickhouse;
  if (!ch) return undefined;
  // The client's own error logs print request details; vigil reports failures through its own events.
  const client = clickhouseClient(ch);
  await retried(w, 'clickhouse_migrate', () => migrate(client, ch.table_prefix));
  const pseudo = ch.pseudonymise ? keyedHash(config.pepper.secret) : identity;
  const sink = <T, Row extends Record<string, unknown>>(table: string, toRow: ClickHouseSinkOptions<T, Row>['toRow']) =>
    new ClickHouseSink<T, Row>(client, {
      table: `${ch.table_prefix}${table}`,
      maxRows: ch.batch_max_rows,
      maxAgeMs: ch.batch_max_age_ms,
      onRetry: onRetry('clickhouse_insert'),
      toRow,
    });
  // Each store reads in the group its stage declares (topology.ts: features_store, decisions_store).
  const source = (name: string) =>
    new KafkaSource(kafka, stageConsumer(w, name), { poison: deadLetterPoisonWriter(name, dlqSink) });

  const analytics = sink<AccessEvent, ReturnType<typeof accessEventRow>>('access_events', (r) =>
    r.position && sampledById(r.value.request_id, ch.access_sample_rate)
      ? accessEventRow(r.value, r.position, pseudo, Date.now())
      : undefined,
  );
  const retention = setInterval(() => {
    dropExpiredPartitions(client, ch.database, ch.table_prefix, ch.retention_days, Date.now()).then(
      (dropped) => dropped.length > 0 && logEvent('info', 'dropped expired partitions', { count: dropped.length }),
      () => logEvent('warn', 'retention run failed; will retry', { stage: 'clickhouse_retention' }),
    );
  }, 3_600_000);
  retention.unref();
  const sc = config.scoring;
  const decisions =
    config.features.enabled && sc.bundle !== undefined
      ? {
          source: source('decisions_store'),
          sink: sink<Decision, ReturnType<typeof decisionRow>>('decisions', (r) =>
            r.position
              ? decisionRow(r.value, r.key ?? '', r.position.topic === sc.shadow_topic, r.position, pseudo, Date.now())
              : undefined,
          ),
        }
      : undefined;
  const features = config.features.enabled
    ? {
        source: source('features_store'),
        sink: sink<FeatureRecord, ReturnType<typeof featureRow>>('features', (r) =>
          r.position ? featureRow(r.value, r.position, pseudo, Date.now()) : undefined,
        ),
      }
    : undefined;
  return {
    analytics,
    ...(features ? { features } : {}),
    ...(decisions ? { decisions } : {}),
    close: async () => {
      clearInterval(retention);
      await features?.source.stop();
      await decisions?.source.stop();
      await Promise.allSettled([analytics.close(), features?.sink.close(), decisions?.sink.close()]);
      await client.close();
    },
  };
}
