// The principal stage, one partition of vigil.access.by-principal: access events run through the principal's own
// feature families (after the partition's reorder buffer), entity parts from the entity stage arrive on the same
// partition, and each request leaves as one feature record once its principal part and every entity part it expects
// (entityKeys: IP always; username and tenant for logins) have met. Both sides are computed in event-time order by
// the owner of their key, so the joined vector does not depend on timing, instance count or restarts, and equals
// the offline one.
//
// Join rule: a request waits for its parts however long they take (the entity stage checkpoints, so they come).
// Only past `maxPendingJoins` waiting requests, or past the task's part of the state budget's share for them
// (PENDING_SHARE: the waiting requests are charged to the budget the stores share) — an entity stage down for long —
// is the oldest emitted with its missing parts as 0 and counted (vigil_records_skipped{reason="join_incomplete"});
// parts whose request never came are dropped the same way, and so is a part still waiting, without its request,
// ORPHAN_AFTER_MS of event time after the partition's watermark has passed it: its request was joined already (a
// part sent twice — the stages' at-least-once mode after a crash) or never came. State (reorder buffer, principal
// families, waiting joins, source positions) is checkpointed by the KafkaStatefulProcessor running the task. Two
// events of a principal with the same time and request id (a line shipped twice) are two requests, each joined with
// its own parts (Join.next).
import { type SinkRecord, SOURCE_HEADER, type SourceRecord } from '@vigil/connectors';
import { arrayBytes, ID_BYTES, objectBytes, stringBytes } from '@vigil/core';
import { type Principal, principalKey, type TopicCodec } from '@vigil/events';
import { pipelineCounters } from '@vigil/telemetry';
import type { FeatureExtractor } from '../extractor.js';
import { ENTITY_ROLES, type EntityRole, entityKeys } from '../features/roles.js';
import { decodeState, encodeState } from '../state/checkpoint.js';
import type { StateBudget } from '../state/state-budget.js';
import type { FeatureRow } from '../stream.js';
import {
  type EntityPart,
  entityPartCodec,
  type FeatureRecord,
  KIND_HEADER,
  PART_KIND,
  type RequestContext,
  requestContext,
  SCHEMA_HEADER,
  schemaTag,
  traceHeaders,
  vectorValues,
} from './records.js';
import { StreamTask, type StreamTaskOptions } from './stream-task.js';

export type { FeatureRecord } from './records.js';

interface Join {
  ts: number;
  request_id: string;
  principal: string;
  headers: Record<string, string>;
  /** The full vector with the principal part filled in, once the event has been released. */
  vector: number[] | undefined;
  /** Roles whose parts this request needs (known with the event). */
  expect: EntityRole[] | undefined;
  parts: Partial<Record<EntityRole, number[]>>;
  /** Every identifier of the request's principal (what a decision record carries). */
  ids: Principal | undefined;
  ctx: RequestContext | undefined;
  /**
   * A later request of the same principal with the same time and id (a line shipped twice, a reused id), joined in
   * arrival order: the n-th such event with the n-th part of each role. For a line shipped twice (the same entity
   * keys, so each role's parts come from one entity partition, in order) that pairing is exact whatever the timing;
   * requests that share principal, time and id but not their entity keys pair in the order their parts arrive.
   */
  next?: Join;
  /**
   * The gateway log record the request came from (ingest's source header, carried by the event and by each of its
   * parts): where both sides have it, they are joined by it — exactly, and a part sent again finds its own request.
   */
  src?: string;
  /**
   * When its key began to wait, in the task's count (every request of a chain carries its key's): the order the
   * longest-waiting leave in. The Map keeps that order while the task runs; a restore gets its keys in the order they
   * were last written, and sorts them back by it. (Absent in joins an older vigil wrote: those go first.)
   */
  at?: number;
}

