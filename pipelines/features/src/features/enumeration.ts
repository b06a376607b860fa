// Enumeration (BOLA) and input misuse per principal: how many distinct objects it addresses, how often the API
// answers 403/404, whether ids are walked sequentially, and how often the API's schema rejects its requests
// (400, 405, 422). Both fast bursts (10 min) and low-and-slow walks (1 h, one request a minute) show up: the
// share of requests that address an object never seen before stays near 1 for a walk, near 0 for a customer
// re-reading their own accounts.

import { objectBytes } from '@vigil/core';
import type { AccessEvent } from '@vigil/events';
import { KeyedState } from '../state/keyed-state.js';
import { type RecentIds, recentBytes, touchRecent } from '../state/recent-ids.js';
import { SlidingCounts } from '../state/sliding-count.js';
import { declareFeatures } from './declare.js';
import { DAY, type FeatureFamily, HOUR, keyTime, logCount, MINUTE } from './feature.js';

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

  constructor(
    private readonly options: EnumerationOptions = { maxKeys: 1_000_000, maxObjects: 256, sequentialStep: 3 },
  ) {
    this.params = { windows: WINDOWS.join(','), ttl: DAY, ...options };
    // Six fields (last, lastNumericId and recentAt boxed), the counts and the ids addressed.
    this.state = new KeyedState({
      ttlMs: DAY,
      maxKeys: options.maxKeys,
      sizeOf: (s) => objectBytes(6, 3) + s.counts.bytes + recentBytes(s, s.seen),
      keyedBy: 'principal',
    });
  }

  get stores() {
    return { principals: this.state };
  }

  update(event: AccessEvent, out: Float64Array, offset: number, principal: string): void {
    const s = this.state.get(principal, event.ts, () => ({
      last: event.ts,
      counts: new SlidingCounts(WINDOWS, 5),
      seen: undefined,
      recentId: undefined,
      recentAt: 0,
      lastNumericId: Number.NaN,
    }));
    const t = keyTime(s, event.ts);
    s.counts.add(t, TOTAL);
    // The last id in the path is the object addressed ("/accounts/{id}/cards/{id}" addresses the card).
    const id = event.object_ids[event.object_ids.length - 1];
    if (id !== undefined) {
      const seenAt = touchRecent(s, 'seen', id, t, this.options.maxObjects);
      if (seenAt === undefined || t - seenAt > HOUR) s.counts.add(t, NOVEL);
      if (NUMERIC.test(id)) {
        const n = Number(id);
        const step = Math.abs(n - s.lastNumericId);
        if (step > 0 && step <= this.options.sequentialStep) s.counts.add(t, SEQUENTIAL);
        s.lastNumericId = n;
      }
    }
    if (event.status === 403 || event.status === 404) s.counts.add(t, DENIED);
    if (event.status === 400 || event.status === 405 || event.status === 422) s.counts.add(t, REJECTED);

    const c = s.counts;
    const total10 = c.count(0, t, TOTAL);
    const novel1h = c.count(1, t, NOVEL);
    out[offset + F.distinct_objects_10m_log] = logCount(c.count(0, t, NOVEL));
    out[offset + F.distinct_objects_1h_log] = logCount(novel1h);
    out[offset + F.novel_object_share_1h] = novel1h / c.count(1, t, TOTAL);
    out[offset + F.denied_share_10m] = c.count(0, t, DENIED) / total10;
    out[offset + F.sequential_ids_10m_log] = logCount(c.count(0, t, SEQUENTIAL));
    out[offset + F.schema_reject_share_10m] = c.count(0, t, REJECTED) / total10;
    out[offset + F.denied_1h_log] = logCount(c.count(1, t, DENIED));
  }
}
