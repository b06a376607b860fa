// Kafka connection, consumer and producer settings, as data: every field has a description and a default, and
// unknown keys are rejected. The defaults are tuned for latency (kafkajs waits up to 5 s per fetch by default).
import type { ConsumerConfig } from 'kafkajs';
import { z } from 'zod';

export const kafkaConnectionSchema = z
  .strictObject({
    brokers: z
      .array(z.string().regex(/^[^\s:]+:\d+$/, 'a broker is host:port'))
      .min(1)
      .describe('Bootstrap brokers, host:port.')
      .meta({ examples: [['kafka-1:9092']] }),
    client_id: z.string().min(1).default('vigil').describe('Client id reported to the brokers.'),
    ssl: z.boolean().default(false).describe('Connect with TLS.'),
    sasl: z
      .strictObject({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
        username: z.string().min(1),
        password: z
          .string()
          .min(1)
          .describe('Prefer setting it through the environment (VIGIL_KAFKA__SASL__PASSWORD).'),
      })
      .optional()
      .describe('SASL authentication.'),
    connection_timeout_ms: z.number().int().positive().default(3000).describe('TCP connect timeout.'),
    request_timeout_ms: z.number().int().positive().default(30_000).describe('Broker request timeout.'),
    producer_client: z
      .enum(['platformatic', 'kafkajs'])
      .default('platformatic')
      .describe(
        'The client that writes what this service produces outside a Kafka transaction (the detector: its ' +
          'keyed, entity, feature and decision topics and dead letters, and the changelogs of at-least-once ' +
          'stages; the revoker: its revocation log; the alerter: its notices). `platformatic` (@platformatic/kafka) ' +
          'spends less CPU per record (BENCHMARKS.md) and puts every key where kafkajs would; exactly-once ' +
          'transactions and every consumer use kafkajs either way.',
      ),
    client_log_level: z
      .enum(['nothing', 'error', 'warn', 'info'])
      .default('error')
      .describe(
        "The Kafka client's own log lines at or above this level, as JSON lines on stderr (connection errors, " +
          'consumer crashes and restarts, rebalances): what a stage that stalls without failing leaves behind.',
      ),
  })
  .describe('How to reach the Kafka cluster.');
export type KafkaConnection = z.infer<typeof kafkaConnectionSchema>;

export const kafkaConsumerSchema = z
  .strictObject({
    group_id: z.string().min(1).describe('Consumer group; instances sharing it split the partitions.'),
    topics: z.array(z.string().min(1)).min(1).describe('Topics to consume.'),
    from_beginning: z.boolean().default(true).describe('Where a group with no committed offset starts.'),
    max_wait_ms: z
      .number()
      .int()
      .min(0)
      .default(500)
      .describe(
        'Longest the broker holds a fetch while it has fewer than min_bytes to return. A record that arrives ends ' +
          'the wait at once (min_bytes 1), so a longer wait delays no record; a shorter one adds empty fetches, and ' +
          "makes a consumer's stop and rejoin quicker by as much (Kafka's own default is 500).",
      ),
    min_bytes: z.number().int().min(1).default(1).describe('Bytes a fetch waits for before returning.'),
    max_bytes_per_partition: z
      .number()
      .int()
      .positive()
      .default(1_048_576)
      .describe('Most bytes fetched per partition per request.'),
    session_timeout_ms: z.number().int().positive().default(30_000).describe('Group session timeout.'),
    heartbeat_interval_ms: z.number().int().positive().default(3000).describe('Group heartbeat interval.'),
    partitions_consumed_concurrently: z
      .number()
      .int()
      .positive()
      .default(1)
      .describe('Partitions processed in parallel by one instance.'),
    max_unacknowledged_batches: z
      .number()
      .int()
      .positive()
      .default(16)
      .describe('Batches awaiting sink acknowledgement before consumption pauses.'),
    commit_interval_ms: z
      .number()
      .int()
      .positive()
      .default(500)
      .describe('How often acknowledged offsets are committed.'),
  })
  .describe('Consumer-group settings.');
export type KafkaConsumerConfig = z.infer<typeof kafkaConsumerSchema>;

/** kafkajs consumer settings from a consumer config (shared by every vigil consumer). */
export function consumerSettings(c: KafkaConsumerConfig): ConsumerConfig {
  return {
    groupId: c.group_id,
    maxWaitTimeInMs: c.max_wait_ms,
    minBytes: c.min_bytes,
    maxBytesPerPartition: c.max_bytes_per_partition,
    sessionTimeout: c.session_timeout_ms,
    heartbeatInterval: c.heartbeat_interval_ms,
    allowAutoTopicCreation: false,
  };
}

/**
 * Joining a group and subscribing, retried: right after a topic is created (or a broker restarted) the broker may
 * answer "this server does not host this topic-partition" for a while. About a minute and a half of backoff before
 * the stage gives up (and the service exits to be restarted).
 */
export const JOIN_RETRY = { initialDelayMs: 200, maxDelayMs: 5000, multiplier: 2, maxAttempts: 20 };
