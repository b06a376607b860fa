// The client IP as an entity: how hard one address hits one route (scraping), how many logins fail from it and how
// many usernames it tries (concentrated credential stuffing). Every request reaches its IP's state; only logins
// create an entry for the login counts, since most IPs never log in and state is per key.

import { objectBytes } from '@vigil/core';
import { type AccessEvent, FORGIVEN_LOGIN_FAILURES, recordedFailures } from '@vigil/events';
import { KeyedState } from '../state/keyed-state.js';
import { type RecentIds, recentBytes, touchRecent } from '../state/recent-ids.js';
import { SlidingCounts } from '../state/sliding-count.js';
import { declareFeatures } from './declare.js';
import { type FeatureFamily, HOUR, keyTime, logCount, MINUTE } from './feature.js';
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
  private readonly logins: KeyedState<Logins>;

  constructor(private readonly options: IpOptions = { maxKeys: 1_000_000, maxUsernamesPerIp: 256 }) {
    this.params = {
      route_window: MINUTE,
      login_window: 10 * MINUTE,
      ttl: HOUR,
      forgiven_failures: FORGIVEN_LOGIN_FAILURES,
      ...options,
    };
    // A route's key is the address, `|` and the route joined: a second join (32 bytes) beyond the one every key is
    // counted with (keyed-state.ts), and the address's own string (~32), which the key's characters undercount.
    this.routes = new KeyedState({
      ttlMs: HOUR,
      maxKeys: options.maxKeys,
      sizeOf: (c) => objectBytes(2, 1) + c.counts.bytes + 64,
    });
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
    const r = this.routes.get(`${event.client_ip}|${event.route}`, event.ts, () => ({
      last: event.ts,
      counts: new SlidingCounts(ROUTE_WINDOW),
    }));
    const tr = keyTime(r, event.ts);
    r.counts.add(tr);
    out[offset + F.ip_route_req_1m_log] = logCount(r.counts.count(0, tr));

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
