// Public surface of @vigil/warehouse: vigil's own ClickHouse tables — their schema (versioned migrations), retention,
// and the rows pipeline records become. The generic ClickHouse sink and client live in @vigil/connectors; what the
// tables hold lives here.

export type { Migration } from './migrations.js';
export { dropExpiredPartitions, MIGRATIONS, migrate } from './migrations.js';
export type { AccessEventRow, FeatureRecordLike, Pseudonymiser } from './rows.js';
export { accessEventRow, decisionFromRow, decisionRow, featureRow, identity, keyedHash } from './rows.js';
