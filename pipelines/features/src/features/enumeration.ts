// Enumeration (BOLA) and input misuse per principal: how many distinct objects it addresses, how often the API
// answers 403/404, whether ids are walked sequentially, and how often the API's schema rejects its requests
// (400, 405, 422). Both fast bursts (10 min) and low-and-slow walks (1 h, one request a minute) show up: the
// share of requests that address an object never seen before stays near 1 for a walk, near 0 for a customer
// re-reading their own accounts.

import { grown } from '@vigil/core';
import type { AccessEvent } from '@vigil/events';
import { fillTo, REFERENCE_COLUMN_BYTES, type StateColumns } from '../state/columns.js';
import { KeyedState } from '../state/keyed-state.js';
import { type RecentIds, recentBytes, touchRecent } from '../state/recent-ids.js';
import { SlidingColumns } from '../state/sliding-columns.js';
import { SlidingCounts } from '../state/sliding-count.js';
import { declareFeatures } from './declare.js';
import { DAY, type FeatureFamily, HOUR, logCount, MINUTE, slotTime } from './feature.js';

const WINDOWS = [10 * MINUTE, HOUR];
const NUMERIC = /^\d{1,15}$/;

const NEW_OBJECTS = 'log1p(objects addressed that were not addressed in the hour before) — enumeration (BOLA)';

export const ENUMERATION_FEATURES = declareFeatures([
  { name: 'distinct_objects_10m_log', encoding: 'log1p', window: '10 min', means: NEW_OBJECTS },
  { name: 'distinct_objects_1h_log', encoding: 'log1p', window: '1 h', means: NEW_OBJECTS },
  {
    name: 'novel_object_share_1h',
    encoding: 'share',
    window: '1 h',
    means: 'share of requests addressing a new object — near 1 for a walk, also low-and-slow',
  },
  {
    name: 'denied_share_10m',
    encoding: 'share',
    window: '10 min',
    means: "share of 403/404 answers — probing others' objects",
  },
  {
    name: 'sequential_ids_10m_log',
    encoding: 'log1p',
    window: '10 min',
    means: 'log1p(steps of ±1…3 between numeric ids) — id walking',
  },
  {
    name: 'schema_reject_share_10m',
    encoding: 'share',
    window: '10 min',
    means: 'share of 400/405/422 answers — fuzzing, method misuse',
  },
  { name: 'denied_1h_log', encoding: 'log1p', window: '1 h', means: 'log1p(403/404 answers) — low-and-slow probing' },
]);
const F = ENUMERATION_FEATURES.position;

/** Channels of the one SlidingCounts each principal keeps. */
const TOTAL = 0;
const NOVEL = 1;
const DENIED = 2;
const SEQUENTIAL = 3;
const REJECTED = 4;

interface Enum extends RecentIds {
  last: number;
  counts: SlidingCounts;
  /** Object id → event time last addressed; bounded; made at the second distinct id (recent-ids.ts). */
  seen: Map<string, number> | undefined;
  lastNumericId: number;
}

/**
 * A principal's enumeration state in columns: its times and last numeric id as doubles, its counts in SlidingColumns
 * (a principal's first adds inline), the one id it addressed or the Map of them in columns of their own. As an object
 * with its SlidingCounts this took ~240 bytes for a principal seen once.
 */
class EnumColumns implements StateColumns<Enum> {
  last = new Float64Array(0);
  recentAt = new Float64Array(0);
  lastNumericId = new Float64Array(0);
  readonly counts = new SlidingColumns(WINDOWS, 5);
  seen: (Map<string, number> | undefined)[] = [];
  recentId: (string | undefined)[] = [];
  /** The slot's ids, loaded for touchRecent and estimates (one object, reused). */
  private readonly ids: RecentIds & { seen: Map<string, number> | undefined } = {
    recentId: undefined,
    recentAt: 0,
    seen: undefined,
  };

  get slotBytes(): number {
    return 3 * 8 + this.counts.slotBytes + 2 * REFERENCE_COLUMN_BYTES;
  }

  extraBytes(slot: number): number {
    return this.counts.extraBytes(slot) + recentBytes(this.idsOf(slot), this.seen[slot]);
  }

  grow(slots: number): void {
    this.last = grown(this.last, slots);
    this.recentAt = grown(this.recentAt, slots);
    this.lastNumericId = grown(this.lastNumericId, slots);
    this.counts.grow(slots);
    fillTo(this.seen, slots);
    fillTo(this.recentId, slots);
  }

