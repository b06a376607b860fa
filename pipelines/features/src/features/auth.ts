// Authentication failures and credential stuffing, kept on the entities that see them — the username tried and the
// whole tenant (the client IP's side is in ip.ts) — and joined onto each login:
// - failed logins per username (1 h): a targeted guess;
// - on a successful login, the failures that username had in the hour before (a cracked account);
// - whether the login succeeded (1) — what a policy rule needs to tell a cracked login from an attempt.
// Both forgive one failure in the hour (as the IP's count does, ip.ts; FORGIVEN_LOGIN_FAILURES): a mistyped password,
// then a success, is the most common login there is, and counted it only made the models flag every customer who
// mistyped (150 of the 187 false-alert principal-days of npm run bench:quality before it was forgiven).
// - the tenant's failed logins in the last minute against its usual minute (an hour's average that a surge does not
//   teach itself to): distributed stuffing touches each IP and each username only once, so only the tenant-wide
//   rate shows it.
// What a login is, and when it failed, is login.ts's. Requests that are not logins get zeros and leave this state
// alone (they never reach these entities online; see roles.ts).

import { objectBytes } from '@vigil/core';
import { type AccessEvent, FORGIVEN_LOGIN_FAILURES, recordedFailures } from '@vigil/events';
import { Cell } from '../state/checkpoint.js';
import { KeyedState } from '../state/keyed-state.js';
import { SlidingCounts } from '../state/sliding-count.js';
import { declareFeatures } from './declare.js';
import { type FeatureFamily, HOUR, keyTime, logCount, MINUTE } from './feature.js';
import { LOGIN_ROUTE, loginOutcome, loginUsername } from './login.js';

/** A window shape as a constant, so each new key's counts share it (sliding-count.ts). */
const HOUR_WINDOW = [HOUR];

export const USER_LOGIN_FEATURES = declareFeatures([
  {
    name: 'user_failed_logins_1h_log',
    encoding: 'log1p',
    window: '1 h',
    means: 'log1p(failed logins beyond the first) — guessing one account',
  },
  {
    name: 'success_after_failures_log',
    encoding: 'log1p',
    window: '1 h',
    means: 'on a successful login, log1p(failures before it, beyond the first) — a cracked account',
  },
  {
    name: 'login_success',
    encoding: 'flag',
    window: 'the request',
    means:
      'on a login, 1 when it succeeded (0 for a failure and for other requests) — what a rule needs to tell a ' +
      'cracked login from an attempt',
  },
]);
const U = USER_LOGIN_FEATURES.position;

export const TENANT_LOGIN_FEATURES = declareFeatures([
  {
    name: 'tenant_failure_ratio_1m',
    encoding: 'log2',
    window: '1 min vs usual',
    means:
      "on logins, log2 of the tenant's failed logins in the last minute against its usual minute (an hour's " +
      'average that a surge does not teach itself: each finished minute counts at most one bit above it), 0 at or ' +
      'below it (only a surge is evidence) — distributed stuffing',
  },
]);
const T = TENANT_LOGIN_FEATURES.position;

interface User {
  last: number;
  failures: SlidingCounts;
}

export class UserLogins implements FeatureFamily {
  readonly id = 'UserLogins';
  readonly role = 'user';
  readonly features = USER_LOGIN_FEATURES;
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
    this.users = new KeyedState({
      ttlMs: HOUR,
      maxKeys: options.maxKeys,
      sizeOf: (u) => objectBytes(2, 1) + u.failures.bytes,
    });
  }

  get stores() {
    return { users: this.users };
  }

  update(event: AccessEvent, out: Float64Array, offset: number): void {
    out.fill(0, offset, offset + USER_LOGIN_FEATURES.names.length);
    const outcome = loginOutcome(event);
    const username = loginUsername(event);
    if (outcome === undefined || username === undefined) return;
    out[offset + U.login_success] = outcome === 'success' ? 1 : 0;
    const user = this.users.get(username, event.ts, () => ({
      last: event.ts,
      failures: new SlidingCounts(HOUR_WINDOW),
    }));
    const t = keyTime(user, event.ts);
    if (outcome === 'success')
      out[offset + U.success_after_failures_log] = logCount(recordedFailures(user.failures.count(0, t)));
    if (outcome === 'failure') user.failures.add(t);
    out[offset + U.user_failed_logins_1h_log] = logCount(recordedFailures(user.failures.count(0, t)));
  }
}

