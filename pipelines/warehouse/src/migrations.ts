// Versioned schema migrations for vigil's ClickHouse tables. The SQL runs on 18.16 (Debian) and on current
// releases: times are UInt64 epoch ms (no DateTime64), no TTL or Map; rows are idempotent through
// ReplacingMergeTree keyed by source position (read with FINAL); retention drops daily partitions.
import type { ClickHouseClient } from '@clickhouse/client';

export interface Migration {
  version: number;
  description: string;
  statements: (prefix: string) => string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'access events, features, decisions, revocations, alerts, labels',
    statements: (p) => [
      `CREATE TABLE IF NOT EXISTS ${p}access_events (
        day Date, ts UInt64, request_id String, gateway String, method String, route String, path String,
        status UInt16, latency_ms Float64, bytes_in UInt64, bytes_out UInt64, client_ip String,
        principal_key String, sub String, jti String, token_fingerprint String, client_id String, username String,
        user_agent String, service String, tx_amount Nullable(Float64), tx_currency String, tx_payee String, ` +
        `tx_account String,
        src_topic String, src_partition UInt32, src_offset UInt64, src_index UInt32, ingested_at UInt64
      ) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY day ` +
        'ORDER BY (src_topic, src_partition, src_offset, src_index)',
      `CREATE TABLE IF NOT EXISTS ${p}features (
        day Date, ts UInt64, request_id String, principal_key String, bundle String,
        names Array(String), values Array(Float64),
        src_topic String, src_partition UInt32, src_offset UInt64, src_index UInt32, ingested_at UInt64
      ) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY day ` +
        'ORDER BY (src_topic, src_partition, src_offset, src_index)',
      `CREATE TABLE IF NOT EXISTS ${p}decisions (
        day Date, ts UInt64, decided_at UInt64, request_id String, action String, entity String, score Float64,
        score_iforest Float64, score_autoencoder Float64, score_rules Nullable(Float64), principal_key String,
        principal String, reasons String, bundle String, dry_run UInt8, shadow UInt8,
        src_topic String, src_partition UInt32, src_offset UInt64, src_index UInt32, ingested_at UInt64
      ) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY day ` +
        'ORDER BY (src_topic, src_partition, src_offset, src_index, bundle)',
      `CREATE TABLE IF NOT EXISTS ${p}revocations (
        day Date, ts UInt64, action_id String, request_id String, action String, identifier_kind String,
        identifier String, adapter String, outcome String, dry_run UInt8, reasons String, expires_at UInt64, ` +
        `ingested_at UInt64
      ) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY day ORDER BY (action_id, adapter)`,
      `CREATE TABLE IF NOT EXISTS ${p}alerts (
        day Date, ts UInt64, alert_id String, entity String, entity_key String, severity String, first_seen UInt64,
        last_seen UInt64, events UInt32, receiver String, outcome String, ingested_at UInt64
      ) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY day ORDER BY (alert_id, receiver)`,
      `CREATE TABLE IF NOT EXISTS ${p}labels (
        day Date, ts UInt64, request_id String, alert_id String, verdict String, analyst String, note String, ` +
        `ingested_at UInt64
      ) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY day ORDER BY (request_id, alert_id)`,
    ],
  },
  {
    version: 2,
    // Version 1's features table was never written to. 18.16 has no ADD COLUMN IF NOT EXISTS, so it is replaced (both
    // statements are idempotent): the feature-schema hash per row instead of the names (a bundle or
    // `vigil features` states the names of a hash), the vector as v.
    description: 'features: one row per request with its feature-schema hash and vector',
    statements: (p) => [
      `DROP TABLE IF EXISTS ${p}features`,
      `CREATE TABLE IF NOT EXISTS ${p}features (
        day Date, ts UInt64, request_id String, principal_key String, schema String, v Array(Float64),
        src_topic String, src_partition UInt32, src_offset UInt64, src_index UInt32, ingested_at UInt64
      ) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY day ` +
        'ORDER BY (src_topic, src_partition, src_offset, src_index)',
    ],
  },
  {
    version: 3,
    // 18.16 has no ADD COLUMN IF NOT EXISTS: migrate() treats "already exists" from an ADD COLUMN as done, so a
    // migration that died after the ALTER is safe to run again.
    description: 'decisions: the context of the triggering request (route, route class, tenant, country) as JSON',
    statements: (p) => [`ALTER TABLE ${p}decisions ADD COLUMN context String DEFAULT ''`],
  },
];

/**
 * Applies the migrations not yet recorded in <prefix>schema_migrations, in order. Safe to run concurrently and
 * repeatedly.
 */
export async function migrate(client: ClickHouseClient, prefix: string): Promise<number[]> {
  await client.command({
    query:
      `CREATE TABLE IF NOT EXISTS ${prefix}schema_migrations ` +
      `(version UInt32, description String, applied_at UInt64)
            ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`,
  });
  const result = await client.query({
    query: `SELECT DISTINCT version FROM ${prefix}schema_migrations`,
    format: 'JSONEachRow',
  });
  const applied = new Set((await result.json<{ version: number | string }>()).map((r) => Number(r.version)));
  const ran: number[] = [];
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    // CREATE … IF NOT EXISTS makes a migration that died half-way safe to run again.
    for (const statement of m.statements(prefix)) {
      try {
        await client.command({ query: statement });
      } catch (err) {
        if (!(/\bADD COLUMN\b/i.test(statement) && /already exists/i.test((err as Error).message))) throw err;
      }
    }
    await client.insert({
      table: `${prefix}schema_migrations`,
      values: [{ version: m.version, description: m.description, applied_at: Date.now() }],
      format: 'JSONEachRow',
    });
    ran.push(m.version);
  }
  return ran;
}

/** Drops daily partitions older than retentionDays (ClickHouse 18.16 has no TTL). Returns the partitions dropped. */
export async function dropExpiredPartitions(
  client: ClickHouseClient,
  database: string,
  prefix: string,
  retentionDays: number,
  now: number,
): Promise<string[]> {
  const cutoff = new Date(now - retentionDays * 86_400_000).toISOString().slice(0, 10);
  // 18.16 has no query parameters; every inlined value is checked against a strict pattern first.
  if (!/^[A-Za-z0-9_]+$/.test(database) || !/^[A-Za-z0-9_]*$/.test(prefix))
    throw new Error('invalid database or table prefix');
  const result = await client.query({
    query:
      `SELECT DISTINCT table, partition FROM system.parts
            WHERE database = '${database}' AND active AND startsWith(table, '${prefix}') ` +
      `AND table != '${prefix}schema_migrations'
              AND partition < '${cutoff}'`,
    format: 'JSONEachRow',
  });
  const dropped: string[] = [];
  for (const { table, partition } of await result.json<{ table: string; partition: string }>()) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(partition) || !/^[A-Za-z0-9_]+$/.test(table)) continue;
    await client.command({ query: `ALTER TABLE ${table} DROP PARTITION '${partition}'` });
    dropped.push(`${table}/${partition}`);
  }
  return dropped;
}
