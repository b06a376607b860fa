// Builds the kafkajs client. kafkajs is unmaintained: it stays behind vigil's Source/Sink interfaces so another
// client can replace it without touching the pipelines.
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import type { KafkaConnection } from './config.js';

export function createKafka(connection: KafkaConnection): Kafka {
  return new Kafka({
    brokers: connection.brokers,
    clientId: connection.client_id,
    ssl: connection.ssl,
    ...(connection.sasl ? { sasl: connection.sasl as SASLOptions } : {}),
    connectionTimeout: connection.connection_timeout_ms,
    requestTimeout: connection.request_timeout_ms,
    // kafkajs logs request payload details at higher levels; errors surface through vigil's own events.
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5000 },
  });
}
