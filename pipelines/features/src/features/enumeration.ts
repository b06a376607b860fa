// Enumeration (BOLA) and input misuse per principal: how many distinct objects it addresses, how often the API
// answers 403/404, whether ids are walked sequentially, and how often the API's schema rejects its requests
// (400, 405, 422). Both fast bursts (10 min) and low-and-slow walks (1 h, one request a minute) show up: the
// share of requests that address an object never seen before stays near 1 for a walk, near 0 for a customer
// re-reading their own accounts.
// Object ids are kept as 53-bit hashes (chosen-hash.ts: a walker on an API that accepts many spellings of one id could
// spell each new account's id to match a 32-bit hash of one it already read). A collision only makes a new object
// read as one addressed before.

import { grown, hashMapBytes } from '@vigil/core';
import type { AccessEvent } from '@vigil/events';
import { fillTo, REFERENCE_COLUMN_BYTES, type StateColumns } from '../state/columns.js';
import { KeyedState } from '../state/keyed-state.js';
import { type RecentIds, touchRecent } from '../state/recent-ids.js';
import { SlidingColumns } from '../state/sliding-columns.js';
import { SlidingCounts } from '../state/sliding-count.js';
import { chosenHash } from './chosen-hash.js';
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

interface Enum extends RecentIds<number> {
  last: number;
  counts: SlidingCounts;
  /** Object id hash → event time last addressed; bounded; made at the second distinct id (recent-ids.ts). */
  seen: Map<number, number> | undefined;
  lastNumericId: number;
}

/** A principal's state as checkpoints held it before the hashes (2026-12-06): the ids themselves. Read, never written. */
type EnumOfIds = Omit<Enum, 'recentId' | 'seen'> & RecentIds & { seen: Map<string, number> | undefined };

/**
 * A principal's enumeration state in columns: its times, last numeric id and the one id it addressed (hashed; NaN for
 * none) as doubles, its counts in SlidingColumns (a principal's first adds inline), the Map of ids once it addressed
 * two in a column of its own. As an object with its SlidingCounts and the id's string this took ~240 bytes for a
 * principal seen once.
 */
class EnumColumns implements StateColumns<Enum> {
  last = new Float64Array(0);

  /** The key's clock (the latest event time it was seen at): its store's last-seen time too (StateColumns.clock). */
  get clock(): Float64Array {
    return this.last;
  }
  recentAt = new Float64Array(0);
  lastNumericId = new Float64Array(0);
  /** The only id addressed (its hash), NaN for none. */
  recentId = new Float64Array(0);
  readonly counts = new SlidingColumns(WINDOWS, 5);
  seen: (Map<number, number> | undefined)[] = [];
  /** The slot's ids, loaded for touchRecent (one object, reused). */
  private readonly ids: RecentIds<number> & { seen: Map<number, number> | undefined } = {
    recentId: undefined,
    recentAt: 0,
    seen: undefined,
  };

  get slotBytes(): number {
    return 4 * 8 + this.counts.slotBytes + REFERENCE_COLUMN_BYTES;
  }

  extraBytes(slot: number): number {
    const seen = this.seen[slot];
    return this.counts.extraBytes(slot) + (seen ? hashMapBytes(seen.size) : 0);
  }

  grow(slots: number): void {
    this.last = grown(this.last, slots);
    this.recentAt = grown(this.recentAt, slots);
    this.lastNumericId = grown(this.lastNumericId, slots);
    this.recentId = grown(this.recentId, slots);
    this.counts.grow(slots);
    fillTo(this.seen, slots);
  }

  write(slot: number, e: Enum | EnumOfIds): void {
    this.last[slot] = e.last;
    this.counts.write(slot, e.counts);
    this.recentAt[slot] = e.recentAt;
    this.lastNumericId[slot] = e.lastNumericId;
    const id = e.recentId;
    // A record from before the hashes holds the ids: hashed as this version would have hashed them.
    this.recentId[slot] = id === undefined ? Number.NaN : typeof id === 'string' ? chosenHash(id) : id;
    this.seen[slot] = hashedKeys(e.seen);
  }

  read(slot: number): Enum {
    const id = this.recentId[slot] as number;
    return {
      last: this.last[slot] as number,
      counts: this.counts.read(slot),
      seen: this.seen[slot],
      recentId: Number.isNaN(id) ? undefined : id,
      recentAt: this.recentAt[slot] as number,
      lastNumericId: this.lastNumericId[slot] as number,
    };
  }

  free(slot: number): void {
    this.counts.free(slot);
    this.seen[slot] = undefined;
    this.recentId[slot] = Number.NaN;
  }

  /** Records that the slot's principal addressed `id` at `t` (touchRecent); when it addressed it before. */
  touch(slot: number, id: string, t: number, max: number): number | undefined {
    const ids = this.ids;
    const held = this.recentId[slot] as number;
    ids.recentId = Number.isNaN(held) ? undefined : held;
    ids.recentAt = this.recentAt[slot] as number;
    ids.seen = this.seen[slot];
    const before = touchRecent(ids, 'seen', chosenHash(id), t, max);
    this.seen[slot] = ids.seen;
    this.recentId[slot] = ids.recentId ?? Number.NaN;
    this.recentAt[slot] = ids.recentAt;
    return before;
  }
}

/** A Map of ids by their hashes: ids hashed, hashes as they are (a Map of hashes alone is kept as it is). */
function hashedKeys(seen: Map<number, number> | Map<string, number> | undefined): Map<number, number> | undefined {
  if (seen === undefined) return undefined;
  const ids = seen as Map<number | string, number>;
  for (const id of ids.keys())
    if (typeof id === 'string')
      return new Map([...ids].map(([k, at]) => [typeof k === 'string' ? chosenHash(k) : k, at]));
  return seen as Map<number, number>;
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
    this.state = new KeyedState<Enum>({
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
