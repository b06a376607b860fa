// vigil's ClickHouse schema on the real server (Debian's 18.16 in CI): migrations apply once and are safe to rerun,
// redelivered rows collapse under FINAL, retention drops whole daily partitions, pseudonymisation hides usernames
// and client IPs while keeping them groupable.
import { ClickHouseSink } from '@vigil/connectors';
import type { AccessEvent } from '@vigil/events';
import { accessEventRow, dropExpiredPartitions, keyedHash, MIGRATIONS, migrate } from '@vigil/warehouse';
import { afterAll, describe, expect, it } from 'vitest';
import { clickhouseClient, clickhouseCount, dropTablesWithPrefix, randomName } from '../support/services.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 28, 12);

const event = (ts: number, id: string, username: string): AccessEvent => ({
  ts,
  request_id: id,
  gateway: 'kong',
  method: 'GET',
  path: '/v1/accounts/1',
  route: '/v1/accounts/{id}',
  object_ids: ['1'],
  query_keys: [],
  status: 200,
  client_ip: '203.0.113.5',
  principal: { username, client_ip: '203.0.113.5' },
});

describe('ClickHouse schema and sink', () => {
  const ch = clickhouseClient();
  const prefix = `${randomName('ch')}_`;
  const table = `${prefix}access_events`;

  afterAll(async () => {
    await dropTablesWithPrefix(ch, prefix);
    await ch.close();
  });

  it('applies every migration once; a second run applies none', async () => {
    expect(await migrate(ch, prefix)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await migrate(ch, prefix)).toEqual([]);
    const tables = await clickhouseCount(
      ch,
      `SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND startsWith(name, '${prefix}')`,
    );
    expect(tables).toBe(7);
  });

  it('keeps one row per source position when a batch is written twice', async () => {
    const sink = new ClickHouseSink<AccessEvent, ReturnType<typeof accessEventRow>>(ch, {
      table,
      maxRows: 100,
      maxAgeMs: 10,
      toRow: (r) => (r.position ? accessEventRow(r.value, r.position, keyedHash('k'), Date.now()) : undefined),
    });
    const records = [0, 1, 2].map((i) => ({
      value: event(NOW - (i === 2 ? 40 * DAY : 0), `r-${i}`, `user${i}`),
      position: { topic: 'in', partition: 0, offset: String(i) },
    }));
    await sink.write(records);
    await sink.write(records);
    await sink.close();
    expect(await clickhouseCount(ch, `SELECT count() AS n FROM ${table}`)).toBe(6);
    expect(await clickhouseCount(ch, `SELECT count() AS n FROM ${table} FINAL`)).toBe(3);
  });

  it('stores pseudonyms instead of usernames and client IPs, the same pseudonym for the same value', async () => {
    const rows = await (
      await ch.query({
        query: `SELECT username, client_ip, principal_key FROM ${table} FINAL ORDER BY request_id`,
        format: 'JSONEachRow',
      })
    ).json<{
      username: string;
      client_ip: string;
      principal_key: string;
    }>();
    expect(rows.map((r) => r.username)).toEqual(['user0', 'user1', 'user2'].map(keyedHash('k')));
    expect(new Set(rows.map((r) => r.client_ip))).toEqual(new Set([keyedHash('k')('203.0.113.5')]));
    expect(rows[0]?.principal_key).toBe(`user:${keyedHash('k')('user0')}`);
    expect(JSON.stringify(rows)).not.toContain('203.0.113.5');
  });

  it('drops daily partitions older than the retention period, and only those', async () => {
    const dropped = await dropExpiredPartitions(ch, 'default', prefix, 30, NOW);
    expect(dropped).toEqual([`${table}/${new Date(NOW - 40 * DAY).toISOString().slice(0, 10)}`]);
    expect(await clickhouseCount(ch, `SELECT count() AS n FROM ${table} FINAL`)).toBe(2);
  });
});
