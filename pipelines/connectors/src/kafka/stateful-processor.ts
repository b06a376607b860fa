// Exactly-once stateful processing on Kafka, the way Kafka Streams does it: each input partition is a task with its
// own state, and every checkpoint is one Kafka transaction that writes the task's outputs, its state changes (to a
// compacted changelog partition with the input partition's number) and the input offset — all or nothing.
//
// - Fencing: each input partition has its own transactional id, so whoever takes a partition over (a restarted
//   instance, another member after a rebalance) fences the previous owner and aborts its open transaction before
//   restoring. (kafkajs cannot pass consumer-group metadata with sendOffsets, so per-partition ids — Kafka
//   Streams' original "EOS alpha" — are what makes fencing work.)
// - Restore: the changelog partition is read to its end (read_committed) before the first record is processed.
//   The changelog also records the next input offset the state covers; records below it are skipped, so the
//   group's committed offset is only a starting hint and a stale one cannot double-count.
// - Failure: when a checkpoint cannot commit, its transaction is aborted, the partition's in-memory state is
//   dropped and the consumer rewinds to the last checkpoint: the partition restarts from durable state.
// - Consumers of the output topic must read committed (kafkajs' default); outputs appear at each checkpoint, so
//   commit_interval_ms is also the stage's added latency.
// - Ticks: a task with tick() is called every 10 ms between batches (on the partition's serial queue);
//   what it returns is written at the next checkpoint, with the state changes that produced it.
// - Side outputs: a record that names a topic (SinkRecord.topic) goes there instead of the output topic, in the
//   same transaction (a fused stage's second product: the principal task's decisions beside its feature records).
// - Transactions a restarted broker left open: a broker that restarts resends the end markers of the transactions
//   it was committing, but may do so before it knows its own partitions' leaders, and then it skips them ("partitions
//   are likely deleted already", Kafka 4.4's transaction marker channel): a checkpoint whose markers were half
//   written before the crash ends up committed on some partitions and open on others (measured with DumpLogSegments
//   and Kafka's own console consumer: feature records and changelog committed, the same checkpoint's decisions open).
//   Open records stop read-committed consumers, and the producer id's next transaction on the partition, even under a
//   new epoch, joins them: its end marker decides them too. Since the broker only skips markers it was resending, the
//   checkpoint was being committed. So a partition is taken over by fencing, then a sweep — one transaction that
//   writes a fence record to every partition the task's transactions write (its changelog partition, each output and
//   side-output topic) and commits, which commits whatever the old epoch left open there — and, once the sweep's
//   markers are written, the restore, which therefore includes that checkpoint and skips the input it covered. (A
//   checkpoint the broker left open after reporting it committed is closed by the same producer's next one, on the
//   partitions that one writes.) Fence records are committed and empty: vigil's readers skip them (sourceRecords),
//   and in the changelog one is a tombstone. Read-committed filtering in kafkajs 2.2.4 mis-ordered the broker's list
//   of aborted transactions and let some through (patched: patches/kafkajs+2.2.4.patch).
//
// At-least-once (`guarantee: 'at_least_once'`, Kafka Streams' own default), for latency: outputs are produced as soon
// as the task returns them (kafka.producer_client's idempotent writer, writer.ts; no transaction), and a checkpoint
// writes the state changes and the next input offset to the changelog all or nothing, then commits the group's
// offset: in one produce request when they fit (one record batch, which the broker appends whole or not at all), else
// in a transaction of the changelog alone (the partition's transactional producer, made then) — a crash between two
// requests must not leave state ahead of the offset it says it covers. (A transaction at every checkpoint cost the
// gateway loop stalls of 400–800 ms in two runs of three; fencing at every take-over, some hundreds of ms on each
// partition's first batch.) Nothing is lost — a crash restarts the partition from its last checkpoint
// and the records after it are processed again — but their outputs can then appear twice (with the same values: the
// restored state is the state that produced them the first time). No fencing at a take-over: in a rebalance the old
// owner may still finish a batch and checkpoint it after the new owner restored, and those records then count twice
// in the state (a window count one too high for a while); a transaction of the new owner's fences the old owner's
// from then on. What it saves: waiting for a checkpoint before an output leaves (commit_interval_ms), and
// read-committed consumers downstream waiting behind other partitions' open transactions.
import { DEFAULT_RETRY, retriable, Serial, withRetry } from '@vigil/core';
import type { Batch, Consumer, Kafka, Message, Producer, TopicMessages, Transaction } from 'kafkajs';
import { countingPoisonWriter, type PoisonWriter } from '../poison.js';
import type { SinkRecord, SourceRecord, StatefulTask } from '../types.js';
import { topicPartitions } from './admin.js';
import { readChangelog } from './changelog-reader.js';
import { type ByteBudget, ChangelogSegments } from './changelog-segments.js';
import { consumerSettings, JOIN_RETRY, type KafkaConsumerConfig } from './config.js';
import { OrderedSends } from './ordered-sends.js';
import { MAX_PACK_BYTES, packMessages, partitionerFor } from './packed.js';
import { FENCE_HEADER, sourceRecords } from './source.js';
import { type RecordWriter, RetryStablePartitioner, recordWriter } from './writer.js';

