// Public surface of @vigil/connectors: sources and sinks with explicit acknowledgement.

export { ackWhenSettled } from './ack-when-settled.js';
export type { ClickHouseConfig } from './clickhouse/config.js';
export { clickhouseClient, clickhouseConfigSchema } from './clickhouse/config.js';
export type { ClickHouseSinkOptions } from './clickhouse/sink.js';
export { ClickHouseSink } from './clickhouse/sink.js';
export { fileErrorMessage, JsonlFileSink, JsonlFileSource, readLines } from './file/jsonl.js';
export type { GroupLag, PartitionLag, TopicSpec } from './kafka/admin.js';
export { deleteGroupQuietly, ensureTopics, groupLagReader, topicPartitions } from './kafka/admin.js';
export { readChangelog } from './kafka/changelog-reader.js';
export type { ByteBudget, ChangelogChange, PackedState, SegmentStats } from './kafka/changelog-segments.js';
export { ChangelogSegments, decodeSegment, RESTORE_SLAB_BYTES, SEGMENT_PREFIX } from './kafka/changelog-segments.js';
export { createKafka } from './kafka/client.js';
export type { KafkaConnection, KafkaConsumerConfig } from './kafka/config.js';
export { kafkaConnectionSchema, kafkaConsumerSchema } from './kafka/config.js';
export type { PackedEntry, UnpackedEntry } from './kafka/packed.js';
export {
  forEachPacked,
  PACKED_HEADER,
  packEntries,
  packMessages,
  partitionerFor,
  unpackEntries,
} from './kafka/packed.js';
export type { KafkaSinkOptions } from './kafka/sink.js';
export { KafkaSink } from './kafka/sink.js';
export type { KafkaSourceOptions } from './kafka/source.js';
export { KafkaSource, sourceRecords } from './kafka/source.js';
export type { StatefulProcessorOptions } from './kafka/stateful-processor.js';
export { chunks as chunkMessages, KafkaStatefulProcessor } from './kafka/stateful-processor.js';
export type { RecordWriter } from './kafka/writer.js';
export { PlatformaticWriter, recordWriter, rejectedForGood } from './kafka/writer.js';
export { MemoryBus, MemorySink, MemorySource, memoryRecord } from './memory/bus.js';
export type { MemoryStatefulOptions } from './memory/stateful-processor.js';
export { MemoryStatefulProcessor } from './memory/stateful-processor.js';
export { OffsetTracker } from './offset-tracker.js';
export type { Poisoned, PoisonWriter } from './poison.js';
export {
  countingPoisonWriter,
  deadLetterPoisonWriter,
  deadLetterSource,
  decodeOrPoison,
  poisonDeadLetter,
  poisonDetail,
} from './poison.js';
export { RestoredRecords, RestoredRecordsBuilder } from './restored-records.js';
export type { SourcePoint } from './source-header.js';
export { formatSource, parseSource, SOURCE_HEADER } from './source-header.js';
export { storeHandler } from './store-handler.js';
export type { RecordPosition, Sink, SinkRecord, Source, SourceBatch, SourceRecord, StatefulTask } from './types.js';