  write(slot: number, e: Enum): void {
    this.last[slot] = e.last;
    this.counts.write(slot, e.counts);
    this.seen[slot] = e.seen;
    this.recentId[slot] = e.recentId;
    this.recentAt[slot] = e.recentAt;
    this.lastNumericId[slot] = e.lastNumericId;
  }

  read(slot: number): Enum {
    return {
      last: this.last[slot] as number,
      counts: this.counts.read(slot),
      seen: this.seen[slot],
      recentId: this.recentId[slot],
      recentAt: this.recentAt[slot] as number,
      lastNumericId: this.lastNumericId[slot] as number,
    };
  }

  free(slot: number): void {
    this.counts.free(slot);
    this.seen[slot] = undefined;
    this.recentId[slot] = undefined;
  }

  /** Records that the slot's principal addressed `id` at `t` (touchRecent); when it addressed it before. */
  touch(slot: number, id: string, t: number, max: number): number | undefined {
    const ids = this.idsOf(slot);
    const before = touchRecent(ids, 'seen', id, t, max);
    this.seen[slot] = ids.seen;
    this.recentId[slot] = ids.recentId;
    this.recentAt[slot] = ids.recentAt;
    return before;
  }

  private idsOf(slot: number) {
    this.ids.recentId = this.recentId[slot];
    this.ids.recentAt = this.recentAt[slot] as number;
    this.ids.seen = this.seen[slot];
    return this.ids;
  }
}

export interface EnumerationOptions {
  maxKeys: number;
  /** Distinct object ids remembered per principal. */
  maxObjects: number;
  /** Ids within this distance of the previous numeric id count as a sequential step. */
  sequentialStep: number;
}

export class Enumeration implements FeatureFamily {
  readonly id = 'Enumeration';
  readonly features = ENUMERATION_FEATURES;
  readonly role = 'principal';
  readonly params: Record<string, number | string>;
  private readonly state: KeyedState<Enum>;
  private readonly columns = new EnumColumns();

  constructor(
    private readonly options: EnumerationOptions = { maxKeys: 1_000_000, maxObjects: 256, sequentialStep: 3 },
  ) {
    this.params = { windows: WINDOWS.join(','), ttl: DAY, ...options };
    this.state = new KeyedState({
      ttlMs: DAY,
      maxKeys: options.maxKeys,
      columns: this.columns,
      keyedBy: 'principal',
    });
  }

  get stores() {
    return { principals: this.state };
  }

  update(event: AccessEvent, out: Float64Array, offset: number, principal: string): void {
    const s = this.columns;
    const at = this.state.slot(principal, event.ts, () => ({
      last: event.ts,
      counts: new SlidingCounts(WINDOWS, 5),
      seen: undefined,
      recentId: undefined,
      recentAt: 0,
      lastNumericId: Number.NaN,
    }));
    const t = slotTime(s.last, at, event.ts);
    const c = s.counts;
    c.add(at, t, TOTAL);
    // The last id in the path is the object addressed ("/accounts/{id}/cards/{id}" addresses the card).
    const id = event.object_ids[event.object_ids.length - 1];
    if (id !== undefined) {
      const seenAt = s.touch(at, id, t, this.options.maxObjects);
      if (seenAt === undefined || t - seenAt > HOUR) c.add(at, t, NOVEL);
      if (NUMERIC.test(id)) {
        const n = Number(id);
        const step = Math.abs(n - (s.lastNumericId[at] as number));
        if (step > 0 && step <= this.options.sequentialStep) c.add(at, t, SEQUENTIAL);
        s.lastNumericId[at] = n;
      }
    }
    if (event.status === 403 || event.status === 404) c.add(at, t, DENIED);
    if (event.status === 400 || event.status === 405 || event.status === 422) c.add(at, t, REJECTED);
    // The id addressed and counts past their inline adds (an object of their own): charged now, not at the next request.
    this.state.recharge(at);

    const total10 = c.count(at, 0, t, TOTAL);
    const novel1h = c.count(at, 1, t, NOVEL);
    out[offset + F.distinct_objects_10m_log] = logCount(c.count(at, 0, t, NOVEL));
    out[offset + F.distinct_objects_1h_log] = logCount(novel1h);
    out[offset + F.novel_object_share_1h] = novel1h / c.count(at, 1, t, TOTAL);
    out[offset + F.denied_share_10m] = c.count(at, 0, t, DENIED) / total10;
    out[offset + F.sequential_ids_10m_log] = logCount(c.count(at, 0, t, SEQUENTIAL));
    out[offset + F.schema_reject_share_10m] = c.count(at, 0, t, REJECTED) / total10;
    out[offset + F.denied_1h_log] = logCount(c.count(at, 1, t, DENIED));
  }
}
