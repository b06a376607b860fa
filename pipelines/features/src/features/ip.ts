// The client IP as an entity: how hard one address hits one route (scraping), how many logins fail from it and how
// many usernames it tries (concentrated credential stuffing). Every request reaches its IP's state; only logins
// create an entry for the login counts, since most IPs never log in and state is per key.

import { grown, objectBytes } from '@vigil/core';
import { type AccessEvent, FORGIVEN_LOGIN_FAILURES, recordedFailures } from '@vigil/events';
import type { StateColumns } from '../state/columns.js';
import { KeyedState } from '../state/keyed-state.js';
import { type RecentIds, recentBytes, touchRecent } from '../state/recent-ids.js';
import { SlidingColumns } from '../state/sliding-columns.js';
import { SlidingCounts } from '../state/sliding-count.js';
import { declareFeatures } from './declare.js';
import { type FeatureFamily, HOUR, keyTime, logCount, MINUTE, slotTime } from './feature.js';
import { loginOutcome, loginUsername } from './login.js';

/** Window shapes as constants, so each new key's counts share them (sliding-count.ts). */
const ROUTE_WINDOW = [MINUTE];
const LOGIN_WINDOW = [10 * MINUTE];

/** Channels of an IP's login counts. */
const FAILURES = 0;
const NOVEL_USERS = 1;

export const IP_FEATURES = declareFeatures([
  {
    name: 'ip_route_req_1m_log',
    encoding: 'log1p',
    window: '1 min',
    key: 'client IP + route',
    means: 'log1p(requests) — scraping one endpoint from one address',
  },
  {
    name: 'ip_failed_logins_10m_log',
    encoding: 'log1p',
    window: '10 min',
    means: 'log1p(failed logins beyond the first: a typo is forgiven) — concentrated credential stuffing',
  },
  {
    name: 'ip_distinct_usernames_10m_log',
    encoding: 'log1p',
    window: '10 min',
    means: 'log1p(usernames tried) — concentrated credential stuffing',
  },
]);
const F = IP_FEATURES.position;

interface Logins extends RecentIds {
  last: number;
  counts: SlidingCounts;
  /** Username → event time last tried; bounded; made at the second distinct username (recent-ids.ts). */
  users: Map<string, number> | undefined;
}
interface Counter {
  last: number;
  counts: SlidingCounts;
}

/**
 * A route key's string beyond what the key index counts for its characters: the address, `|` and the route are
 * joined (a two-part string of 32 bytes) around the address's own copy (~32).
 */
const ROUTE_KEY_EXTRA_BYTES = 64;

/**
 * Routes' counters in columns: the time and the one-minute counts (SlidingColumns: a key's first two requests
 * inline). An object and a SlidingCounts per address and route took ~400 bytes, and a wave brings a new address with
 * nearly every request (issue 17: bytes per principal, its address's state included).
 */
class RouteColumns implements StateColumns<Counter> {
  last = new Float64Array(0);

  /** The key's clock (the latest event time it was seen at): its store's last-seen time too (StateColumns.clock). */
  get clock(): Float64Array {
    return this.last;
  }
  readonly counts = new SlidingColumns(ROUTE_WINDOW);

  get slotBytes(): number {
    return 8 + this.counts.slotBytes;
  }

  extraBytes(slot: number): number {
    return this.counts.extraBytes(slot) + ROUTE_KEY_EXTRA_BYTES;
  }

  grow(slots: number): void {
    this.last = grown(this.last, slots);
    this.counts.grow(slots);
  }

  write(slot: number, c: Counter): void {
    this.last[slot] = c.last;
    this.counts.write(slot, c.counts);
  }

  read(slot: number): Counter {
    return { last: this.last[slot] as number, counts: this.counts.read(slot) };
  }

  free(slot: number): void {
    this.counts.free(slot);
  }
}

export interface IpOptions {
  maxKeys: number;
  maxUsernamesPerIp: number;
}

export class IpActivity implements FeatureFamily {
  readonly id = 'IpActivity';
  readonly role = 'ip';
  readonly features = IP_FEATURES;
  readonly params: Record<string, number | string>;
  private readonly routes: KeyedState<Counter>;
  private readonly route = new RouteColumns();
  private readonly logins: KeyedState<Logins>;

  constructor(private readonly options: IpOptions = { maxKeys: 1_000_000, maxUsernamesPerIp: 256 }) {
    this.params = {
      route_window: MINUTE,
      login_window: 10 * MINUTE,
      ttl: HOUR,
      forgiven_failures: FORGIVEN_LOGIN_FAILURES,
      ...options,
    };
    this.routes = new KeyedState({ ttlMs: HOUR, maxKeys: options.maxKeys, columns: this.route });
    this.logins = new KeyedState({
      ttlMs: HOUR,
      maxKeys: options.maxKeys,
      sizeOf: (ip) => objectBytes(5, 2) + ip.counts.bytes + recentBytes(ip, ip.users),
    });
  }

  get stores() {
    return { routes: this.routes, logins: this.logins };
  }

  update(event: AccessEvent, out: Float64Array, offset: number): void {
    const r = this.route;
    const at = this.routes.slot(`${event.client_ip}|${event.route}`, event.ts, () => ({
      last: event.ts,
      counts: new SlidingCounts(ROUTE_WINDOW),
    }));
    const tr = slotTime(r.last, at, event.ts);
    r.counts.add(at, tr);
    // Counts past their inline adds took an object of their own: charged now, not at the key's next request.
    this.routes.recharge(at);
    out[offset + F.ip_route_req_1m_log] = logCount(r.counts.count(at, 0, tr));

    const outcome = loginOutcome(event);
    const ip =
      outcome === undefined
        ? this.logins.peek(event.client_ip, event.ts)
        : this.logins.get(event.client_ip, event.ts, () => ({
            last: event.ts,
            counts: new SlidingCounts(LOGIN_WINDOW, 2),
            users: undefined,
            recentId: undefined,
            recentAt: 0,
          }));
    if (!ip) {
      out[offset + F.ip_failed_logins_10m_log] = 0;
      out[offset + F.ip_distinct_usernames_10m_log] = 0;
      return;
    }
    const t = keyTime(ip, event.ts);
    const username = loginUsername(event);
    if (outcome !== undefined && username !== undefined) {
      const seenAt = touchRecent(ip, 'users', username, t, this.options.maxUsernamesPerIp);
      if (seenAt === undefined || t - seenAt > 10 * MINUTE) ip.counts.add(t, NOVEL_USERS);
    }
    if (outcome === 'failure') ip.counts.add(t, FAILURES);
    // Like the username's, the address's count forgives one failure (a typo; see auth.ts).
    out[offset + F.ip_failed_logins_10m_log] = logCount(recordedFailures(ip.counts.count(0, t, FAILURES)));
    out[offset + F.ip_distinct_usernames_10m_log] = logCount(ip.counts.count(0, t, NOVEL_USERS));
  }
}
