// Ingest paced by the entity stage. Ingest writes each event to the principal-keyed topic at once; its entity parts
// reach that topic only after the entity stage has read the event's entity-keyed copies and computed them. Live, that
// is milliseconds. On a backlog (a detector started behind its input, catching up after an outage) ingest re-keys
// far faster than the entity stage computes, the parts land behind every event ingest wrote before them, and the
// principal stage — which reads its topic in order — must hold every request in between until its parts come. Past
// its share of the state budget it lets the longest-waiting go without their address, username and tenant features
// (join_incomplete): on bench:pipeline's 300,000-event backlog, nearly all of them.
//
// So ingest waits while the entity stage's lag, in events, is more than the principal stage can hold waiting: the
// parts then stay within that many events of their requests, and no request has to leave without them. The lag is
// the broker's: the entity stage's committed offsets against the ends of its input topic (every instance's ingest
// sees the same), in records, times the events a record of that topic carries (it is packed). Live the lag is a few
// records and ingest never waits.
//
// An entity stage that makes no progress at all (stopped, its partitions stuck) does not stop ingest: after
// `stallMs` without its committed offsets moving, ingest goes on, and requests leave without their parts as before
// (counted) — the principal features and their decisions matter more than waiting for a stage that is down.

export interface EntityLag {
  /** Sum over the entity topic's partitions of the end offset. */
  end: number;
  /** Sum over its partitions of what the entity stage has committed (at least each partition's start). */
  committed: number;
}

export interface EntityPacerOptions {
  /** Reads the entity stage's offsets (from the broker). */
  lag: () => Promise<EntityLag>;
  /** Events a Kafka record of the entity topic carries, on average (packed records carry many). */
  eventsPerRecord: () => number;
  /** Most events the entity stage may trail by before ingest waits: what the principal stage can hold waiting. */
  maxLagEvents: number;
  /** How often the lag is read. */
  pollMs?: number;
  /** How long the entity stage may make no progress before ingest stops waiting for it. */
  stallMs?: number;
  /** Told when ingest starts and stops waiting (a log line). */
  onChange?: (paced: boolean, lagEvents: number) => void;
  /** Lets go of what `lag` reads with (an admin client), at stop. */
  close?: () => Promise<void>;
  now?: () => number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class EntityPacer {
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private paced = false;
  private lastCommitted = -1;
  private progressAt: number;
  private readonly now: () => number;

  constructor(private readonly options: EntityPacerOptions) {
    this.now = options.now ?? Date.now;
    this.progressAt = this.now();
  }

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), this.options.pollMs ?? 200);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.paced = false;
    await this.options.close?.().catch(() => undefined);
  }

  /** Whether ingest waits now. */
  get waiting(): boolean {
    return this.paced;
  }

  /** Reads the lag once and decides (the timer calls it; a read that fails leaves the decision as it was). */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const { end, committed } = await this.options.lag();
      const now = this.now();
      if (committed > this.lastCommitted) {
        this.lastCommitted = committed;
        this.progressAt = now;
      }
      const lagEvents = Math.max(0, end - committed) * this.options.eventsPerRecord();
      const stalled = now - this.progressAt > (this.options.stallMs ?? 10_000);
      const paced = lagEvents > this.options.maxLagEvents && !stalled;
      if (paced !== this.paced) this.options.onChange?.(paced, Math.round(lagEvents));
      this.paced = paced;
    } catch {
      // The broker did not answer: the next poll tries again.
    } finally {
      this.polling = false;
    }
  }

  /** Resolves once ingest may go on; keeps the consumer's group membership alive meanwhile. */
  async wait(heartbeat: () => Promise<void>, isRunning: () => boolean): Promise<void> {
    while (this.paced && isRunning()) {
      await heartbeat();
      await sleep(20);
    }
  }
}
