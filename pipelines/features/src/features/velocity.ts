// Velocity: how fast a principal sends requests (a client IP on a route: ip.ts), over 10 s, 1 min, 10 min and 1 h of
// event time, and the last minute's rate relative to the principal's own average minute over the preceding hour.
// A new principal borrows a population prior (cold start) that fades as its own history grows.
// active_minutes_1h counts the minutes of the last hour with any request: people bank in short bursts (a session is
// a few minutes), scripts that pace themselves to stay under rate limits keep a steady cadence for the whole hour.
// req_1m_own_peak_log is the principal's own busiest minute on earlier days (decayed 2 % a day, kept 35 days): a
// payroll account's burst is its norm, and the velocity rule compares a minute with it as well as with the
// cohort's threshold (where the logs reveal no cohort, only the principal's own history tells the two apart).
// Today's minutes do not count toward it until the day is over, so a burst cannot vouch for itself.

import { grown } from '@vigil/core';
import type { AccessEvent } from '@vigil/events';
import type { StateColumns } from '../state/columns.js';
import { KeyedState } from '../state/keyed-state.js';
import { SlidingColumns } from '../state/sliding-columns.js';
import { SlidingCounts } from '../state/sliding-count.js';
import { declareFeatures } from './declare.js';
import { DAY, type FeatureFamily, HOUR, logCount, MINUTE, SECOND, slotTime } from './feature.js';

const WINDOWS = [10 * SECOND, MINUTE, 10 * MINUTE, HOUR];

const BURSTS = 'log1p(requests in the window) — bursts';

export const VELOCITY_FEATURES = declareFeatures([
  { name: 'req_10s_log', encoding: 'log1p', window: '10 s', means: BURSTS },
  { name: 'req_1m_log', encoding: 'log1p', window: '1 min', means: BURSTS },
  { name: 'req_10m_log', encoding: 'log1p', window: '10 min', means: BURSTS },
  { name: 'req_1h_log', encoding: 'log1p', window: '1 h', means: BURSTS },
  {
    name: 'rate_ratio_1m',
    encoding: 'log2',
    window: '1 min vs prior hour',
    means:
      'log2(last minute ÷ average minute of the hour before, with a population prior for new principals) — ' +
      'sudden acceleration',
  },
  {
    name: 'active_minutes_1h',
    encoding: 'plain',
    window: '1 h',
    means:
      'minutes of the hour with at least one request — a paced script (low-and-slow scraping or BOLA) fills the ' +
      'hour, people bank in bursts of a few minutes',
  },
  {
    name: 'req_1m_own_peak_log',
    encoding: 'log1p',
    window: 'earlier days (decayed daily)',
    means:
      "log1p of the principal's own busiest minute before today — its habit; the velocity rule does not fire " +
      'within `own_peak_factor` of it',
  },
]);
const F = VELOCITY_FEATURES.position;

interface Counter {
  last: number;
  /** Channel 0: requests; channel 1: minutes with at least one request. */
  counts: SlidingCounts;
  /** The event-time minute last counted as active. */
  minute: number;
}

const ACTIVE = 1;

/**
 * Counters in columns: the last time and minute, and the counts (SlidingColumns: a key's first adds inline, an object
 * of its own past them). As an object with its SlidingCounts a counter took ~205 bytes for a principal seen once.
 */
class CounterColumns implements StateColumns<Counter> {
  last = new Float64Array(0);

  /** The key's clock (the latest event time it was seen at): its store's last-seen time too (StateColumns.clock). */
  get clock(): Float64Array {
    return this.last;
  }
  minute = new Float64Array(0);
  readonly counts = new SlidingColumns(WINDOWS, 2);

  get slotBytes(): number {
    return 2 * 8 + this.counts.slotBytes;
  }

  extraBytes(slot: number): number {
    return this.counts.extraBytes(slot);
  }

  grow(slots: number): void {
    this.last = grown(this.last, slots);
    this.minute = grown(this.minute, slots);
    this.counts.grow(slots);
  }

  write(slot: number, c: Counter): void {
    this.last[slot] = c.last;
    this.minute[slot] = c.minute;
    this.counts.write(slot, c.counts);
  }

  read(slot: number): Counter {
    return { last: this.last[slot] as number, counts: this.counts.read(slot), minute: this.minute[slot] as number };
  }

  free(slot: number): void {
    this.counts.free(slot);
  }
}

/** A principal's own busiest minutes, by event-time day. */
interface Habit {
  last: number;
  /** The event-time day (UTC) `today` belongs to. */
  day: number;
  today: number;
  /** The busiest minute of earlier days, decayed by `peakDecayPerDay` a day. */
  peak: number;
}

/**
 * Habits in columns, four doubles a principal: an object of four fields with two boxed numbers took ~88 bytes, and
 * every principal has a habit.
 */
class HabitColumns implements StateColumns<Habit> {
  last = new Float64Array(0);

