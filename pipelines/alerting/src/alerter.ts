// The alerter's core: decisions in → incidents → messages to every receiver whose minimum severity they reach, each
// delivered (or dead-lettered) before the batch counts as done; revocations of subjects and sessions in → CAEP
// session-revoked SETs. Every delivery outcome becomes an audit row (the alerts table).
import { BackgroundWrites, Serial } from '@vigil/connectors';
import type { Decision } from '@vigil/events';
import { type CaepOptions, type RevokedSubject, sessionRevokedSet } from './caep.js';
import { type DeliveryResult, deliver, type ReceiverTarget } from './delivery.js';
import { type AlertMessage, IncidentBook, SEVERITIES, type Severity } from './incidents.js';
import { type PayloadFormat, payload } from './payloads.js';

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
  now?: () => number;
}

export class Alerter {
  private readonly book: IncidentBook;
  private readonly now: () => number;
  readonly counts = { messages: 0, delivered: 0, dead_lettered: 0, caep_delivered: 0, caep_dead_lettered: 0 };

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
      for (const m of messages) await this.send(m);
      this.book.touch(decisions, this.now());
    });
  }

  /** Closes idle incidents and sends their summaries. */
  flushDue(): Promise<void> {
    return this.serial.run(async () => {
      for (const m of this.book.due(this.now())) await this.send(m);
    });
  }

  private readonly serial = new Serial();

  private async send(m: AlertMessage): Promise<void> {
    this.counts.messages++;
    const rank = SEVERITIES.indexOf(m.incident.severity);
    const targets = this.o.receivers.filter((r) => rank >= SEVERITIES.indexOf(r.minSeverity));
    const results = await Promise.all(
      targets.map(async (r) => {
        const body = payload(r.format, m);
        const result = await deliver(r.target, m.id, body, this.now);
        return { r, body, result };
      }),
    );
    const dead: DeadLetter[] = [];
    for (const { r, body, result } of results) {
      if (result.outcome === 'delivered') this.counts.delivered++;
      else {
        this.counts.dead_lettered++;
        dead.push({ receiver: r.target.name, id: m.id, body, status: result.status, reason: result.reason ?? 'attempts_exhausted' });
      }
    }
    // Dead letters and audit rows are written in the background; whoever commits the input waits for settled().
    if (dead.length > 0) this.background.track(this.o.deadLetter(dead));
    if (results.length > 0)
      this.background.track(this.o.audit(results.map(({ r, result }) => ({ at: this.now(), message: m, receiver: r.target.name, result }))));
  }

  private readonly background = new BackgroundWrites();

  /** Resolves once every background write started so far is durable (rejects with the first failure). */
  settled(): Promise<void> {
    return this.background.settled();
  }

  /** Pushes a CAEP session-revoked SET for a revoked subject or session to every CAEP receiver. */
  async revoked(r: RevokedSubject): Promise<void> {
    for (const c of this.o.caep) {
      const set = sessionRevokedSet(r, c.options, this.now());
      if (!set) return;
      const result = await deliver({ ...c.target, contentType: 'application/secevent+jwt' }, `caep-${r.request_id}-${r.kind}-${r.value}`, set, this.now);
      if (result.outcome === 'delivered') this.counts.caep_delivered++;
      else {
        this.counts.caep_dead_lettered++;
        await this.o.deadLetter([
          { receiver: c.target.name, id: `caep:${r.kind}:${r.value}`, body: set, status: result.status, reason: result.reason ?? 'attempts_exhausted' },
        ]);
      }
    }
  }
}