/** The broker answers CONCURRENT_TRANSACTIONS while the previous commit's markers are written; retry fast. */
const TAKE_OVER_RETRY = { initialRetryTime: 10, maxRetryTime: 2000, retries: 30 };
/** At least once, how long an open changelog transaction may hold a restore after its owner crashed. */
const TRANSACTION_TIMEOUT_MS = 10_000;

/** The changelog key holding the next input offset a partition's state covers. */
const NEXT_OFFSET = '$next';
const MAX_SEND_BYTES = 512 * 1024;
const TICK_MS = 10;
const SLOW_MS = 30_000;

export interface StatefulProcessorOptions<T> {
  consumer: KafkaConsumerConfig;
  /** Compacted topic with as many partitions as the input. */
  changelogTopic: string;
  outputTopic: string;
  commitIntervalMs: number;
  /** Default exactly_once (see above). */
  guarantee?: 'exactly_once' | 'at_least_once';
  makeTask: (topic: string, partition: number) => StatefulTask<T>;
  /** A record's value as the topic it goes to carries it (its codec); default JSON. */
  serialize?: (value: T, topic: string) => string | Buffer;
  /** Topics a task's records may name (SinkRecord.topic); exactly once, each is swept at a partition's take-over. */
  sideOutputTopics?: string[];
  /** The output topic's partition count: outputs are packed per partition (packed.ts). Unset: one record each. */
  packPartitions?: number;
  onRetry?: (err: unknown) => void;
  /** `mended`: segments whose count the changelog's cleaner found wrong in this checkpoint (a bug's mark; normally 0). */
  onCheckpoint?: (info: { partition: number; outputs: number; changes: number; ms: number; mended: number }) => void;
  onRestore?: (info: { partition: number; records: number; ms: number }) => void;
  /**
   * A step on the broker (taking a partition over, a checkpoint, releasing one) still waiting after SLOW_MS, once per
   * step: what a stage that stalls without failing says about where.
   */
  onSlow?: (info: { partition: number; step: string; ms: number }) => void;
  /**
   * Where the task's poison records go (the dead-letter topic; before the offset past them commits); default: counted.
   */
  poison?: PoisonWriter;
  /**
   * The state budget the task's stores share: each partition's changelog bookkeeping (which segment holds each key's
   * newest entry, changelog-segments.ts) is charged to it too, so that the stores make room for it.
   */
  budget?: ByteBudget;
}

