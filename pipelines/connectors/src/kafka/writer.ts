// Writes outside transactions go through a RecordWriter: ingest's topics, dead letters, decisions, an at-least-once
// stage's outputs and changelog, the revoker's log. Two clients can do it (kafka.producer_client):
// - @platformatic/kafka (the default): a maintained client. Producing alone it ran at 2.6× kafkajs' rate with under
//   half its CPU per record (issue 17's measurement); in the detector it takes ~20 % less CPU per event
//   (BENCHMARKS.md, "The live path end to end"). It needs Node ≥ 22.22; vigil runs on Node 24.
// - kafkajs: its idempotent producer, the client vigil's consumers and transactions use.
// Consumers and exactly-once transactions stay on kafkajs: the take-over (fence, sweep, restore) and the read-committed
// filter are built and tested on it (stateful-processor.ts, patches/kafkajs+2.2.4.patch).
//
// Both writers put a keyed record where kafkajs' default partitioner puts it (Kafka's Java murmur2: packed.ts), so
// records from either client land on the same partitions and co-partitioned topics stay co-partitioned.
// @platformatic/kafka's own default partitioner does not (murmur2 >>> 0, not & 0x7fffffff): it is never used.
import { type MessageToProduce, ProduceAcks, Producer } from '@platformatic/kafka';
import { type ICustomPartitioner, type Kafka, type Message, Partitioners, type TopicMessages } from 'kafkajs';
import type { KafkaConnection } from './config.js';
import { partitionOfKey } from './murmur2.js';
import { partitionerFor } from './packed.js';

/** What vigil needs of a producer outside transactions: kafkajs' Producer has this shape. */
export interface RecordWriter {
  /**
   * Connects; `topics`, the topics it will write, are looked up now (@platformatic/kafka) so that the first send to
   * each does not wait for the broker's metadata (kafkajs looks a topic up at its first send whatever is named).
   */
  connect(topics?: readonly string[]): Promise<void>;
  /** Every topic's messages in one produce round (acks=all); resolves when the brokers have them all. */
  sendBatch(batch: { acks: -1; topicMessages: TopicMessages[] }): Promise<unknown>;
  disconnect(): Promise<void>;
}

/** A client's own retry of a failed request, in kafkajs' terms. */
export interface RequestRetry {
  initialRetryTime: number;
  maxRetryTime: number;
  retries: number;
}

/** Either client's retry of one request by default (8, waits doubling from 100 ms to 5 s): createKafka's too. */
export const REQUEST_RETRY: RequestRetry = { initialRetryTime: 100, maxRetryTime: 5000, retries: 8 };

export interface RecordWriterOptions {
  /** The client's own retry of a failed request (the stateful processor's: a failure there rewinds the partition). */
  retry?: RequestRetry;
}

/** Connections whose writers use @platformatic/kafka (createKafka records them). */
const PLATFORMATIC = new WeakMap<Kafka, KafkaConnection>();

/** Makes `kafka`'s writers use @platformatic/kafka with `connection`'s settings. */
export function writeWithPlatformatic(kafka: Kafka, connection: KafkaConnection): void {
  // Its first request would fail on an older Node (Promise.withResolvers) and be retried as a connection failure.
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (!(major > 24 || (major === 24 && minor >= 6) || (major === 22 && minor >= 22)))
    throw new Error(
      `kafka.producer_client 'platformatic' needs Node 22.22+ or 24.6+, and this is Node ${process.versions.node}: ` +
        "run vigil on Node 24 (`npx vigil`, npm's scripts) or set kafka.producer_client to 'kafkajs'",
    );
  PLATFORMATIC.set(kafka, connection);
}

/**
 * kafkajs' default partitioner, but a keyless message keeps the partition it was first given. kafkajs partitions a
 * send's messages again on each of its retries, and its default partitioner sends a keyless message (a dead letter)
 * to the next partition round-robin: a batch the broker appended before the connection dropped would come back on
 * other partitions with the same sequence numbers and other counts, and the broker refuses every later send of that
 * producer (OUT_OF_ORDER_SEQUENCE_NUMBER; kafkajs never resets its sequences). The retry reuses the message objects,
 * so remembering each one's partition keeps the retry byte for byte the batch it repeats (and so does vigil's own
 * re-send of the same records after kafkajs gave up: its sequence numbers rolled back, the broker takes the repeat
 * as the duplicate it is). A keyed message or one with its partition named goes where it always went; a keyless one
 * stays on its partition while that partition has no leader, as a keyed one does. Remembered per topic, and chosen
 * again if the topic now has fewer partitions.
 */