const JOIN = 'join/';
/** A join's key: the request's event time and id. */
const joinKey = (ts: number, requestId: string) => `${ts}/${requestId}`;
/** Whether two parts' vectors hold the same values. */
function sameValues(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The requests waiting at one join key, in arrival order (a copy: callers drop some as they go). */
function chain(head: Join): Join[] {
  const out: Join[] = [];
  for (let j: Join | undefined = head; j; j = j.next) out.push(j);
  return out;
}
/** Event time after which a part whose request never arrived (or was joined already) is dropped. */
export const ORPHAN_AFTER_MS = 10 * 60_000;

/** A Map entry's share of its table (28 bytes a slot, 1.44 slots an entry on average as the table doubles). */
const MAP_ENTRY = 40;

/**
 * Estimated heap bytes of one waiting request, what the state budget is charged for it (@vigil/core's heap-size
 * figures), with everything it can come to hold: the Join's object and key (~50 characters) in the Map, the request
 * id and the principal, its trace headers (traceparent), the vector, a part for every role, the roles it expects, its
 * principal's ids and its request context, and the source header.
 */
export function joinBytes(width: number, roleWidths: readonly number[]): number {
  return (
    objectBytes(12, 1) +
    stringBytes(50) +
    MAP_ENTRY +
    2 * ID_BYTES +
    objectBytes(1) +
    stringBytes(55) +
    arrayBytes(width) +
    objectBytes(roleWidths.length) +
    roleWidths.reduce((sum, w) => sum + arrayBytes(w), 0) +
    arrayBytes(roleWidths.length) +
    objectBytes(4) +
    4 * ID_BYTES +
    objectBytes(4) +
    2 * ID_BYTES +
    stringBytes(40)
  );
}

/** What the budget is charged for one request waiting for its parts, under `extractor`'s feature schema. */
export function waitingRequestBytes(extractor: FeatureExtractor): number {
  return joinBytes(
    extractor.names.length,
    ENTITY_ROLES.map((r) => extractor.positions(r).length),
  );
}

export interface PrincipalTaskOptions extends StreamTaskOptions {
  maxPendingJoins?: number;
  /** How the entity parts on its input topic are read (the topology's codec; default entityPartCodec). */
  parts?: TopicCodec<EntityPart>;
}

export class PrincipalFeatureTask extends StreamTask<Record<string, string>, FeatureRecord> {
  private readonly joins = new Map<string, Join>();
  private readonly changedJoins = new Set<string>();
  /**
   * Waiting joins the changelog holds (written at a checkpoint, not yet deleted). Most requests join within one
   * checkpoint interval: those never reach the changelog, so they need no tombstone either.
   */
  private readonly durableJoins = new Set<string>();
  private readonly positions: Map<EntityRole, number[]>;
  private readonly decodePart: (value: Buffer) => EntityPart;
  private readonly schema: string;
  /** The schema as entity parts name it (SCHEMA_HEADER). */
  private readonly schemaTag: string;
  private readonly maxPending: number;
  private readonly counters = pipelineCounters();
  incomplete = 0;
  orphans = 0;
  /** Requests in the joins, chains included (what maxPendingJoins caps). */
  private waiting = 0;
  /** The next key's place in the waiting order (Join.at). */
  private nextAt = 0;
  /** The budget the waiting requests are charged to (the one the extractor's stores share), at perJoin each. */
  private readonly budget: StateBudget | undefined;
  private readonly perJoin: number;
  /** What the budget was last charged for them (settle). */
  private chargedJoins = 0;
  private closed = false;
  /** The partition's newest event time at the last orphan sweep. */
  private sweptAt = Number.NEGATIVE_INFINITY;

  constructor(extractor: FeatureExtractor, boundMs: number, options: PrincipalTaskOptions = {}) {
    super(extractor, boundMs, () => 'principal', 'features', options);
    this.positions = new Map(ENTITY_ROLES.map((r) => [r, extractor.positions(r)]));
    this.schema = extractor.schema.hash;
    this.schemaTag = schemaTag(this.schema);
    this.maxPending = options.maxPendingJoins ?? 1_000_000;
    this.decodePart = (options.parts ?? entityPartCodec(new Set(ENTITY_ROLES))).decode;
    this.budget = extractor.budget;
    this.budget?.holdsPending(true);
    this.perJoin = waitingRequestBytes(extractor);
  }

  /** Charges the budget for the requests waiting now (at the end of each batch, of an idle release and of a restore). */
  private settle() {
    if (!this.budget) return;
    const bytes = this.waiting * this.perJoin;
    this.budget.chargePending(bytes - this.chargedJoins);
    this.chargedJoins = bytes;
  }

  /** Idle release made requests wait or join outside a batch: kept to the task's part and charged as at a batch end. */
  protected override afterRelease(out: SinkRecord<FeatureRecord>[]): void {
    this.evictOverCap(out);
    this.settle();
  }

  /** The partition moved away: what its waiting requests were charged goes back to the budget with its stores'. */
  override close(): void {
    this.budget?.releasePending(this.chargedJoins);
    this.chargedJoins = 0;
    if (this.budget && !this.closed) this.budget.holdsPending(false);
    this.closed = true;
    super.close();
  }

  override restore(records: Iterable<[string, Buffer | null]>): void {
    super.restore(records);
    this.orderJoins();
    // Over its part of the share, the oldest leave at the next batch (a restore emits nothing).
    this.settle();
  }

  /**
   * Puts the restored joins back in the order they began to wait (Join.at): the changelog gives them in the order
   * they were last written, so a request that got one of its parts late would otherwise stand behind newer ones, and
   * which requests the cap lets go would differ from a task that never restarted.
   */
  private orderJoins(): void {
    const entries = [...this.joins];
    entries.sort(([, a], [, b]) => (a.at ?? -1) - (b.at ?? -1));
    this.joins.clear();
    for (const [key, join] of entries) {
      this.joins.set(key, join);
      if (join.at !== undefined && join.at >= this.nextAt) this.nextAt = join.at + 1;
    }
  }

  /** Requests waiting (every one in a chain counted). */
  get pendingJoins(): number {
    return this.waiting;
  }

  process(records: SourceRecord[]): SinkRecord<FeatureRecord>[] {
    this.counters.recordsIn('features', records.length);
    const out: SinkRecord<FeatureRecord>[] = [];
    // Over its part of the share since the last batch (a restore, more tasks sharing the budget), the task trims at
    // this batch's end, not its start: the parts of its longest-waiting requests may be in this very batch. Within
    // the batch the stores may evict to make that room, once.
    for (const record of records) {
      if (record.headers[KIND_HEADER] === PART_KIND) {
        const part = this.decode(record, this.decodePart);
        if (!part) continue;
        const width = this.positions.get(part.role)?.length ?? 0;
        const schema = record.headers[SCHEMA_HEADER];
        if ((schema !== undefined && schema !== this.schemaTag) || part.v.length !== width) {
          // From an entity stage of another feature schema (a rolling upgrade): its values are not this schema's
          // features (a part of an earlier vigil names no schema: only its width can tell). The request takes the
          // role's features as 0, as when a part never comes, and leaves on time.
          this.counters.skipped('features', 'part_schema_mismatch');
          part.v = new Array<number>(width).fill(0);
        }
        const join = this.partInstance(part, record.key?.toString() ?? '', record.headers[SOURCE_HEADER]);
        join.parts[part.role] = part.v;
        this.emitIfJoined(join, out);
        continue;
      }
      const event = this.decode(record, this.decodeEvent);
      if (!event || this.dedup.isDuplicate(record.headers)) continue;
      // The source travels with the event through the reorder buffer (in its payload), to join its parts by.
      const src = record.headers[SOURCE_HEADER];
      const payload = traceHeaders(record.headers);
      this.push(event, src === undefined ? payload : { ...payload, [SOURCE_HEADER]: src }, out);
    }
    this.evictOverCap(out);
    this.sweepOrphans();
    this.settle();
    this.counters.recordsOut('features', out.length);
    return out;
  }

  /**
   * The input has ended: every held event is released, and then no part can still arrive. A request still waiting
   * for one leaves without it (counted join_incomplete, as past the cap); parts whose request never came are dropped
   * (counted orphan_part).
   */
  override flush(): SinkRecord<FeatureRecord>[] {
    const out = super.flush();
    // Dropping a request deletes or re-points its own key only, which a Map's iteration allows.
    for (const head of this.joins.values()) for (const join of chain(head)) this.leaveIncomplete(join, out);
    this.settle();
    this.counters.recordsOut('features', out.length);
    return out;
  }

  protected emit(rows: FeatureRow<Record<string, string>>[], out: SinkRecord<FeatureRecord>[]): void {
    for (const row of rows) {
      // The event's own principal and trace context win over whatever a part that came first recorded.
      const principal = principalKey(row.event);
      const { [SOURCE_HEADER]: src, ...headers } = row.payload;
      const join = this.instance(row.event.ts, row.event.request_id, principal, src, (j) => j.vector === undefined);
      join.headers = headers;
      join.principal = principal;
      join.vector = vectorValues(row.vector);
      join.ids = row.event.principal;
      join.ctx = requestContext(row.event);
      join.expect = entityKeys(row.event).map(([role]) => role);
      this.emitIfJoined(join, out);
    }
  }

  /**
   * The waiting request of `principal` at (ts, id) that still lacks what arrives (`lacks`), the first in arrival
   * order; a new one at the end of the chain when none does.
   */
  private instance(
    ts: number,
    requestId: string,
    principal: string,
    src: string | undefined,
    lacks: (join: Join) => boolean,
  ): Join {
    const key = joinKey(ts, requestId);
    if (this.checkpointed) this.changedJoins.add(key);
    let last: Join | undefined;
    let first: Join | undefined;
    for (let j = this.joins.get(key); j; j = j.next) {
      // The same log record's other side (or this side sent again): the request itself.
      if (src !== undefined && j.src === src) return j;
      // A part read without a key ('') joins whichever request comes, as before chains; a request whose source is
      // known takes no other record's parts.
      const principalMatches = j.principal === principal || j.principal === '' || principal === '';
      const sourceMatches = src === undefined || j.src === undefined;
      if (!first && principalMatches && sourceMatches && lacks(j)) first = j;
      last = j;
    }
    if (first) {
      if (src !== undefined) first.src = src;
      return first;
    }
    this.waiting++;
    const join: Join = {
      ts,
      request_id: requestId,
      principal,
      headers: {},
      vector: undefined,
      expect: undefined,
      parts: {},
      ids: undefined,
      ctx: undefined,
    };
    if (src !== undefined) join.src = src;
    if (last) {
      if (last.at !== undefined) join.at = last.at;
      last.next = join;
    } else {
      join.at = this.nextAt++;
      this.joins.set(key, join);
    }
    return join;
  }

  /**
   * The waiting request a part belongs to: the one from the same log record (ingest's source header), else — a part
   * without one, from an older entity stage — one holding the same values for its role (the part sent again: the
   * restored state computes it anew, so with the same values), else the first that lacks its role.
   */
  private partInstance(part: EntityPart, principal: string, src: string | undefined): Join {
    if (src === undefined) {
      for (let j = this.joins.get(joinKey(part.ts, part.request_id)); j; j = j.next) {
        const had = j.parts[part.role];
        if (had && j.principal === principal && sameValues(had, part.v)) {
          if (this.checkpointed) this.changedJoins.add(joinKey(part.ts, part.request_id));
          return j;
        }
      }
    }
    const role = part.role;
    return this.instance(part.ts, part.request_id, principal, src, (j) => !j.parts[role]);
  }

  /** Emits the request if everything it needs has arrived. */
  private emitIfJoined(join: Join, out: SinkRecord<FeatureRecord>[], force = false): void {
    if (!join.vector || !join.expect) {
      if (!force) return;
      this.drop(join);
      return;
    }
    if (!force && !join.expect.every((r) => join.parts[r] !== undefined)) return;
    const v = join.vector;
    for (const role of join.expect) {
      const part = join.parts[role];
      const at = this.positions.get(role) as number[];
      if (part) for (let i = 0; i < at.length; i++) v[at[i] as number] = part[i] as number;
    }
    out.push({
      key: join.principal,
      headers: join.headers,
      value: {
        ts: join.ts,
        request_id: join.request_id,
        principal: join.principal,
        ...(join.ids ? { ids: join.ids } : {}),
        ...(join.ctx ? { ctx: join.ctx } : {}),
        schema: this.schema,
        v,
      },
    });
    this.drop(join);
  }

  /** The request leaves the waiting joins (its chain closes up behind it). */
  private drop(join: Join) {
    const key = joinKey(join.ts, join.request_id);
    const head = this.joins.get(key);
    this.waiting--;
    if (head === join) {
      if (join.next) this.joins.set(key, join.next);
      else this.joins.delete(key);
    } else {
      let before = head;
      while (before && before.next !== join) before = before.next;
      if (before) {
        if (join.next) before.next = join.next;
        else delete before.next;
      }
    }
    if (this.checkpointed) this.changedJoins.add(key);
  }

  /** Past the cap or the task's part of the budget's share, the longest-waiting go without their parts. */
  private evictOverCap(out: SinkRecord<FeatureRecord>[]) {
    const budget = this.budget;
    const over = () =>
      this.waiting > this.maxPending ||
      (budget !== undefined && this.waiting * this.perJoin > budget.pendingLimitPerTask);
    if (!over()) return;
    // One iterator for the whole batch, the longest-waiting first (the Map's order): a new iterator walks every hole
    // the Map's deletions left at its front (V8 keeps them until it rehashes), so one per evicted request — past the
    // cap, with an entity stage down — walked up to a million holes for every new request.
    const waiting = this.joins.values();
    while (over()) {
      const next = waiting.next();
      if (next.done) break;
      // A key's whole chain at once, so that the key leaves the Map.
      for (const join of chain(next.value)) this.leaveIncomplete(join, out);
    }
  }

  /**
   * A request leaves without the parts it still waits for (past the cap, or at the end of the input), counted; a join
   * holding only parts (its request never came) is an orphan, dropped.
   */
  private leaveIncomplete(join: Join, out: SinkRecord<FeatureRecord>[]) {
    if (!join.vector || !join.expect) {
      this.dropOrphan(join);
      return;
    }
    this.incomplete++;
    this.counters.skipped('features', 'join_incomplete');
    this.emitIfJoined(join, out, true);
  }

  /** Parts whose request never came are dropped, counted. */
  private dropOrphan(join: Join) {
    this.orphans++;
    this.counters.skipped('features', 'orphan_part');
    this.drop(join);
  }

  /** Drops parts left waiting long after the watermark passed them (a scan every minute of event time). */
  private sweepOrphans() {
    const newest = this.stream.newest;
    if (newest < this.sweptAt + 60_000) return;
    this.sweptAt = newest;
    const before = newest - this.stream.boundMs - ORPHAN_AFTER_MS;
    for (const head of this.joins.values()) {
      if (head.ts >= before) continue;
      for (const join of chain(head)) if (join.vector === undefined) this.dropOrphan(join);
    }
  }

  protected override drainOwn(): [string, Buffer | null][] {
    const out: [string, Buffer | null][] = [];
    for (const key of this.changedJoins) {
      const join = this.joins.get(key);
      if (join) {
        out.push([JOIN + key, encodeState(join)]);
        this.durableJoins.add(key);
      } else if (this.durableJoins.delete(key)) out.push([JOIN + key, null]);
    }
    this.changedJoins.clear();
    return out;
  }

  /** Waiting joins are keyed records that come and go: they go into changelog segments with the key groups. */
  protected override packsOwn(key: string): boolean {
    return key.startsWith(JOIN);
  }

  protected override currentOwn(key: string): Buffer | null {
    const join = key.startsWith(JOIN) ? this.joins.get(key.slice(JOIN.length)) : undefined;
    return join ? encodeState(join) : null;
  }

  protected override restoreOwn(key: string, value: Buffer): boolean {
    if (!key.startsWith(JOIN)) return false;
    const join = key.slice(JOIN.length);
    const before = this.joins.get(join);
    if (before) this.waiting -= chain(before).length;
    const restored = decodeState<Join>(value);
    this.waiting += chain(restored).length;
    this.joins.set(join, restored);
    this.durableJoins.add(join);
    return true;
  }
}