interface Tenant {
  last: number;
  /** Failed logins in the last minute (sliding). */
  failures: SlidingCounts;
  /** The calendar minute being counted (epoch minutes) and its failures so far. */
  minute: number;
  pending: number;
  /** The tenant's usual failures per minute: an average over about an hour of finished minutes, surges clipped. */
  baseline: number;
}

export interface TenantLoginOptions {
  /** Failures per minute assumed before the tenant has history. */
  priorPerMinute: number;
  /** The baseline's memory, in minutes (an exponential average's time constant). */
  baselineMinutes: number;
  /** A finished minute teaches the baseline at most this many bits above it (see update). */
  clipBits: number;
}

export class TenantLogins implements FeatureFamily {
  readonly id = 'TenantLogins';
  readonly role = 'tenant';
  readonly features = TENANT_LOGIN_FEATURES;
  readonly params: Record<string, number | string>;
  private readonly tenant: Cell<Tenant>;

  constructor(private readonly options: TenantLoginOptions = { priorPerMinute: 1, baselineMinutes: 60, clipBits: 1 }) {
    // floor: the ratio is clipped at 0 (a parameter so the schema hash tells bundles of the unclipped feature apart).
    this.params = { window: MINUTE, baseline: 'clipped_ewma', login_route: LOGIN_ROUTE.source, floor: 0, ...options };
    this.tenant = new Cell<Tenant>({
      last: 0,
      failures: new SlidingCounts([MINUTE]),
      minute: Number.NaN,
      pending: 0,
      baseline: options.priorPerMinute,
    });
  }

  get stores() {
    return { tenant: this.tenant };
  }

  update(event: AccessEvent, out: Float64Array, offset: number): void {
    out[offset + T.tenant_failure_ratio_1m] = 0;
    const outcome = loginOutcome(event);
    if (outcome === undefined) return;
    const tenant = this.tenant.value;
    const t = keyTime(tenant, event.ts);
    this.finishMinutes(tenant, Math.floor(t / MINUTE));
    if (outcome === 'failure') {
      tenant.failures.add(t);
      tenant.pending++;
    }
    // Only a surge is evidence: fewer failures than usual is not. (Unclipped, the hour after a stuffing wave — its
    // failures still in the baseline — gave every ordinary login a ratio the models had never seen, and they flagged
    // thousands of customers' first requests.)
    out[offset + T.tenant_failure_ratio_1m] = Math.max(
      0,
      Math.log2((tenant.failures.count(0, t) + 1) / (tenant.baseline + 1)),
    );
  }

  /**
   * Folds the finished calendar minutes before `minute` into the baseline. Each teaches it at most `clipBits` above
   * the baseline (in the ratio's own +1-smoothed terms): a surge is not learned as the new normal while it lasts. An
   * average over the plain hour before did: a distributed wave of fifteen minutes filled its own baseline, and its
   * later cracked logins read as ordinary (a ratio of ~1 instead of ~3). A change that lasts is still learned, at
   * most doubling the baseline per `baselineMinutes` × ln 2 minutes or so.
   */
  private finishMinutes(tenant: Tenant, minute: number): void {
    // A checkpoint written before the baseline existed: start it from the prior.
    if (tenant.baseline === undefined || tenant.pending === undefined) {
      tenant.baseline = this.options.priorPerMinute;
      tenant.pending = 0;
      tenant.minute = Number.NaN;
    }
    if (Number.isNaN(tenant.minute)) tenant.minute = minute;
    if (minute <= tenant.minute) return;
    const keep = 1 - 1 / this.options.baselineMinutes;
    const ceiling = 2 ** this.options.clipBits * (tenant.baseline + 1) - 1;
    tenant.baseline = keep * tenant.baseline + (1 - keep) * Math.min(tenant.pending, ceiling);
    // Minutes with no login at all (a quiet night) count as minutes without failures.
    const empty = Math.min(minute - tenant.minute - 1, 100 * this.options.baselineMinutes);
    if (empty > 0) tenant.baseline *= keep ** empty;
    tenant.minute = minute;
    tenant.pending = 0;
  }
}
