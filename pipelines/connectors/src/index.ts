// Public surface of @vigil/connectors: sources and sinks with explicit acknowledgement.

export type { ClickHouseConfig } from './clickhouse/config.js';
export { clickhouseConfigSchema } from './clickhouse/config.js';
export type { Migration } from './clickhouse/migrations.js';
export { dropExpiredPartitions, MIGRATIONS, migrate } from './clickhouse/migrations.js';
export type { AccessEventRow, Pseudonymiser } from './clickhouse/rows.js';
export { accessEventRow, identity, keyedHash } from './clickhouse/rows.js';
export type { ClickHouseSinkOptions } from './clickhouse/sink.js';
export { ClickHouseSink } from './clickhouse/sink.js';
export { isRetriable, nonRetriable, retriable, VigilError } from './errors.js';
export { JsonlFileSink, JsonlFileSource, readLines } from './file/jsonl.js';
export type { TopicSpec } from './kafka/admin.js';
export { ensureTopics } from './kafka/admin.js';
export { createKafka } from './kafka/client.js';
export type { KafkaConnection, KafkaConsumerConfig } from './kafka/config.js';
export { kafkaConnectionSchema, kafkaConsumerSchema } from './kafka/config.js';
export type { KafkaSinkOptions } from './kafka/sink.js';
export { KafkaSink } from './kafka/sink.js';
export { KafkaSource } from './kafka/source.js';
export { MemoryBus, MemorySink, MemorySource } from './memory/bus.js';
export { OffsetTracker } from './offset-tracker.js';
export type { RetryOptions } from './retry.js';
export { backoffDelay, DEFAULT_RETRY, withRetry } from './retry.js';
export type { RecordPosition, Sink, SinkRecord, Source, SourceBatch, SourceRecord } from './types.js';
