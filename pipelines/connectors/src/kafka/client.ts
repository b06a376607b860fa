// Builds the kafkajs client. kafkajs is unmaintained: it stays behind vigil's Source/Sink interfaces so another
// client can replace it without touching the pipelines.
import { Kafka, type logCreator, logLevel, type SASLOptions } from 'kafkajs';
import type { KafkaConnection } from './config.js';
import { REQUEST_RETRY, writeWithPlatformatic } from './writer.js';

export function createKafka(connection: KafkaConnection): Kafka {
  const kafka = new Kafka({
    brokers: connection.brokers,
    clientId: connection.client_id,
    ssl: connection.ssl,
    ...(connection.sasl ? { sasl: connection.sasl as SASLOptions } : {}),
    connectionTimeout: connection.connection_timeout_ms,
    requestTimeout: connection.request_timeout_ms,
    logLevel: LEVELS[connection.client_log_level],
    logCreator: jsonLines,
    retry: REQUEST_RETRY,
  });
  if (connection.producer_client === 'platformatic') writeWithPlatformatic(kafka, connection);
  return kafka;
}

const LEVELS = { nothing: logLevel.NOTHING, error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO } as const;
const NAMES: Record<number, string> = { [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info' };
/** The fields of a kafkajs log entry that name what failed; never its request payloads (kafkajs' debug level). */
const FIELDS = ['error', 'broker', 'groupId', 'topic', 'partition', 'retryCount', 'retryTime'] as const;

/**
 * A broker's error answer to one request, and a produce the client retries: kafkajs logs both at error level, though
 * it retries them or hands them to its caller (an exactly-once stage meets CONCURRENT_TRANSACTIONS at most commits).
 */
const retriedByTheClient = (namespace: string, message: string) =>
  (namespace === 'Connection' && message.startsWith('Response ')) || message.startsWith('Failed to send messages');

/** kafkajs' log lines in the shape of vigil's own (one JSON object per line on stderr), marked `source: kafkajs`. */
const jsonLines: logCreator =
  () =>
  ({ level, namespace, log }) => {
    if (retriedByTheClient(namespace, log.message)) return;
    const line: Record<string, unknown> = {
      level: NAMES[level] ?? 'debug',
      ts: new Date().toISOString(),
      message: log.message,
      source: 'kafkajs',
      namespace,
    };
    for (const f of FIELDS) {
      const v = log[f];
      if (v !== undefined) line[f] = v instanceof Error ? v.message : typeof v === 'object' ? String(v) : v;
    }
    // A logger that throws would throw inside the client.
    try {
      process.stderr.write(`${JSON.stringify(line)}\n`);
    } catch {
      // Nothing to do: the line is lost, the client goes on.
    }
  };