  /** The key's clock (the latest event time it was seen at): its store's last-seen time too (StateColumns.clock). */
  get clock(): Float64Array {
    return this.last;
  }
  day = new Float64Array(0);
  today = new Float64Array(0);
  peak = new Float64Array(0);

  grow(slots: number): void {
    this.last = grown(this.last, slots);
    this.day = grown(this.day, slots);
    this.today = grown(this.today, slots);
    this.peak = grown(this.peak, slots);
  }

  write(slot: number, h: Habit): void {
    this.last[slot] = h.last;
    this.day[slot] = h.day;
    this.today[slot] = h.today;
    this.peak[slot] = h.peak;
  }

  read(slot: number): Habit {
    return {
      last: this.last[slot] as number,
      day: this.day[slot] as number,
      today: this.today[slot] as number,
      peak: this.peak[slot] as number,
    };
  }

  readonly slotBytes = 4 * 8;
}

export interface VelocityOptions {
  maxKeys: number;
  /** Requests per minute assumed for a principal with no history. */
  priorPerMinute: number;
  /** How many minutes of own history outweigh the prior. */
  priorWeightMinutes: number;
  /** Per-day decay of the own busiest minute, and how long a principal's habit is kept. */
  peakDecayPerDay: number;
  habitTtlDays: number;
}

export class Velocity implements FeatureFamily {
  readonly id = 'Velocity';
  readonly role = 'principal';
  readonly features = VELOCITY_FEATURES;
  readonly params: Record<string, number | string>;
  private readonly principals: KeyedState<Counter>;
  private readonly counter = new CounterColumns();
  private readonly habits: KeyedState<Habit>;
  private readonly habit = new HabitColumns();

  constructor(
    private readonly options: VelocityOptions = {
      maxKeys: 1_000_000,
      priorPerMinute: 2,
      priorWeightMinutes: 10,
      peakDecayPerDay: 0.98,
      habitTtlDays: 35,
    },
  ) {
    this.params = { windows: WINDOWS.join(','), ttl: DAY, ...options };
    // Both in columns: a counter's times and counts (SlidingColumns), a habit's four doubles.
    this.principals = new KeyedState({
      ttlMs: DAY,
      maxKeys: options.maxKeys,
      columns: this.counter,
      keyedBy: 'principal',
    });
    this.habits = new KeyedState({
      ttlMs: options.habitTtlDays * DAY,
      maxKeys: options.maxKeys,
      columns: this.habit,
      keyedBy: 'principal',
    });
  }

  get stores() {
    return { principals: this.principals, habits: this.habits };
  }

  update(event: AccessEvent, out: Float64Array, offset: number, principal: string): void {
    const p = this.counter;
    const at = this.principals.slot(principal, event.ts, () => ({
      last: event.ts,
      counts: new SlidingCounts(WINDOWS, 2),
      minute: -1,
    }));
    const t = slotTime(p.last, at, event.ts);
    const counts = p.counts;
    // The baseline is measured before this event joins the windows.
    const hourBefore = counts.count(at, 3, t) - counts.count(at, 1, t);
    counts.add(at, t);
    const minute = Math.floor(t / MINUTE);
    if (minute !== p.minute[at]) {
      counts.add(at, t, ACTIVE);
      p.minute[at] = minute;
    }
    // Counts past their inline adds took an object of their own: charged now, not at the key's next request.
    this.principals.recharge(at);
    const lastMinute = counts.count(at, 1, t);
    const { priorPerMinute, priorWeightMinutes } = this.options;
    const baseline = (hourBefore + priorPerMinute * priorWeightMinutes) / (59 + priorWeightMinutes);
    out[offset + F.req_10s_log] = logCount(counts.count(at, 0, t));
    out[offset + F.req_1m_log] = logCount(lastMinute);
    out[offset + F.req_10m_log] = logCount(counts.count(at, 2, t));
    out[offset + F.req_1h_log] = logCount(counts.count(at, 3, t));
    out[offset + F.rate_ratio_1m] = Math.log2(lastMinute / baseline);
    out[offset + F.active_minutes_1h] = counts.count(at, 3, t, ACTIVE);

    // The own busiest minute of earlier days: a new day folds yesterday's into it (decayed for the days between).
    const h = this.habit;
    const i = this.habits.slot(principal, event.ts, () => ({
      last: event.ts,
      day: Math.floor(event.ts / DAY),
      today: 0,
      peak: 0,
    }));
    const day = Math.floor(slotTime(h.last, i, event.ts) / DAY);
    const was = h.day[i] as number;
    if (day > was) {
      h.peak[i] = Math.max(h.peak[i] as number, h.today[i] as number) * this.options.peakDecayPerDay ** (day - was);
      h.today[i] = 0;
      h.day[i] = day;
    }
    out[offset + F.req_1m_own_peak_log] = logCount(h.peak[i] as number);
    if (lastMinute > (h.today[i] as number)) h.today[i] = lastMinute;
  }
}
