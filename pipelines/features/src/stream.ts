// Features over a stream of events: a reorder buffer (bounded out-of-orderness) in front of the extractor, so the
// vectors depend only on the events, not on the order in which shippers, partitions or instances delivered them.
// One per keyed partition in each feature stage's task, which carries its delivery bookkeeping through the buffer as
// each event's payload; and, over a whole log in one process, the reference the stage tests hold those stages equal to.
//
// Checkpoints (online stages): the extractor's state changes, the events the buffer holds with their payloads
// (payloads must survive JSON) and the buffer's clock. Restored, the stream continues exactly where it was.
//
// Held events are checkpointed in sets: the events that arrived since the previous checkpoint and are still held
// make one record, deleted once every event in it has been released. (A record per event and its deletion were two
// changelog records per event; a set is two per checkpoint.) A set may still list events released since it was
// written; restore drops them by the clock checkpointed with it: the buffer releases an event as soon as the
// watermark reaches it, so exactly the events newer than the watermark were held.
import { type ChangelogChange, RestoredRecords } from '@vigil/connectors';
import type { AccessEvent } from '@vigil/events';
import { type FeatureExtractor, GROUP } from './extractor.js';
import type { Role } from './features/roles.js';
import { decodeState, encodeState } from './state/checkpoint.js';
import { ReorderBuffer } from './state/reorder-buffer.js';

export interface FeatureRow<P = undefined> {
  event: AccessEvent;
  vector: Float64Array;
  payload: P;
}

interface Held<P> {
  event: AccessEvent;
  payload: P;
  /** Arrival number: the held event's checkpoint key (request ids need not be unique). */
  n: number;
}

/** One held event per record (earlier versions; still restored). */
const HELD = 'held/';
/** A set of held events (the events added between two checkpoints). */
const HELD_SET = 'heldset/';
const CLOCK = 'clock';
/** The extractor's records. */
const STATE = 'state/';
/** The prefix of the extractor's key groups among the stream's changelog keys (PackedState.space). */
export const GROUP_SPACE = STATE + GROUP;

export class FeatureStream<P = undefined> {
  private readonly buffer: ReorderBuffer<Held<P>>;
  private arrivals = 0;
  /** When tracking: held events not yet checkpointed. */
  private added: Map<number, Held<P>> | undefined;
  /** Checkpointed held events: the changelog key of the record holding each. */
  private readonly recordOf = new Map<number, string>();
  /** Checkpointed records of held events: how many of their events are still held. */
  private readonly stillHeld = new Map<string, number>();
  /** Records whose events have all been released, to delete at the next checkpoint. */
  private emptied: string[] = [];
  private checkpointedArrivals = 0;
  /** The buffer's clock moved without an arrival (advance()): the next checkpoint records it. */
  private clockMoved = false;

  /** @param roleOf which role's families an event runs through (online stages); default: every family */
  constructor(
    readonly extractor: FeatureExtractor,
    boundMs: number,
    private readonly roleOf?: (payload: P) => Role,
  ) {
    this.buffer = new ReorderBuffer(boundMs);
  }

  /** Events arriving later than the bound (counted at their key's newest time). */
  get late(): number {
    return this.buffer.late;
  }

  get held(): number {
    return this.buffer.size;
  }

  /** Adds an event; returns the vectors of the events now due, in event-time order. */
  push(event: AccessEvent, payload?: P): FeatureRow<P>[] {
    const held: Held<P> = { event, payload: payload as P, n: ++this.arrivals };
    this.added?.set(held.n, held);
    return this.extract(this.buffer.push(event.ts, event.request_id, held));
  }

  /** The reorder buffer's bound, ms of event time. */
  get boundMs(): number {
    return this.buffer.boundMs;
  }

  /** The newest event time seen (or advanced to). */
  get newest(): number {
    return this.buffer.clock.maxTs;
  }

  /** Advances the buffer's clock to `ts` without an event (see ReorderBuffer.advance); returns the vectors now due. */
  advanceTo(ts: number): FeatureRow<P>[] {
    if (ts <= this.newest) return [];
    this.clockMoved = true;
    return this.extract(this.buffer.advance(ts));
  }

  flush(): FeatureRow<P>[] {
    return this.extract(this.buffer.flush());
  }

  private extract(held: Held<P>[]): FeatureRow<P>[] {
    return held.map((h) => {
      if (this.added && !this.added.delete(h.n)) this.releasedCheckpointed(h.n);
      return { event: h.event, payload: h.payload, vector: this.extractor.extract(h.event, this.roleOf?.(h.payload)) };
    });
  }

