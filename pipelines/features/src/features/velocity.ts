// Velocity: how fast a principal sends requests (a client IP on a route: ip.ts), over 10 s, 1 min, 10 min and 1 h of
// event time, and the last minute's rate relative to the principal's own average minute over the preceding hour.
// A new principal borrows a population prior (cold start) that fades as its own history grows.
// active_minutes_1h counts the minutes of the last hour with any request: people bank in short bursts (a session is
// a few minutes), scripts that pace themselves to stay under rate limits keep a steady cadence for the whole hour.
import type { AccessEvent } from '@vigil/events';
import { KeyedState } from '../state/keyed-state.js';
import { SlidingCounts } from '../state/sliding-count.js';
import { DAY, type FeatureFamily, HOUR, keyTime, logCount, MINUTE, SECOND } from './feature.js';

const WINDOWS = [10 * SECOND, MINUTE, 10 * MINUTE, HOUR];

interface Counter {
  last: number;
  /** Channel 0: requests; channel 1: minutes with at least one request. */
  counts: SlidingCounts;
  /** The event-time minute last counted as active. */
  minute: number;
}

const ACTIVE = 1;

export interface VelocityOptions {
  maxKeys: number;
  /** Requests per minute assumed for a principal with no history. */
  priorPerMinute: number;
  /** How many minutes of own history outweigh the prior. */
  priorWeightMinutes: number;
}

export class Velocity implements FeatureFamily {
  readonly role = 'principal';
  readonly names = ['req_10s_log', 'req_1m_log', 'req_10m_log', 'req_1h_log', 'rate_ratio_1m', 'active_minutes_1h'];
  readonly params: Record<string, number | string>;
  private readonly principals: KeyedState<Counter>;

  constructor(private readonly options: VelocityOptions = { maxKeys: 1_000_000, priorPerMinute: 2, priorWeightMinutes: 10 }) {
    this.params = { windows: WINDOWS.join(','), ttl: DAY, ...options };
    this.principals = new KeyedState({ ttlMs: DAY, maxKeys: options.maxKeys });
  }

  get stores() {
    return { principals: this.principals };
  }

  update(event: AccessEvent, out: Float64Array, offset: number, principal: string): void {
    const p = this.principals.get(principal, event.ts, () => ({ last: event.ts, counts: new SlidingCounts(WINDOWS, 2), minute: -1 }));
    const t = keyTime(p, event.ts);
    // The baseline is measured before this event joins the windows.
    const hourBefore = p.counts.count(3, t) - p.counts.count(1, t);
    p.counts.add(t);
    const minute = Math.floor(t / MINUTE);
    if (minute !== p.minute) {
      p.counts.add(t, ACTIVE);
      p.minute = minute;
    }
    const lastMinute = p.counts.count(1, t);
    const { priorPerMinute, priorWeightMinutes } = this.options;
    const baseline = (hourBefore + priorPerMinute * priorWeightMinutes) / (59 + priorWeightMinutes);
    out[offset] = logCount(p.counts.count(0, t));
    out[offset + 1] = logCount(lastMinute);
    out[offset + 2] = logCount(p.counts.count(2, t));
    out[offset + 3] = logCount(p.counts.count(3, t));
    out[offset + 4] = Math.log2(lastMinute / baseline);
    out[offset + 5] = p.counts.count(3, t, ACTIVE);
  }

  stateBytes(): number {
    return this.principals.size * (new SlidingCounts(WINDOWS, 2).bytes + 130);
  }
}