export const RetryStablePartitioner: ICustomPartitioner = () => {
  const partitioner = Partitioners.DefaultPartitioner();
  const given = new WeakMap<object, Map<string, number>>();
  return (args) => {
    const { message, topic, partitionMetadata } = args;
    if (message.partition != null) return message.partition;
    // A key's partition as kafkajs' would give it, without its 64-bit arithmetic (murmur2.ts).
    if (typeof message.key === 'string' || Buffer.isBuffer(message.key))
      return partitionOfKey(message.key, partitionMetadata.length);
    const keyless = message.key === null || message.key === undefined;
    if (!keyless) return partitioner(args);
    let byTopic = given.get(message);
    const before = byTopic?.get(topic);
    if (before !== undefined && before < partitionMetadata.length) return before;
    const partition = partitioner(args);
    if (!byTopic) {
      byTopic = new Map();
      given.set(message, byTopic);
    }
    byTopic.set(topic, partition);
    return partition;
  };
};

/** A writer for records outside transactions, on the client kafka.producer_client names. */
export function recordWriter(kafka: Kafka, options: RecordWriterOptions = {}): RecordWriter {
  const connection = PLATFORMATIC.get(kafka);
  if (connection) return new PlatformaticWriter(connection, options.retry);
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: RetryStablePartitioner,
    ...(options.retry ? { retry: options.retry } : {}),
  });
}

/**
 * Broker error codes that retrying will not change: a record (or batch) too large, a topic this client may not write.
 * Not UNKNOWN_TOPIC_OR_PARTITION: both clients take it for stale metadata (a leader moving, a broker restarting), and
 * so does vigil, which retries it with backoff as it retries an unreachable broker.
 */
const FOR_GOOD = ['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'TOPIC_AUTHORIZATION_FAILED'];

/**
 * True for a broker's answer that retrying will not change, from either client: kafkajs names the code in `type`
 * (KafkaJSProtocolError) and may wrap it (`cause`, `originalError`); @platformatic/kafka in `apiId`, inside
 * MultipleErrors' `errors`.
 */
export function rejectedForGood(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 6) return false;
  const e = err as { name?: unknown; message?: unknown; type?: unknown; apiId?: unknown };
  if (FOR_GOOD.includes(String(e.type)) || FOR_GOOD.includes(String(e.apiId))) return true;
  if (/MessageSizeTooLarge|TopicAuthorization/i.test(`${e.name} ${e.message}`)) return true;
  const inner = err as { cause?: unknown; originalError?: unknown; errors?: unknown };
  const nested = [inner.cause, inner.originalError, ...(Array.isArray(inner.errors) ? inner.errors : [])];
  return nested.some((n) => rejectedForGood(n, depth + 1));
}

const asBuffer = (v: string | Buffer | null | undefined): Buffer | undefined =>
  v === null || v === undefined ? undefined : typeof v === 'string' ? Buffer.from(v, 'utf8') : v;

/** kafkajs' headers (a value may be a list) as @platformatic/kafka's: a Map (its Buffer keys may repeat a name). */
function headersOf(headers: Message['headers']): Map<Buffer, Buffer> | undefined {
  if (!headers) return undefined;
  const out = new Map<Buffer, Buffer>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      out.set(Buffer.from(name, 'utf8'), asBuffer(one) ?? Buffer.alloc(0));
    }
  }
  return out.size > 0 ? out : undefined;
}

/** How old the client's metadata may be before a send looks the topic up again (kafkajs' metadataMaxAge default). */
const METADATA_MAX_AGE_MS = 300_000;
/** How often a writer looks up the topics it writes in the background. */
const METADATA_REFRESH_MS = 30_000;

const SASL = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

/**
 * An idempotent @platformatic/kafka producer behind the RecordWriter shape.
 *
 * Duplicates: the client retries a failed request itself with the same sequence numbers, so the broker keeps one copy
 * of a retried batch. Once those retries are spent it drops its producer id (producer.js), and a batch vigil sends
 * again goes under a new one: a write that had landed but whose answer was lost is then written twice. (kafkajs keeps
 * its producer id and rolls a failed send's sequence numbers back: the same records sent again are taken as the
 * duplicate they are — RetryStablePartitioner keeps them on their partitions — but other records sent in their place
 * would be taken for that duplicate and dropped by the broker; vigil's sinks send the same records again.) Hence the
 * same request retries as createKafka gives kafkajs (REQUEST_RETRY) before vigil's own retry takes over.
 */
export class PlatformaticWriter implements RecordWriter {
  private producer: Producer | undefined;
  private closed = false;
  /** The topics written so far: their metadata is refreshed in the background (refreshTimer). */
  private readonly written = new Set<string>();
  private refreshTimer: NodeJS.Timeout | undefined;
  /** kafkajs' default partitioner, per partition count. */
  private readonly partitioners = new Map<number, (key: string | Buffer | null) => number>();