  private releasedCheckpointed(n: number) {
    const key = this.recordOf.get(n);
    if (key === undefined) return;
    this.recordOf.delete(n);
    const left = (this.stillHeld.get(key) ?? 1) - 1;
    if (left > 0) this.stillHeld.set(key, left);
    else {
      this.stillHeld.delete(key);
      this.emptied.push(key);
    }
  }

  /** Starts recording changes for checkpoints. */
  trackChanges(): void {
    this.added ??= new Map();
    this.extractor.trackChanges();
  }

  /** Changes since the last drain: extractor state, held events, the buffer's clock; each key after `prefix`. */
  drainChanges(prefix = ''): ChangelogChange[] {
    // The prefix is joined to each key once (FeatureExtractor.drainChanges says why).
    const out = this.extractor.drainChanges(prefix + STATE);
    for (const key of this.emptied) out.push([prefix + key, null]);
    this.emptied = [];
    if (this.added && this.added.size > 0) {
      const set = [...this.added.values()];
      const key = HELD_SET + (set[0] as Held<P>).n;
      out.push([
        prefix + key,
        Buffer.from(JSON.stringify(set.map((h) => ({ n: h.n, event: h.event, payload: h.payload })))),
      ]);
      for (const h of set) this.recordOf.set(h.n, key);
      this.stillHeld.set(key, set.length);
      this.added.clear();
    }
    if (this.arrivals !== this.checkpointedArrivals || this.clockMoved)
      out.push([prefix + CLOCK, encodeState({ ...this.buffer.clock, arrivals: this.arrivals })]);
    this.checkpointedArrivals = this.arrivals;
    this.clockMoved = false;
    return out;
  }

  /** Whether a changelog key of drainChanges may be packed into changelog segments: the extractor's key groups. */
  packs(key: string): boolean {
    return key.startsWith(STATE) && this.extractor.packs(key.slice(STATE.length));
  }

  /** A packable key's record as it stands now (null: gone). */
  encoded(key: string): Buffer | null {
    return key.startsWith(STATE) ? this.extractor.encoded(key.slice(STATE.length)) : null;
  }

  /** Rebuilds the stream from changelog records (latest per key). */
  restore(records: Iterable<[string, Buffer | null]>): void {
    const all = RestoredRecords.of(records);
    const stored: [string, Held<P>][] = [];
    let clock = { maxTs: Number.NEGATIVE_INFINITY, late: 0, arrivals: 0 };
    // The extractor's records (nearly all of them) are taken as a share, without a key or a value cut for each.
    for (let i = 0; i < all.length; i++) {
      if (all.keyStartsWith(i, STATE)) continue;
      const key = all.key(i);
      const value = all.value(i);
      if (key.startsWith(HELD) && value)
        stored.push([
          key,
          {
            n: Number(key.slice(HELD.length)),
            ...(JSON.parse(value.toString('utf8')) as { event: AccessEvent; payload: P }),
          },
        ]);
      else if (key.startsWith(HELD_SET) && value)
        for (const h of JSON.parse(value.toString('utf8')) as Held<P>[]) stored.push([key, h]);
      else if (key === CLOCK && value) clock = decodeState(value);
    }
    this.extractor.restore(all.within(STATE));
    this.arrivals = clock.arrivals;
    this.checkpointedArrivals = clock.arrivals;
    this.recordOf.clear();
    this.stillHeld.clear();
    this.emptied = [];
    const watermark = clock.maxTs - this.buffer.boundMs;
    const held: Held<P>[] = [];
    for (const [key, h] of stored) {
      if (!this.stillHeld.has(key)) this.stillHeld.set(key, 0);
      if (h.event.ts <= watermark) continue;
      held.push(h);
      this.recordOf.set(h.n, key);
      this.stillHeld.set(key, (this.stillHeld.get(key) as number) + 1);
    }
    for (const [key, left] of this.stillHeld) {
      if (left > 0) continue;
      this.stillHeld.delete(key);
      this.emptied.push(key);
    }
    // In arrival order (each held event's number), which the buffer keeps among events of the same time and id.
    held.sort((a, b) => a.n - b.n);
    this.buffer.restore(
      clock,
      held.map((h) => ({ ts: h.event.ts, id: h.event.request_id, item: h })),
    );
  }
}
