// The revocation store: every enforcement in force, keyed by identifier, in memory and on `vigil.revocations` — a
// compacted topic keyed by "kind:value" (a tombstone when lifted or expired). It is the durable record: a restarted
// revoker reloads it, re-syncs gateways that lost their lists, and recognises a redelivered decision it already
// enforced.
import { randomUUID } from 'node:crypto';
import { deleteGroupQuietly, type RecordWriter, readChangelog, recordWriter } from '@vigil/connectors';
import { pipelineCounters } from '@vigil/telemetry';
import type { Kafka } from 'kafkajs';
import { decodeEnforcement, type Enforcement } from './enforcement.js';

/** Where the store's changes are made durable. */
export interface RevocationLog {
  /** Opens what writing needs, so that the first enforcement does not pay for it (optional: a memory log needs none). */
  connect?(): Promise<void>;
  write(changes: { id: string; value: Enforcement | null }[]): Promise<void>;
  close(): Promise<void>;
}

export class RevocationStore {
  private readonly entries = new Map<string, Enforcement>();

  constructor(
    private readonly log: RevocationLog,
    initial: Iterable<Enforcement> = [],
  ) {
    for (const e of initial) this.entries.set(e.id, e);
  }

  get size(): number {
    return this.entries.size;
  }

  get(id: string): Enforcement | undefined {
    return this.entries.get(id);
  }

  all(): Enforcement[] {
    return [...this.entries.values()];
  }

  /**
   * Records enforcements: in force here at once, then `commit` is called with the log write (one send for them all)
   * and does whatever must come first — the revoker calls the gateways — and the write, retried as it sees fit. If
   * commit fails, the enforcements are taken out again: what the store holds is what its log holds or is about to.
   */
  async put(list: Enforcement[], commit = (write: () => Promise<void>) => write()): Promise<void> {
    if (list.length === 0) return;
    const before = list.map((e) => this.entries.get(e.id));
    for (const e of list) this.entries.set(e.id, e);
    try {
      await commit(() => this.log.write(list.map((e) => ({ id: e.id, value: e }))));
    } catch (err) {
      list.forEach((e, i) => {
        // Unless something else has replaced it meanwhile (another instance's change, followed from the topic).
        if (this.entries.get(e.id) !== e) return;
        const previous = before[i];
        if (previous) this.entries.set(e.id, previous);
        else this.entries.delete(e.id);
      });
      throw err;
    }
  }

  async delete(id: string): Promise<void> {
    await this.log.write([{ id, value: null }]);
    this.entries.delete(id);
  }

  /** Applies a change another writer made (another revoker instance, `vigil revoke --undo`), without logging it. */
  applyRemote(id: string, value: Enforcement | null): void {
    if (value === null) this.entries.delete(id);
    else this.entries.set(id, value);
  }

  /** Entries whose time is up at `now`. */
  expired(now: number): Enforcement[] {
    return this.all().filter((e) => e.expires_at <= now);
  }
}

/** The log on a compacted Kafka topic; acks=all, idempotent writer (kafka.producer_client's). */
export class KafkaRevocationLog implements RevocationLog {
  private producer: RecordWriter | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
  ) {}

  async connect(): Promise<void> {
    await this.writer();
  }

  /** The connected writer, connected on first use (or by connect() at start). */
  private async writer(): Promise<RecordWriter> {
    if (!this.producer) {
      const producer = recordWriter(this.kafka);
      // Its topic looked up now: the first enforcement's record need not wait for the broker's metadata.
      await producer.connect([this.topic]);
      this.producer = producer;
    }
    return this.producer;
  }

  async write(changes: { id: string; value: Enforcement | null }[]): Promise<void> {
    const writer = await this.writer();
    const messages = changes.map((c) => ({ key: c.id, value: c.value === null ? null : JSON.stringify(c.value) }));
    await writer.sendBatch({ acks: -1, topicMessages: [{ topic: this.topic, messages }] });
  }

  /** Reads the topic to its end: the enforcements in force. */
  static async load(kafka: Kafka, topic: string): Promise<Enforcement[]> {
    const admin = kafka.admin();
    await admin.connect();
    let partitions: number[];
    try {
      partitions = (await admin.fetchTopicOffsets(topic)).map((p) => p.partition);
    } finally {
      await admin.disconnect();
    }
    const states = await readChangelog(kafka, topic, partitions);
    // A record that is not an enforcement (not written by a revoker) is left out rather than stop the start.
    return [...states.values()].flatMap((s) => [...s.values()].flatMap((v) => decodeOrSkip(v)));
  }

  /**
   * Keeps a store current with the topic: every revoker instance then knows every enforcement, whichever instance
   * made it (a decision redelivered to another instance after a rebalance is recognised), and an undo from the CLI
   * reaches running revokers. Reads from the beginning with a throwaway group; changes are upserts, so re-reading
   * what `load` already returned is harmless.
   */
  static async follow(kafka: Kafka, topic: string, store: RevocationStore): Promise<{ stop: () => Promise<void> }> {
    const groupId = `vigil-revocations-follower-${randomUUID()}`;
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        const id = message.key?.toString('utf8');
        if (id === undefined) return;
        if (message.value === null) store.applyRemote(id, null);
        else for (const e of decodeOrSkip(message.value)) store.applyRemote(id, e);
      },
    });
    return {
      stop: async () => {
        await consumer.disconnect();
        await deleteGroupQuietly(kafka, groupId);
      },
    };
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
  }
}

/** A log that keeps nothing (the embedded demo, unit tests). */
export class MemoryRevocationLog implements RevocationLog {
  readonly writes: { id: string; value: Enforcement | null }[] = [];
  async write(changes: { id: string; value: Enforcement | null }[]): Promise<void> {
    this.writes.push(...changes);
  }
  async close(): Promise<void> {}
}

/** The enforcement a revocations record holds, or none (counted) when it holds something else. */
function decodeOrSkip(value: Buffer): Enforcement[] {
  try {
    return [decodeEnforcement(value)];
  } catch {
    pipelineCounters().skipped('revocations', 'not_an_enforcement');
    return [];
  }
}
