// Authentication failures and credential stuffing, kept on the entities that see them — the client IP, the
// username tried, and the whole tenant — and joined onto each request:
// - failed logins per IP (10 min) and the distinct usernames an IP tried (10 min): concentrated stuffing;
// - failed logins per username (1 h): a targeted guess;
// - on a successful login, the failures that username had in the hour before (a cracked account);
// - the tenant's failure rate in the last minute against its average minute in the last hour: distributed
//   stuffing touches each IP and each username only once, so only the tenant-wide rate shows it.
// A login is a request with login fields (username, grant type) or a POST to a login/token route; it failed when
// the API answered 401 or 403, or 400 on a token endpoint (OAuth's invalid_grant).
import type { AccessEvent } from '@vigil/events';
import { Cell } from '../state/checkpoint.js';
import { KeyedState } from '../state/keyed-state.js';
import { SlidingCounts } from '../state/sliding-count.js';
import { type FeatureFamily, HOUR, keyTime, logCount, MINUTE } from './feature.js';

const LOGIN_ROUTE = /(^|\/)(login|signin|sign-in|token|oauth2?\/token|authenticate|session)s?($|\/)/i;

export type LoginOutcome = 'success' | 'failure' | undefined;

export function loginOutcome(event: AccessEvent): LoginOutcome {
  const isLogin = event.login !== undefined || (event.method === 'POST' && LOGIN_ROUTE.test(event.route));
  if (!isLogin) return undefined;
  if (event.status === 401 || event.status === 403 || (event.status === 400 && /token/i.test(event.route))) return 'failure';
  return event.status >= 200 && event.status < 300 ? 'success' : undefined;
}

/** Channels of an IP's SlidingCounts. */
const FAILURES = 0;
const NOVEL_USERS = 1;

interface Ip {
  last: number;
  counts: SlidingCounts;
  users: Map<string, number>;
}
interface User {
  last: number;
  failures: SlidingCounts;
}

export interface AuthOptions {
  maxKeys: number;
  maxUsernamesPerIp: number;
  /** Tenant failures per minute assumed with no history. */
  tenantPriorPerMinute: number;
}

export class AuthFailures implements FeatureFamily {
  readonly names = [
    'ip_failed_logins_10m_log',
    'ip_distinct_usernames_10m_log',
    'user_failed_logins_1h_log',
    'success_after_failures_log',
    'tenant_failure_ratio_1m',
  ];
  readonly principalExact: string[] = [];
  readonly params: Record<string, number | string>;
  private readonly ips: KeyedState<Ip>;
  private readonly users: KeyedState<User>;
  private readonly tenantCell = new Cell({ last: 0, failures: new SlidingCounts([MINUTE, HOUR]) });

  constructor(private readonly options: AuthOptions = { maxKeys: 1_000_000, maxUsernamesPerIp: 256, tenantPriorPerMinute: 1 }) {
    this.params = { ip_window: 10 * MINUTE, user_window: HOUR, ttl: HOUR, login_route: LOGIN_ROUTE.source, ...options };
    this.ips = new KeyedState({ ttlMs: HOUR, maxKeys: options.maxKeys });
    this.users = new KeyedState({ ttlMs: HOUR, maxKeys: options.maxKeys });
  }

  get stores() {
    return { ips: this.ips, users: this.users, tenant: this.tenantCell };
  }

  update(event: AccessEvent, out: Float64Array, offset: number): void {
    const outcome = loginOutcome(event);
    const username = event.login?.username ?? event.principal.username;
    const tenant = this.tenantCell.value;
    const tt = keyTime(tenant, event.ts);
    // Requests that are not logins only read the IP's state: most IPs never log in, and state is per key.
    const ip =
      outcome === undefined
        ? this.ips.peek(event.client_ip, event.ts)
        : this.ips.get(event.client_ip, event.ts, () => ({ last: event.ts, counts: new SlidingCounts([10 * MINUTE], 2), users: new Map() }));
    const ti = ip ? keyTime(ip, event.ts) : event.ts;
    const tenantHourBefore = tenant.failures.count(1, tt) - tenant.failures.count(0, tt);
    let userFailures = 0;
    let successAfter = 0;
    if (ip && outcome !== undefined && username !== undefined) {
      const seenAt = ip.users.get(username);
      if (seenAt === undefined || ti - seenAt > 10 * MINUTE) ip.counts.add(ti, NOVEL_USERS);
      ip.users.delete(username);
      ip.users.set(username, ti);
      if (ip.users.size > this.options.maxUsernamesPerIp) ip.users.delete(ip.users.keys().next().value as string);
      const user = this.users.get(username, event.ts, () => ({ last: event.ts, failures: new SlidingCounts([HOUR]) }));
      const tu = keyTime(user, event.ts);
      if (outcome === 'success') successAfter = user.failures.count(0, tu);
      else user.failures.add(tu);
      userFailures = user.failures.count(0, tu);
    }
    if (ip && outcome === 'failure') {
      ip.counts.add(ti, FAILURES);
      tenant.failures.add(tt);
    }
    const baseline = (tenantHourBefore + this.options.tenantPriorPerMinute * 10) / (59 + 10);
    out[offset] = ip ? logCount(ip.counts.count(0, ti, FAILURES)) : 0;
    out[offset + 1] = ip ? logCount(ip.counts.count(0, ti, NOVEL_USERS)) : 0;
    out[offset + 2] = logCount(userFailures);
    out[offset + 3] = logCount(successAfter);
    out[offset + 4] = Math.log2((tenant.failures.count(0, tt) + 1) / (baseline + 1));
  }

  stateBytes(): number {
    let bytes = 0;
    for (const ip of this.ips.values()) bytes += ip.counts.bytes + 350 + ip.users.size * 90;
    return bytes + this.users.size * (new SlidingCounts([HOUR]).bytes + 120);
  }
}
