// The alerter's core: decisions in → incidents → messages to every receiver whose minimum severity they reach, each
// delivered, queued for retry (retry-queue.ts) or dead-lettered before the batch counts as done; revocations of
// subjects and sessions in → CAEP session-revoked SETs. Every delivery outcome becomes an audit row (the alerts
// table). Incidents are delivered concurrently (up to `concurrency` at a time), one incident's messages in order.
import { BackgroundWrites, Serial } from '@vigil/core';
import type { Decision } from '@vigil/events';
import { type CaepOptions, type RevokedSubject, sessionRevokedSet } from './caep.js';
import { type DeliveryResult, deliver, type ReceiverTarget } from './delivery.js';
import { type AlertMessage, IncidentBook, SEVERITIES, type Severity } from './incidents.js';
import { type PayloadFormat, payload } from './receivers/index.js';
import type { RetryItem } from './retry-queue.js';

export interface WebhookReceiver {
  target: ReceiverTarget;
  format: PayloadFormat;
  minSeverity: Severity;
}

export interface CaepReceiver {
  target: ReceiverTarget;
  options: CaepOptions;
}

export interface AlertAudit {
  at: number;
  message: AlertMessage;
  receiver: string;
  result: DeliveryResult;
}

export interface DeadLetter {
  receiver: string;
  id: string;
  body: string;
  status: number;
  reason: string;
}

export interface AlerterOptions {
  receivers: WebhookReceiver[];
  caep: CaepReceiver[];
  windowMs: number;
  audit: (rows: AlertAudit[]) => Promise<void>;
  deadLetter: (items: DeadLetter[]) => Promise<void>;
  /**
   * The durable retry queue: messages the in-line attempts could not deliver go here instead of the dead letter.
   * Without one, they are dead-lettered (tests, tools).
   */
  retry?: (items: RetryItem[]) => Promise<void>;
  /** Incidents delivered at once (default 8). */
  concurrency?: number;
  now?: () => number;
}

export class Alerter {
  private readonly book: IncidentBook;
  private readonly now: () => number;
  readonly counts = {
    messages: 0,
    delivered: 0,
    queued: 0,
    dead_lettered: 0,
    caep_delivered: 0,
    caep_dead_lettered: 0,
  };
  /** Receiver → incidents with a message on the retry queue (this process's; their later messages queue behind). */
  private readonly waiting = new Map<string, Set<string>>();

  constructor(private readonly o: AlerterOptions) {
    this.book = new IncidentBook(o.windowMs);
    this.now = o.now ?? Date.now;
  }

  get openIncidents(): number {
    return this.book.size;
  }

  /**
   * Adds a batch of decisions, then delivers what they caused. The whole batch joins its incidents before any
   * delivery waits on a receiver, and closing never runs during a batch, so a slow receiver cannot split an incident.
   */
  handle(decisions: Decision[]): Promise<void> {
    return this.serial.run(async () => {
      const messages: AlertMessage[] = [];
      for (const d of decisions) {
        const m = this.book.add(d, this.now());
        if (m) messages.push(m);
      }
      await this.sendAll(messages);
      this.book.touch(decisions, this.now());
    });
  }

  /** Closes idle incidents and sends their summaries. */
  flushDue(): Promise<void> {
    return this.serial.run(async () => {
      await this.sendAll(this.book.due(this.now()));
    });
  }

  private readonly serial = new Serial();

  /** Messages grouped by incident: incidents concurrently (bounded), each incident's messages in order. */
  private async sendAll(messages: AlertMessage[]): Promise<void> {
    const byIncident = new Map<string, AlertMessage[]>();
    for (const m of messages) {
      const list = byIncident.get(m.incident.alert_id);
      if (list) list.push(m);
      else byIncident.set(m.incident.alert_id, [m]);
    }
    const queue = [...byIncident.values()];
    const worker = async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) for (const m of next) await this.send(m);
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency ?? 8, queue.length) }, worker));
  }

  private async send(m: AlertMessage): Promise<void> {
    this.counts.messages++;
    const rank = SEVERITIES.indexOf(m.incident.severity);
    const targets = this.o.receivers.filter((r) => rank >= SEVERITIES.indexOf(r.minSeverity));
    const at = this.now();
    const results = await Promise.all(
      targets.map(async (r) => {
        const body = payload(r.format, m);
        const waiting = this.waiting.get(r.target.name);
        // Behind a message of the same incident that waits on the queue: straight onto the queue, to keep the order.
        if (this.o.retry && waiting?.has(m.incident.alert_id))
          return { r, body, result: { outcome: 'queued', attempts: 0, status: 0 } as DeliveryResult };
        return { r, body, result: await deliver(r.target, m.id, body, this.now) };
      }),
    );
    const dead: DeadLetter[] = [];
    const retry: RetryItem[] = [];
    for (const { r, body, result } of results) {
      if (result.outcome === 'delivered') this.counts.delivered++;
      else if (this.o.retry && result.reason !== 'refused') {
        result.outcome = 'queued';
        this.counts.queued++;
        retry.push({
          receiver: r.target.name,
          message: m,
          body,
          first_attempt_at: at,
          attempts: result.attempts,
          status: result.status,
        });
        const set = this.waiting.get(r.target.name) ?? new Set<string>();
        set.add(m.incident.alert_id);
        this.waiting.set(r.target.name, set);
      } else {
        this.counts.dead_lettered++;
        dead.push({
          receiver: r.target.name,
          id: m.id,
          body,
          status: result.status,
          reason: result.reason ?? 'attempts_exhausted',
        });
      }
    }
    // The queue write is awaited (a message must be durable somewhere before its input counts as done); dead letters
    // and audit rows are written in the background, and whoever commits the input waits for settled().
    if (retry.length > 0 && this.o.retry) await this.o.retry(retry);
    if (dead.length > 0) this.background.track(this.o.deadLetter(dead));
    if (results.length > 0)
      this.background.track(
        this.o.audit(results.map(({ r, result }) => ({ at: this.now(), message: m, receiver: r.target.name, result }))),
      );
  }

  private readonly background = new BackgroundWrites();

  /** The retry worker finished with an incident's queued message for a receiver (delivered or dead-lettered). */
  retried(receiver: string, incident: string): void {
    this.waiting.get(receiver)?.delete(incident);
  }

  /** Resolves once every background write started so far is durable (rejects with the first failure). */
  settled(): Promise<void> {
    return this.background.settled();
  }

  /** Pushes a CAEP session-revoked SET for a revoked subject or session to every CAEP receiver. */
  async revoked(r: RevokedSubject): Promise<void> {
    for (const c of this.o.caep) {
      const set = sessionRevokedSet(r, c.options, this.now());
      if (!set) return;
      const result = await deliver(
        { ...c.target, contentType: 'application/secevent+jwt' },
        `caep-${r.request_id}-${r.kind}-${r.value}`,
        set,
        this.now,
      );
      if (result.outcome === 'delivered') this.counts.caep_delivered++;
      else {
        this.counts.caep_dead_lettered++;
        await this.o.deadLetter([
          {
            receiver: c.target.name,
            id: `caep:${r.kind}:${r.value}`,
            body: set,
            status: result.status,
            reason: result.reason ?? 'attempts_exhausted',
          },
        ]);
      }
    }
  }
}
