// Authentication failures and credential stuffing, kept on the entities that see them — the username tried and the
// whole tenant (the client IP's side is in ip.ts) — and joined onto each login:
// - failed logins per username (1 h): a targeted guess;
// - on a successful login, the failures that username had in the hour before (a cracked account);
// - whether the login succeeded (1) — what a policy rule needs to tell a cracked login from an attempt.
// Both forgive one failure in the hour (as the IP's count does, ip.ts; FORGIVEN_LOGIN_FAILURES): a mistyped password,
// then a success, is the most common login there is, and counted it only made the models flag every customer who
// mistyped (150 of the 187 false-alert principal-days of npm run bench:quality before it was forgiven).
// - the tenant's login-failure rate in the last minute against its average minute in the last hour: distributed
//   stuffing touches each IP and each username only once, so only the tenant-wide rate shows it.
// A login is a request with login fields (username, grant type) or a POST to a login/token route; it failed when
// the API answered 401 or 403, or 400 on a token endpoint (OAuth's invalid_grant). Requests that are not logins get
// zeros and leave this state alone (they never reach these entities online; see roles.ts).
import { type AccessEvent, FORGIVEN_LOGIN_FAILURES, recordedFailures } from '@vigil/events';
import { Cell } from '../state/checkpoint.js';
import { KeyedState } from '../state/keyed-state.js';
import { SlidingCounts } from '../state/sliding-count.js';
import { type FeatureFamily, HOUR, keyTime, logCount, MINUTE } from './feature.js';

const LOGIN_ROUTE = /(^|\/)(login|signin|sign-in|token|oauth2?\/token|authenticate|session)s?($|\/)/i;

export type LoginOutcome = 'success' | 'failure' | undefined;

/** undefined: not a login, or a login answered with neither success nor an auth failure (a 5xx, say). */
export function loginOutcome(event: AccessEvent): LoginOutcome {
  const isLogin = event.login !== undefined || (event.method === 'POST' && LOGIN_ROUTE.test(event.route));
  if (!isLogin) return undefined;
  if (event.status === 401 || event.status === 403 || (event.status === 400 && /token/i.test(event.route)))
    return 'failure';
  return event.status >= 200 && event.status < 300 ? 'success' : undefined;
}

export const loginUsername = (event: AccessEvent) => event.login?.username ?? event.principal.username;

interface User {
  last: number;
  failures: SlidingCounts;
}

export class UserLogins implements FeatureFamily {
  readonly id = 'UserLogins';
  readonly role = 'user';
  readonly names = ['user_failed_logins_1h_log', 'success_after_failures_log', 'login_success'];
  readonly params: Record<string, number | string>;
  private readonly users: KeyedState<User>;

  constructor(options = { maxKeys: 1_000_000 }) {
    this.params = {
      window: HOUR,
      ttl: HOUR,
      login_route: LOGIN_ROUTE.source,
      forgiven_failures: FORGIVEN_LOGIN_FAILURES,
      ...options,
    };
    this.users = new KeyedState({ ttlMs: HOUR, maxKeys: options.maxKeys, sizeOf: (u) => u.failures.bytes + 60 });
  }

  get stores() {
    return { users: this.users };
  }

  update(event: AccessEvent, out: Float64Array, offset: number): void {
    out.fill(0, offset, offset + this.names.length);
    const outcome = loginOutcome(event);
    const username = loginUsername(event);
    if (outcome === undefined || username === undefined) return;
    out[offset + 2] = outcome === 'success' ? 1 : 0;
    const user = this.users.get(username, event.ts, () => ({ last: event.ts, failures: new SlidingCounts([HOUR]) }));
    const t = keyTime(user, event.ts);
    if (outcome === 'success') out[offset + 1] = logCount(recordedFailures(user.failures.count(0, t)));
    if (outcome === 'failure') user.failures.add(t);
    out[offset] = logCount(recordedFailures(user.failures.count(0, t)));
  }
}

export class TenantLogins implements FeatureFamily {
  readonly id = 'TenantLogins';
  readonly role = 'tenant';
  readonly names = ['tenant_failure_ratio_1m'];
  readonly params: Record<string, number | string>;
  private readonly tenant = new Cell({ last: 0, failures: new SlidingCounts([MINUTE, HOUR]) });

  /** @param priorPerMinute tenant failures per minute assumed with no history */
  constructor(private readonly options = { priorPerMinute: 1 }) {
    // floor: the ratio is clipped at 0 (a parameter so the schema hash tells bundles of the unclipped feature apart).
    this.params = { window: MINUTE, baseline: HOUR, login_route: LOGIN_ROUTE.source, floor: 0, ...options };
  }

  get stores() {
    return { tenant: this.tenant };
  }

  update(event: AccessEvent, out: Float64Array, offset: number): void {
    out[offset] = 0;
    const outcome = loginOutcome(event);
    if (outcome === undefined) return;
    const tenant = this.tenant.value;
    const t = keyTime(tenant, event.ts);
    const hourBefore = tenant.failures.count(1, t) - tenant.failures.count(0, t);
    if (outcome === 'failure') tenant.failures.add(t);
    const baseline = (hourBefore + this.options.priorPerMinute * 10) / (59 + 10);
    // Only a surge is evidence: fewer failures than usual is not. (Unclipped, the hour after a stuffing wave — its
    // failures still in the baseline — gave every ordinary login a ratio the models had never seen, and they flagged
    // thousands of customers' first requests.)
    out[offset] = Math.max(0, Math.log2((tenant.failures.count(0, t) + 1) / (baseline + 1)));
  }
}
