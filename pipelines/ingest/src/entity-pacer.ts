// Ingest paced by the entity stage. Ingest writes each event to the principal-keyed topic at once; its entity parts
// reach that topic only after the entity stage has read the event's entity-keyed copies and computed them. Live, that
// is milliseconds. On a backlog (a detector started behind its input, catching up after an outage) ingest re-keys
// far faster than the entity stage computes, the parts land behind every event ingest wrote before them, and the
// principal stage — which reads its topic in order — must hold every request in between until its parts come. Past
// its share of the state budget it lets the longest-waiting go without their address, username and tenant features
// (join_incomplete): on bench:pipeline's 300,000-event backlog, nearly all of them.
//
// So ingest waits while the entity stage trails it by more requests than the principal stage can hold waiting: the
// parts then stay within that many requests of their requests. The lag is the broker's — the entity stage's committed
// offsets against the ends of its input topic, partition by partition (every instance's ingest sees the same) — in
// Kafka records, times the requests a record of that topic stands for (it is packed, and each request has a copy per
// role). Committed offsets move at the entity stage's checkpoints, so the lag reads high by up to a commit interval's
// worth of its progress: that much is allowed on top. Live the lag is a few records and ingest never waits.
//
// What is not waited for, so that a stage in trouble does not stop ingest with it (the principal features and their
// decisions matter more; requests then leave without the parts, counted, as before):
// - an entity partition whose committed offset has not moved for `stallMs` while it has records to read (stuck,
//   restoring for long, its owner gone): it leaves the lag until it moves again;
// - an entity stage with no member in its group (not running);
// - a lag that cannot be read (the broker, the group's coordinator) for `stallMs`.

import type { PartitionLag } from '@vigil/connectors';

/** The entity stage's lag (@vigil/connectors' groupLagReader) and how many share the waiting requests. */
export interface EntityLag {
  /** The entity stage's group on each partition of its input topic. */
  partitions: PartitionLag[];
  /** Members in the entity stage's group: none means it is not running. */
  members: number;
  /**
   * Members in the principal stage's group: each holds its own share of the waiting requests (instances of one
   * deployment share a config), and the lag spreads over them. Absent or 0: this process alone.
   */
  holders?: number;
}

export interface EntityPacerOptions {
  /** Reads the entity stage's offsets and group (from the broker). */
  lag: () => Promise<EntityLag>;
  /** Requests a Kafka record of the entity topic stands for, on average (packed records, a copy per role). */
  requestsPerRecord: () => number;
  /** Most requests the entity stage may trail by before ingest waits: what this process's principal tasks can hold. */
  maxLagRequests: number;
  /** The entity stage's checkpoint interval: its committed offsets move this often. */
  commitIntervalMs: number;
  /** How often the lag is read. */
  pollMs?: number;
  /** How long an entity partition (or the broker) may show no progress before ingest stops waiting for it. */
  stallMs?: number;
  /** Told when ingest starts and stops waiting (a log line). */
  onChange?: (paced: boolean, lagRequests: number) => void;
  /** Lets go of what `lag` reads with (an admin client), at stop. */
  close?: () => Promise<void>;
  now?: () => number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class EntityPacer {
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;
  private paced = false;
  /** Per partition: its last committed offset and when it last moved (or had nothing to read). */
  private readonly partitions = new Map<number, { committed: number; movedAt: number }>();
  private readAt: number;
  /** The entity stage's progress, in records a second (smoothed), and where it was last measured. */
  private rate = 0;
  private last: { at: number; committed: number } | undefined;
  private readonly now: () => number;
  private readonly stallMs: number;

  constructor(private readonly options: EntityPacerOptions) {
    this.now = options.now ?? Date.now;
    this.stallMs = options.stallMs ?? 30_000;
    this.readAt = this.now();
  }

  start(): void {
    if (this.stopped) return;
    this.timer ??= setInterval(() => void this.poll(), this.options.pollMs ?? 200);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.paced = false;
    await this.polling;
    await this.options.close?.().catch(() => undefined);
  }

  /** Whether ingest waits now. */
  get waiting(): boolean {
    return this.paced;
  }

  /** Reads the lag once and decides (the timer calls it). */
  poll(): Promise<void> {
    this.polling ??= this.read().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async read(): Promise<void> {
    let lag: EntityLag;
    try {
      lag = await this.options.lag();
    } catch {
      // Unreadable for long: not waited for (the next read that works decides again).
      if (this.now() - this.readAt > this.stallMs) this.decide(false, 0);
      return;
    }
    if (this.stopped) return;
    const now = this.now();
    this.readAt = now;
    let records = 0;
    let committed = 0;
    for (const p of lag.partitions) {
      const done = Math.min(p.end, Math.max(p.committed, p.start));
      const behind = p.end - done;
      committed += done;
      const seen = this.partitions.get(p.partition);
      if (!seen || done > seen.committed || behind === 0)
        this.partitions.set(p.partition, { committed: done, movedAt: now });
      const movedAt = this.partitions.get(p.partition)?.movedAt ?? now;
      if (now - movedAt <= this.stallMs) records += behind;
    }
    this.measureRate(now, committed);
    const perRecord = this.options.requestsPerRecord();
    const lagRequests = records * perRecord;
    const allowed =
      this.options.maxLagRequests * Math.max(1, lag.holders ?? 1) +
      (this.rate * perRecord * this.options.commitIntervalMs) / 1000;
    this.decide(lag.members > 0 && lagRequests > allowed, lagRequests);
  }

  /** The entity stage's committed records a second, smoothed over the last few seconds. */
  private measureRate(now: number, committed: number): void {
    const last = this.last;
    if (last && committed > last.committed && now > last.at) {
      const rate = ((committed - last.committed) * 1000) / (now - last.at);
      this.rate = this.rate === 0 ? rate : 0.8 * this.rate + 0.2 * rate;
    }
    if (!last || committed !== last.committed) this.last = { at: now, committed };
  }

  private decide(paced: boolean, lagRequests: number): void {
    if (paced !== this.paced) this.options.onChange?.(paced, Math.round(lagRequests));
    this.paced = paced;
  }

  /** Resolves once ingest may go on; keeps the consumer's group membership alive meanwhile. */
  async wait(heartbeat: () => Promise<void>, isRunning: () => boolean): Promise<void> {
    while (this.paced && isRunning()) {
      await heartbeat();
      await sleep(20);
    }
  }
}