  /** `retry` in kafkajs' terms (the same waits: doubling from initialRetryTime up to maxRetryTime). */
  constructor(
    private readonly connection: KafkaConnection,
    private readonly retry: RequestRetry = REQUEST_RETRY,
  ) {}

  private client(): Producer {
    // A writer is not reopened: a send after disconnect() fails, as a disconnected kafkajs producer's does.
    if (this.closed) throw new Error('the Kafka writer is closed');
    const c = this.connection;
    this.producer ??= new Producer({
      clientId: c.client_id,
      bootstrapBrokers: c.brokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      connectTimeout: c.connection_timeout_ms,
      requestTimeout: c.request_timeout_ms,
      // The produce timeout the broker is sent (kafkajs sends its request timeout, 30 s by default).
      timeout: c.request_timeout_ms,
      retries: this.retry.retries,
      // kafkajs' default (5 minutes) rather than the client's 5 s: past it a send waits for a metadata round trip
      // first, and the sends that come after a quiet spell — a revocation's decision, its log record — are the ones
      // that are timed. A refresh in the background (METADATA_REFRESH_MS) keeps partition counts and leaders fresher
      // than either without holding a send; a send that meets a moved leader is refreshed and retried by the client.
      metadataMaxAge: METADATA_MAX_AGE_MS,
      retryDelay: (_client: unknown, _operation: string, attempt: number) =>
        Math.min(this.retry.maxRetryTime, this.retry.initialRetryTime * 2 ** Math.max(0, attempt - 1)),
      ...(c.ssl ? { tls: {} } : {}),
      ...(c.sasl
        ? { sasl: { mechanism: SASL[c.sasl.mechanism], username: c.sasl.username, password: c.sasl.password } }
        : {}),
    });
    return this.producer;
  }

  async connect(topics: readonly string[] = []): Promise<void> {
    // The client connects on its first request; asking for metadata here makes an unreachable broker fail connect().
    const producer = this.client();
    await producer.metadata({ topics: [...topics] });
    for (const topic of topics) this.written.add(topic);
    this.refreshEvery();
    // The producer id too (kafkajs' connect() gets its own), so that the first send does not wait for it.
    await producer.initIdempotentProducer({});
  }

  private partitionerFor(partitions: number): (key: string | Buffer | null) => number {
    let partitioner = this.partitioners.get(partitions);
    if (!partitioner) {
      partitioner = partitionerFor(partitions);
      this.partitioners.set(partitions, partitioner);
    }
    return partitioner;
  }

  async sendBatch({ topicMessages }: { acks: -1; topicMessages: TopicMessages[] }): Promise<unknown> {
    const producer = this.client();
    // Each send reads the topics' partition counts from the client's metadata (refreshed every METADATA_REFRESH_MS),
    // so a topic given more partitions is partitioned as kafkajs, which refreshes its own, will partition it.
    const topics = [...new Set(topicMessages.map((t) => t.topic))];
    for (const topic of topics) this.written.add(topic);
    this.refreshEvery();
    const metadata = await producer.metadata({ topics });
    const messages: MessageToProduce[] = [];
    for (const { topic, messages: list } of topicMessages) {
      const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
      if (count === 0) throw new Error(`Kafka has no partitions of topic ${topic}`);
      const partitionOf = this.partitionerFor(count);
      for (const m of list) {
        const key = asBuffer(m.key);
        // An undefined key or value is written as null (a tombstone's value), undefined headers as none.
        messages.push({
          topic,
          partition: m.partition ?? partitionOf(key ?? null),
          key,
          value: asBuffer(m.value),
          headers: headersOf(m.headers),
        });
      }
    }
    return producer.send({ messages });
  }

  /** Starts the background refresh (once: from connect, so that the topics looked up there stay fresh too). */
  private refreshEvery(): void {
    this.refreshTimer ??= setInterval(() => this.refresh(), METADATA_REFRESH_MS).unref();
  }

  /**
   * Looks up the written topics again, in the background: no send waits for it. One request per topic: the client
   * fails a whole metadata request for one topic's error (a topic deleted since), which would leave every other one
   * to age. A failure leaves that topic to the next refresh, or to a send's own look-up once it is 5 minutes old.
   */
  private refresh(): void {
    const producer = this.producer;
    if (this.closed || !producer) return;
    for (const topic of this.written) producer.metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined);
  }

  async disconnect(): Promise<void> {
    this.closed = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    const producer = this.producer;
    this.producer = undefined;
    await producer?.close().catch(() => undefined);
  }
}