interface Slot<T> {
  topic: string;
  partition: number;
  /** Writes the outputs: exactly once `transactional`, at least once kafka.producer_client's writer. */
  producer: RecordWriter;
  /**
   * The partition's transactional producer (kafkajs): exactly once every checkpoint's transaction, opened (and the
   * old owner fenced) at the take-over; at least once only a checkpoint of more than one request's, opened then.
   */
  transactional: Producer | undefined;
  task: StatefulTask<T>;
  /** The changelog partition's segments (changelog-segments.ts), rebuilt with the state at every restore. */
  segments: ChangelogSegments;
  /** The next input offset the in-memory state expects; undefined before the partition's first checkpoint. */
  next: number | undefined;
  /** Set once a gap before `next` made the consumer seek back; a second gap is data the input no longer has. */
  soughtGap: boolean;
  /** The next input offset the changelog holds. */
  committed: number | undefined;
  /** The first input offset this slot processed: where a rewind goes before the partition's first checkpoint. */
  first: number | undefined;
  /**
   * Outputs not yet sent, by topic (the stage's output topic, and any side output a task names): at least once sent
   * in the background as they come (ordered-sends.ts), exactly once taken by each checkpoint's transaction.
   */
  outputs: OrderedSends<Message>;
  txn: Transaction | undefined;
  lastCommit: number;
  /** Serialises batches and checkpoints of one partition. */
  serial: Serial;
  dropped: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class KafkaStatefulProcessor<T> {
  private consumer: Consumer | undefined;
  private readonly slots = new Map<string, Promise<Slot<T>>>();
  /** The slots of `slots` whose opening has finished, by key (what rewind compares itself with). */
  private readonly opened = new Map<string, Slot<T>>();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** Set when a task threw: the stage processes and checkpoints nothing more. */
  private failure: Error | undefined;
  private sweepTopics: Promise<Map<string, number>> | undefined;
  /**
   * Where a partition with no checkpoint yet was rewound to: its next owner in this process starts there (a batch
   * fetched before the seek must not be taken as its first).
   */
  private readonly rewoundTo = new Map<string, number>();
  /** Steps under way on the broker, by partition, for onSlow. */
  private readonly steps = new Map<string, { partition: number; step: string; since: number; told: boolean }>();
  private slowTimer: NodeJS.Timeout | undefined;
  /** Rebalances this member has been through (GROUP_JOIN events): a checkpoint's group commit is of one generation. */
  private rebalances = 0;

  private readonly writePoison: PoisonWriter;
  private readonly partitionOf: ((key: string | Buffer | null) => number) | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: StatefulProcessorOptions<T>,
  ) {
    this.writePoison = options.poison ?? countingPoisonWriter(options.consumer.group_id);
    this.partitionOf = options.packPartitions === undefined ? undefined : partitionerFor(options.packPartitions);
  }

