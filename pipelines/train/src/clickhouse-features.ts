// Training data from ClickHouse: the feature records the detector stored (the features table), streamed in event-time
// order for one feature schema, so a bundle can be trained on what production saw without re-reading logs.
// ClickHouse 18.16 has no query parameters: the table name and the schema hash are checked against strict patterns
// before they are put in the SQL.
import type { ClickHouseClient } from '@clickhouse/client';

export interface FeatureTableRow {
  ts: number;
  request_id: string;
  principal: string;
  v: number[];
}

export async function readFeatureTable(
  client: ClickHouseClient,
  options: {
    table: string;
    schemaHash: string;
    /** The labels table: requests analysts labelled true positive (attacks) are left out of normal training data. */
    excludeLabelled?: string;
  },
  onRow: (row: FeatureTableRow) => void,
): Promise<number> {
  for (const t of [options.table, options.excludeLabelled ?? 'x'])
    if (!/^[A-Za-z0-9_.]+$/.test(t)) throw new Error(`not a table name: ${t}`);
  const exclude = options.excludeLabelled
    ? ` AND request_id NOT IN (SELECT request_id FROM ${options.excludeLabelled} ` +
      "FINAL WHERE verdict = 'true_positive' AND request_id != '')"
    : '';
  if (!/^sha256:[0-9a-f]{64}$/.test(options.schemaHash))
    throw new Error(`not a feature-schema hash: ${options.schemaHash}`);
  const result = await client.query({
    query:
      `SELECT ts, request_id, principal_key, v FROM ${options.table} FINAL ` +
      `WHERE schema = '${options.schemaHash}'${exclude} ORDER BY ts, request_id`,
    format: 'JSONEachRow',
  });
  let n = 0;
  for await (const rows of result.stream()) {
    for (const row of rows) {
      const r = row.json<{ ts: number | string; request_id: string; principal_key: string; v: number[] }>();
      onRow({ ts: Number(r.ts), request_id: r.request_id, principal: r.principal_key, v: r.v });
      n++;
    }
  }
  return n;
}
