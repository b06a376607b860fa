// ClickHouse connection and batching settings, as data (descriptions, defaults, examples; unknown keys rejected).
import {
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
  ClickHouseLogLevel,
  createClient,
} from '@clickhouse/client';
import { z } from 'zod';

export const clickhouseConfigSchema = z
  .strictObject({
    url: z
      .url()
      .describe('HTTP endpoint of the server.')
      .meta({ examples: ['http://clickhouse:8123'] }),
    database: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .default('default')
      .describe('Database holding vigil’s tables.'),
    username: z.string().default('default'),
    password: z
      .string()
      .default('')
      .describe('Prefer setting it through the environment (VIGIL_CLICKHOUSE__PASSWORD).'),
    table_prefix: z
      .string()
      .regex(/^[A-Za-z0-9_]*$/)
      .default('vigil_')
      .describe('Prefix of every table name.'),
    batch_max_rows: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .describe('An insert is sent when this many rows are buffered…'),
    batch_max_age_ms: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe('…or when the oldest buffered row is this old.'),
    retention_days: z.number().int().positive().default(30).describe('Daily partitions older than this are dropped.'),
    access_sample_rate: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe('Share of access events stored (deterministic by request id).'),
    pseudonymise: z
      .boolean()
      .default(false)
      .describe('Store usernames and client IPs as keyed hashes in analytics tables.'),
  })
  .describe('Where vigil writes what it sees and decides.');
export type ClickHouseConfig = z.infer<typeof clickhouseConfigSchema>;

/**
 * The client every service and command opens from this config. The client's own error logs print request details;
 * vigil reports failures through its own events, so they are off. Without `database`, the server's default;
 * `extra` adds options (a request timeout).
 */
export function clickhouseClient(
  ch: Pick<ClickHouseConfig, 'url' | 'username' | 'password'> & { database?: string },
  extra: ClickHouseClientConfigOptions = {},
): ClickHouseClient {
  return createClient({
    url: ch.url,
    username: ch.username,
    password: ch.password,
    database: ch.database,
    log: { level: ClickHouseLogLevel.OFF },
    ...extra,
  });
}