  async run(): Promise<void> {
    const c = this.options.consumer;
    const consumer = this.kafka.consumer(consumerSettings(c));
    this.consumer = consumer;
    // After a rebalance kafkajs restarts every partition from its committed offset: partitions this member lost are
    // dropped (their new owner restores them); kept ones skip what their in-memory state already covers.
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.rebalances++;
      const assigned = new Set(
        Object.entries(e.payload.memberAssignment).flatMap(([topic, ps]) => ps.map((p) => `${topic}/${p}`)),
      );
      for (const key of [...this.slots.keys()]) if (!assigned.has(key)) void this.drop(key);
    });
    // A consumer kafkajs will not restart is a stage that stopped: fail, so the process does not look alive.
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart)
        this.fail(e.payload.error instanceof Error ? e.payload.error : new Error('the consumer stopped'));
    });
    await withRetry(() => consumer.connect(), JOIN_RETRY);
    await withRetry(() => consumer.subscribe({ topics: c.topics, fromBeginning: c.from_beginning }), JOIN_RETRY);
    // Every 10 ms: a due checkpoint, and a tick for tasks that release held events on the wall clock (the tick's
    // period is how late a quiet partition's events can leave, so it must not grow with the commit interval).
    this.timer = setInterval(() => this.checkpointDue(), TICK_MS);
    this.slowTimer = setInterval(() => this.reportSlow(), 1000);
    const finished = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: c.partitions_consumed_concurrently,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (this.stopping || this.failure || batch.messages.length === 0) return;
        const slot = await this.step(batch.partition, 'wait for the take-over', () =>
          this.waitFor(this.slot(batch.topic, batch.partition), heartbeat),
        );
        await slot.serial.run(async () => {
          // Another partition's task may have failed while this batch waited its turn.
          if (this.failure) return;
          try {
            await this.processBatch(slot, batch, resolveOffset, isRunning, isStale);
          } catch (err) {
            // Tasks set bad records aside as poison; a task that throws has a defect, and its state may be half
            // updated, so the stage stops (and the process exits non-zero) rather than go on from it: no batch is
            // processed and no checkpoint written after this, so the changelog keeps the last whole state.
            this.fail(err instanceof Error ? err : new Error(String(err)));
            await this.release(slot);
          }
        });
      },
    });
    await finished;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.settle?.reject(err);
  }

  private async processBatch(
    slot: Slot<T>,
    batch: Batch,
    resolveOffset: (offset: string) => void,
    isRunning: () => boolean,
    isStale: () => boolean,
  ): Promise<void> {
    if (slot.dropped || !isRunning() || isStale()) return;
    if (!(await this.sendsHold(slot))) return;
    const first = Number((batch.messages[0] as { offset: string }).offset);
    if (slot.next !== undefined && first > slot.next && !slot.soughtGap) {
      // Records between the checkpoint and this batch were fetched before a rewind: read them first.
      slot.soughtGap = true;
      this.consumer?.seek({ topic: slot.topic, partition: slot.partition, offset: String(slot.next) });
      return;
    }
    const records: SourceRecord[] = [];
    for (const m of batch.messages) {
      if (slot.next !== undefined && Number(m.offset) < slot.next) continue;
      sourceRecords(batch.topic, batch.partition, m, records);
    }
    slot.first ??= first;
    this.collect(slot, slot.task.process(records));
    const poisoned = slot.task.drainPoison?.() ?? [];
    if (poisoned.length > 0) await this.writePoison(poisoned);
    slot.next = Math.max(slot.next ?? 0, Number(batch.lastOffset()) + 1);
    slot.soughtGap = false;
    resolveOffset(batch.lastOffset());
    if (this.atLeastOnce) {
      slot.outputs.pump();
      // Bounded: past MAX_WAITING_OUTPUTS computed behind the send under way, the next batch waits for it.
      if (slot.outputs.waiting > MAX_WAITING_OUTPUTS && !(await this.settleSends(slot))) return;
    }
    if (Date.now() - slot.lastCommit >= this.options.commitIntervalMs) await this.checkpoint(slot);
  }

  private slot(topic: string, partition: number): Promise<Slot<T>> {
    const key = `${topic}/${partition}`;
    let slot = this.slots.get(key);
    if (!slot) {
      slot = withRetry(() => this.open(topic, partition), DEFAULT_RETRY, {
        onRetry: (err) => this.options.onRetry?.(err),
      });
      this.slots.set(key, slot);
      const opening = slot;
      // Only this opening's entry: by the time it settles, the key may hold a newer one.
      slot.then(
        (opened) => {
          if (this.slots.get(key) === opening) this.opened.set(key, opened);
        },
        () => {
          if (this.slots.get(key) === opening) this.slots.delete(key);
        },
      );
    }
    return slot;
  }

  /** Waits for a partition to be restored, keeping group membership alive meanwhile. */
  private async waitFor(slot: Promise<Slot<T>>, heartbeat: () => Promise<void>): Promise<Slot<T>> {
    let ready: Slot<T> | undefined;
    void slot.then(
      (s) => {
        ready = s;
      },
      () => undefined,
    );
    while (!ready) {
      await Promise.race([slot, sleep(1000)]);
      if (!ready) await heartbeat();
    }
    return ready;
  }

  /** Takes a partition over: fence the previous owner, restore its state from the changelog. */
  private async open(topic: string, partition: number): Promise<Slot<T>> {
    const transactional = this.atLeastOnce ? undefined : this.transactionalProducer(topic, partition);
    const producer: RecordWriter = transactional ?? recordWriter(this.kafka, { retry: TAKE_OVER_RETRY });
    let task: StatefulTask<T> | undefined;
    try {
      // The topics it writes looked up now: the partition's first outputs (a first decision) need not wait for them.
      const writes = [this.options.outputTopic, ...(this.options.sideOutputTopics ?? []), this.options.changelogTopic];
      await this.step(partition, 'connect', () => producer.connect(writes));
      // Beginning a transaction initialises the producer id, which fences the old owner and aborts its transaction.
      const txn = transactional ? await this.step(partition, 'fence', () => transactional.transaction()) : undefined;
      if (txn) await this.step(partition, 'sweep', () => this.sweep(txn, partition));
      const started = Date.now();
      const restored = await this.step(partition, 'restore', () =>
        readChangelog(this.kafka, this.options.changelogTopic, [partition]),
      );
      const log = restored.get(partition) ?? new Map<string, Buffer>();
      const next = log.get(NEXT_OFFSET);
      log.delete(NEXT_OFFSET);
      const covered = next === undefined ? undefined : Number(next.toString('utf8'));
      task = this.options.makeTask(topic, partition);
      const { state, segments } = ChangelogSegments.restore(log, task.packedState);
      task.restore(state);
      this.options.onRestore?.({ partition, records: state.length, ms: Date.now() - started });
      // Last: nothing after it can fail, so a failed take-over leaves no charge behind (the task's own is released in
      // the catch, as the retry makes another).
      if (this.options.budget) segments.useBudget(this.options.budget);
      return {
        topic,
        partition,
        producer,
        transactional,
        task,
        segments,
        next: covered ?? this.rewoundTo.get(`${topic}/${partition}`),
        committed: covered,
        first: undefined,
        soughtGap: false,
        outputs: new OrderedSends<Message>((outputs) => this.sendOutputs(producer, outputs)),
        txn: undefined,
        lastCommit: Date.now(),
        serial: new Serial(),
        dropped: false,
      };
    } catch (err) {
      task?.close?.();
      await producer.disconnect().catch(() => undefined);
      throw retriable('kafka_restore', `cannot take over ${topic}/${partition}`, err);
    }
  }

  /**
   * The partition's transactional producer. At least once it is made for the first checkpoint of more than one
   * request, not at the take-over: fencing and sweeping there cost each partition's first batch some hundreds of
   * milliseconds (the gateway loop's first victim, in CI). What that leaves, at least once:
   * - A transaction its owner's crash left open is aborted by the broker after TRANSACTION_TIMEOUT_MS (and its next
   *   scan for expired ones, ~10 s more). A restore meanwhile reads the changelog up to it (read committed: the
   *   changelog reader's end is the last stable offset), i.e. the checkpoint before it, consistent with its offset.
   * - A transaction a restarting broker left hanging (see "Transactions a restarted broker left open" above) stays
   *   until this partition's next transaction closes it; restores go back to before it meanwhile, and a partition whose
   *   checkpoints all fit in one request never makes one. Exactly once the take-over's sweep closes it.
   * - An old owner's multi-request checkpoint is not fenced by a new owner that has made no transaction, and a
   *   one-request checkpoint of the new owner's can land between its requests: some keys' counts then miss the
   *   records between the two owners' offsets (rare: a rebalance during a checkpoint of more than 512 KiB).
   * - An old owner's last outputs, in a send still under way when the partition moved (ordered-sends.ts), can land
   *   after the new owner's own copies of them (computed again from the last checkpoint): repeats with the same
   *   values, as any at-least-once repeat, only later than the first copy.
   */
  private transactionalProducer(topic: string, partition: number): Producer {
    return this.kafka.producer({
      transactionalId: `${this.options.consumer.group_id}/${topic}/${partition}`,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: RetryStablePartitioner,
      retry: TAKE_OVER_RETRY,
      ...(this.atLeastOnce ? { transactionTimeout: TRANSACTION_TIMEOUT_MS } : {}),
    });
  }

  /**
   * Commits whatever this partition's producer id left open under an older epoch (see "Transactions a restarted
   * broker left open" above): a fence record to each partition its transactions write, commit, and wait until the
   * changelog partition's committed end has passed the fence (the markers are written after the commit returns).
   */
  private async sweep(txn: Transaction, partition: number): Promise<void> {
    this.sweepTopics ??= topicPartitions(this.kafka, [
      this.options.outputTopic,
      ...(this.options.sideOutputTopics ?? []),
    ]).catch((err: unknown) => {
      this.sweepTopics = undefined;
      throw err;
    });
    const fence = (p: number): Message => ({
      key: FENCE_HEADER,
      value: null,
      partition: p,
      headers: { [FENCE_HEADER]: '1' },
    });
    const topicMessages: TopicMessages[] = [...(await this.sweepTopics)].map(([t, count]) => ({
      topic: t,
      messages: Array.from({ length: count }, (_, p) => fence(p)),
    }));
    topicMessages.push({ topic: this.options.changelogTopic, messages: [fence(partition)] });
    const written = await txn.sendBatch({ acks: -1, topicMessages });
    await txn.commit();
    const at = written.find((r) => r.topicName === this.options.changelogTopic && r.partition === partition);
    if (at?.baseOffset !== undefined) await this.committedPast(partition, Number(at.baseOffset));
  }

  /** Waits until the changelog partition's last stable offset is past `offset` (its transaction's marker written). */
  private async committedPast(partition: number, offset: number): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const deadline = Date.now() + SLOW_MS;
      for (;;) {
        const ends = await admin.fetchTopicOffsets(this.options.changelogTopic);
        if (Number(ends.find((e) => e.partition === partition)?.offset ?? 0) > offset) return;
        if (Date.now() > deadline) throw new Error(`the changelog's sweep at ${offset} is not committed`);
        await sleep(20);
      }
    } finally {
      await admin.disconnect();
    }
  }

  /** Runs one step on the broker for a partition, watched by reportSlow. */
  private async step<R>(partition: number, step: string, fn: () => Promise<R>): Promise<R> {
    const key = `${partition}/${step}`;
    this.steps.set(key, { partition, step, since: Date.now(), told: false });
    try {
      return await fn();
    } finally {
      this.steps.delete(key);
    }
  }

  private reportSlow(): void {
    const now = Date.now();
    for (const s of this.steps.values()) {
      if (s.told || now - s.since < SLOW_MS) continue;
      s.told = true;
      this.options.onSlow?.({ partition: s.partition, step: s.step, ms: now - s.since });
    }
  }

  private collect(slot: Slot<T>, outputs: SinkRecord<T>[]) {
    const serialize = this.options.serialize ?? ((v: T) => JSON.stringify(v));
    for (const out of outputs) {
      const topic = out.topic ?? this.options.outputTopic;
      slot.outputs.add(topic, { key: out.key ?? null, value: serialize(out.value, topic), headers: out.headers ?? {} });
    }
  }

  /**
   * Sends each topic's outputs (the output topic's packed per partition when packed, side outputs as they are), and
   * `also` (a checkpoint's changelog, in a transaction) in the same produce requests.
   */
  private async sendOutputs(
    to: Pick<RecordWriter, 'sendBatch'>,
    outputs: Map<string, Message[]>,
    also?: [string, Message[]],
  ): Promise<void> {
    const byTopic: [string, Message[]][] = [];
    for (const [topic, messages] of outputs) {
      const packed =
        this.partitionOf && topic === this.options.outputTopic
          ? packMessages(
              messages as { key: string | Buffer | null; value: string | Buffer; headers: Record<string, string> }[],
              this.partitionOf,
              MAX_PACK_BYTES,
            )
          : messages;
      byTopic.push([topic, packed]);
    }
    if (also) byTopic.push(also);
    await sendTogether(to, byTopic);
  }

  private checkpointDue() {
    if (this.failure) return;
    const now = Date.now();
    for (const pending of this.slots.values()) {
      void pending.then(
        (slot) => {
          const tick = slot.task.tick;
          if (tick === undefined && now - slot.lastCommit < this.options.commitIntervalMs) return;
          void slot.serial.run(async () => {
            if (slot.dropped || slot.next === undefined || this.failure) return;
            if (!(await this.sendsHold(slot))) return;
            if (tick) this.collect(slot, tick.call(slot.task, Date.now()));
            if (this.atLeastOnce) slot.outputs.pump();
            if (Date.now() - slot.lastCommit >= this.options.commitIntervalMs) await this.checkpoint(slot);
          });
        },
        () => undefined,
      );
    }
  }

  /** Commits outputs (exactly once), state changes and the input offset. Call on the slot's serial queue. */
  private checkpoint(slot: Slot<T>): Promise<void> {
    return this.step(slot.partition, 'checkpoint', () => this.checkpointNow(slot));
  }

  private async checkpointNow(slot: Slot<T>): Promise<void> {
    if (slot.dropped || this.failure) return;
    // At least once, the state and offset go to the changelog only once every output computed before them is
    // acknowledged: the send under way first (what is left is sent below, before the changelog).
    if (this.atLeastOnce && !(await this.settleSends(slot))) return;
    slot.lastCommit = Date.now();
    const changes = slot.task.drainChanges();
    if ((changes.length === 0 && slot.outputs.waiting === 0 && slot.next === slot.committed) || slot.next === undefined)
      return;
    const started = Date.now();
    const rebalances = this.rebalances;
    const outputs = slot.outputs.take();
    const mendedBefore = slot.segments.stats.mended;
    const changelog: Message[] = slot.segments
      .write(changes, slot.task.packedState)
      .map(([key, value]) => ({ key, value, partition: slot.partition }));
    changelog.push({ key: NEXT_OFFSET, value: String(slot.next), partition: slot.partition });
    try {
      // Exactly once: outputs, state and input offset in one transaction. At least once: the outputs have left already
      // (sendNow; any left over from a failed send go first), then the state and the offset it covers go to the
      // changelog all or nothing, then the group's offset (only a starting hint: the changelog's own offset decides
      // what a restore skips, so a failed commit of it, in a rebalance say, is no reason to rewind).
      if (this.atLeastOnce) await this.sendOutputs(slot.producer, outputs);
      if (this.atLeastOnce && chunks(changelog).length === 1) {
        // One produce request holds the partition's records as one record batch, which the broker appends whole or
        // not at all: no transaction's round trips and markers on the way.
        await sendTogether(slot.producer, [[this.options.changelogTopic, changelog]]);
        // Not after a rebalance that came while this checkpoint was being written: the partition may be another
        // member's by now, which may have committed further (an older offset would stand, for good if it goes quiet).
        if (this.rebalances === rebalances)
          await this.consumer
            ?.commitOffsets([{ topic: slot.topic, partition: slot.partition, offset: String(slot.next) }])
            .catch(() => undefined);
      } else {
        // More than one request (segments of 256 KiB, the cleaner's copies), or exactly once: a transaction — exactly
        // once with the outputs in the same requests.
        if (!slot.transactional) {
          // On the slot before it connects: a connect that fails leaves it to the rewind's release to disconnect.
          slot.transactional = this.transactionalProducer(slot.topic, slot.partition);
          await slot.transactional.connect();
        }
        slot.txn ??= await slot.transactional.transaction();
        await this.sendOutputs(slot.txn, this.atLeastOnce ? new Map() : outputs, [
          this.options.changelogTopic,
          changelog,
        ]);
        await slot.txn.sendOffsets({
          consumerGroupId: this.options.consumer.group_id,
          topics: [{ topic: slot.topic, partitions: [{ partition: slot.partition, offset: String(slot.next) }] }],
        });
        await slot.txn.commit();
        slot.txn = undefined;
      }
      slot.committed = slot.next;
      this.options.onCheckpoint?.({
        partition: slot.partition,
        outputs: [...outputs.values()].reduce((n, list) => n + list.length, 0),
        changes: changes.length,
        ms: Date.now() - started,
        mended: slot.segments.stats.mended - mendedBefore,
      });
    } catch (err) {
      await this.rewind(slot, err);
    }
  }

  /** At least once: waits for the partition's sends under way; false when one failed (the partition is then rewound). */
  private async settleSends(slot: Slot<T>): Promise<boolean> {
    await slot.outputs.settle();
    return this.sendsHold(slot);
  }

  /**
   * False when a send of this partition's outputs failed: the partition is rewound to its last checkpoint (which no
   * unacknowledged output is behind), unless it has gone to another member meanwhile, which restores it from there.
   */
  private async sendsHold(slot: Slot<T>): Promise<boolean> {
    const failure = slot.outputs.failure;
    if (!failure) return true;
    if (!slot.dropped) await this.rewind(slot, failure.error);
    return false;
  }

  /**
   * Whatever the cause (fenced by a new owner, broker down), the in-memory state is now ahead of the changelog: drop
   * it and rewind; the next batch restores the partition from its last checkpoint.
   */
  private async rewind(slot: Slot<T>, err: unknown): Promise<void> {
    this.options.onRetry?.(err);
    const key = `${slot.topic}/${slot.partition}`;
    // Only this slot's own entry: the partition may have been dropped meanwhile and opened again under the same key
    // (a rebalance that gave it back), and that newer slot is live.
    if (this.opened.get(key) === slot) {
      this.opened.delete(key);
      this.slots.delete(key);
    }
    await this.release(slot);
    // Before the partition's first checkpoint, back to the first record this slot processed.
    const to = slot.committed ?? slot.first;
    if (slot.committed === undefined && to !== undefined) this.rewoundTo.set(key, to);
    if (!this.stopping && to !== undefined) {
      try {
        this.consumer?.seek({ topic: slot.topic, partition: slot.partition, offset: String(to) });
      } catch {
        // Not ours any more: its new owner restores it.
      }
    }
  }

  private get atLeastOnce(): boolean {
    return this.options.guarantee === 'at_least_once';
  }

  /** Forgets a partition (lost in a rebalance, or stopping): waits for its current batch or checkpoint first. */
  private async drop(key: string): Promise<void> {
    const pending = this.slots.get(key);
    this.slots.delete(key);
    this.opened.delete(key);
    const slot = await pending?.catch(() => undefined);
    if (slot) await slot.serial.run(() => this.release(slot));
  }

  private async release(slot: Slot<T>): Promise<void> {
    if (slot.dropped) return;
    slot.dropped = true;
    slot.task.close?.();
    slot.segments.release();
    await this.step(slot.partition, 'release', async () => {
      // A send under way finishes (or fails) before its producer goes: at least once, what it holds was computed.
      await slot.outputs.close();
      await slot.txn?.abort().catch(() => undefined);
      await slot.producer.disconnect().catch(() => undefined);
      if (slot.transactional && slot.producer !== slot.transactional)
        await slot.transactional.disconnect().catch(() => undefined);
    });
  }

  /** Stops consuming, commits a final checkpoint of every partition (held state included) and leaves the group. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.slowTimer) clearInterval(this.slowTimer);
    const consumer = this.consumer;
    if (!consumer || this.stopping) return;
    consumer.pause(this.options.consumer.topics.map((topic) => ({ topic })));
    const slots = await Promise.all([...this.slots.values()].map((s) => s.catch(() => undefined)));
    for (const slot of slots) {
      // After a task failed, no state of this process is known to be whole: the changelog keeps the last checkpoint.
      if (!slot || this.failure) continue;
      await slot.serial.run(async () => {
        slot.lastCommit = 0;
        await this.checkpoint(slot);
      });
    }
    this.stopping = true;
    for (const key of [...this.slots.keys()]) await this.drop(key);
    await consumer.disconnect();
    this.settle?.resolve();
  }
}

/** At least once: outputs a partition may compute behind its send under way before its next batch waits for it. */
const MAX_WAITING_OUTPUTS = 10_000;

const byteLength = (v: string | Buffer | null | undefined) =>
  v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;

/**
 * Produces every topic's messages (acks=all), through a producer or a transaction, in as few requests as Kafka
 * takes: one request carries a chunk of each topic (a fused stage's feature records and decisions together, so a
 * decision does not wait for the features' round trip), and a topic larger than one chunk takes one more request
 * per chunk.
 */
export async function sendTogether(to: Pick<RecordWriter, 'sendBatch'>, byTopic: [string, Message[]][]): Promise<void> {
  const rounds: TopicMessages[][] = [];
  for (const [topic, messages] of byTopic) {
    chunks(messages).forEach((part, i) => {
      let round = rounds[i];
      if (!round) {
        round = [];
        rounds.push(round);
      }
      round.push({ topic, messages: part });
    });
  }
  for (const topicMessages of rounds) await to.sendBatch({ acks: -1, topicMessages });
}

/**
 * Splits messages into sends of at most MAX_SEND_BYTES of keys and values (Kafka refuses record batches over 1 MiB).
 */
export function chunks(messages: Message[]): Message[][] {
  const out: Message[][] = [];
  let current: Message[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = byteLength(m.value) + byteLength(m.key) + 64;
    if (current.length > 0 && bytes + size > MAX_SEND_BYTES) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
