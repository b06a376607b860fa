// The revoker's core: a decision record in, its enforcements applied at every gateway adapter that handles them, with
// the guardrails in between — in this order, each with an audit row:
//   duplicate (this decision's enforcement is already in the store: a redelivery after a crash) → skipped, no row;
//   already enforced (the same action in force, as long within EXTENSION_SLACK_MS, the same cut-off) → audited only;
//   allowlisted → never acted on;  dry run (the revoker's switch or the decision's) → what would have been done;
//   capped (global or tenant rate cap full) → not enforced, and the SOC is told about the cap once a minute;
//   otherwise in force in the store at once (the check endpoint answers from it), applied at each adapter — retried
//   with backoff behind a circuit breaker until the gateway confirms (consumption waits meanwhile: nothing is
//   dropped) — then the decision's enforcements written to the log in one send, and audited as enforced.
// A gateway refusal that retrying cannot mend is audited as failed for that adapter and does not block the others.
import { BackgroundWrites, DEFAULT_RETRY, isRetriable, type RetryOptions, Serial, withRetry } from '@vigil/core';
import type { Decision } from '@vigil/events';
import { CircuitBreaker } from './breaker.js';
import type { Enforcement } from './enforcement.js';
import type { Allowlist, CapVerdict, RateCaps } from './guardrails.js';
import { type PlanOptions, planEnforcements } from './plan.js';
import type { RevocationStore } from './store.js';
import type { GatewayAdapter } from './targets/target.js';

/**
 * `queued`: the target is down (or was down a moment ago) and behind; the enforcement is in vigil.revocations and the
 * target gets it with everything else when it is back (a re-sync of its whole list).
 */
export type Outcome =
  | 'enforced'
  | 'failed'
  | 'queued'
  | 'dry_run'
  | 'allowlisted'
  | 'capped'
  | 'already_enforced'
  | 'undone'
  | 'expired';

export interface AuditEntry {
  at: number;
  action_id: string;
  enforcement: Enforcement;
  adapter: string;
  outcome: Outcome;
  dry_run: boolean;
  detail?: string;
}

export interface RevokerOptions {
  adapters: GatewayAdapter[];
  store: RevocationStore;
  allowlist: Allowlist;
  caps: RateCaps;
  /** The revoker's own enforcement switch: false (the default) records what it would do and does nothing. */
  enforce: boolean;
  ttl: Omit<PlanOptions, 'now'>;
  audit: (entries: AuditEntry[]) => Promise<void>;
  /** Tells the SOC a cap is full (an alert decision about the tenant or the whole deployment). */
  notify: (notice: Decision) => Promise<void>;
  /**
   * Retries of writes to the store (vigil.revocations): unbounded by default — nothing is acknowledged before them.
   */
  retry?: RetryOptions;
  /**
   * Retries of one call to one target before it counts as down and falls behind (bounded, so one down target never
   * holds the others back; a target that is behind catches up by a re-sync at the next resync()).
   */
  targetRetry?: RetryOptions;
  breaker?: { failures: number; openMs: number };
  now?: () => number;
  onRetry?: (adapter: string, err: unknown) => void;
}

/**
 * A decision that would only push an active enforcement's expiry back by less than this is already enforced. Every
 * request of an attacker the gateway already throttles can be decided on again (each with an expiry a moment later);
 * without the slack each of them would be applied again and take a slot of the rate cap — a stuffing address refused
 * with 429s would use up the cap and leave the next attacker only alerted. A moved "issued before" cut-off is never
 * slack: it is what refuses a token the attacker obtained since.
 */
export const EXTENSION_SLACK_MS = 60_000;

/** About a second of retries before a target counts as down; a gateway answers in milliseconds when it is up. */
const TARGET_RETRY: RetryOptions = { initialDelayMs: 50, maxDelayMs: 400, multiplier: 2, maxAttempts: 4 };

export class Revoker {
  private readonly breakers: Map<string, CircuitBreaker>;
  private readonly now: () => number;
  readonly counts: Record<Outcome | 'duplicate', number> = {
    enforced: 0,
    failed: 0,
    queued: 0,
    dry_run: 0,
    allowlisted: 0,
    capped: 0,
    already_enforced: 0,
    undone: 0,
    expired: 0,
    duplicate: 0,
  };

  /** Targets that are down: name → enforcements queued for them since, and when they fell behind. */
  private readonly behind = new Map<string, { queued: number; since: number }>();

  constructor(private readonly o: RevokerOptions) {
    this.now = o.now ?? Date.now;
    this.breakers = new Map(
      o.adapters.map((a) => [a.name, new CircuitBreaker(a.name, o.breaker ?? { failures: 5, openMs: 2000 })]),
    );
  }

  breakerState(adapter: string) {
    return this.breakers.get(adapter)?.state;
  }

  /** Acts on one decision; resolves when every enforcement it asked for is settled (enforced, refused or guarded). */
  handle(d: Decision): Promise<AuditEntry[]> {
    return this.serial.run(() => this.act(d));
  }

  // Decisions, undo, expiry and re-sync take turns: a re-sync that replaces a gateway's whole list must not race an
  // enforcement that has just been applied but is not in the store yet.
  private readonly serial = new Serial();

  private async act(d: Decision): Promise<AuditEntry[]> {
    const now = this.now();
    const rows: AuditEntry[] = [];
    const row = (e: Enforcement, adapter: string, outcome: Outcome, detail?: string) => {
      this.counts[outcome]++;
      rows.push({
        at: this.now(),
        action_id: `${d.request_id}/${e.id}`,
        enforcement: e,
        adapter,
        outcome,
        dry_run: !this.o.enforce || d.dry_run,
        ...(detail ? { detail } : {}),
      });
    };
    let cap: CapVerdict | undefined;
    const enforced: Enforcement[] = [];
    for (const e of planEnforcements(d, { ...this.o.ttl, now })) {
      const held = this.heldBack(e, d);
      if (held === 'duplicate') {
        this.counts.duplicate++;
        continue;
      }
      if (held) {
        row(e, '-', held.outcome, held.detail);
        continue;
      }
      // One slot per decision, however many identifiers it enforces (a revoked principal is one action).
      cap ??= this.o.caps.take(e.tenant, now);
      if (!cap.ok) {
        row(e, '-', 'capped', cap.scope);
        if (cap.firstInWindow) {
          cap = { ...cap, firstInWindow: false };
          await this.o.notify(capNotice(d, cap.scope, cap.limit, now));
        }
        continue;
      }
      enforced.push({ ...e, enforced_at: now });
    }
    // In force in the store at once (the check endpoint answers from it, so it enforces as soon as the revoker
    // decides), then at every target, then one write to the log for the decision — not one per identifier (a revoked
    // principal is up to five). The log after the targets: a redelivered decision whose enforcements the log holds is
    // skipped as a duplicate, and not every target is re-synced from the log at start (HTTP, IdP and Kong are not).
    // A write that fails for good takes them out of the store again and fails the decision: the stage stops, the
    // process restarts and the decision comes again. The first identifier goes to the targets alone, the others
    // together after it: one after another they took the sum of their round trips (HAProxy: two commands each for a
    // new entry, ~1-8 ms apiece), and the stolen token is refused once the first of them is in force. Not all at once:
    // against a target that is down, a decision's identifiers retrying together reach its breaker's threshold within
    // one decision and open it for longer than their retries last, and a half-open breaker's one trial leaves the
    // others refused — the first, on its own, meets the target as one call did before (its retries, the breaker's
    // trial), and a target it leaves behind skips the others.
    await this.o.store.put(enforced, async (write) => {
      const [head, ...rest] = enforced;
      const outcomes = head === undefined ? [] : [await this.enforce(head)];
      outcomes.push(...(await Promise.all(rest.map((e) => this.enforce(e)))));
      // Audit rows in the plan's order, whichever target answered first.
      enforced.forEach((e, i) => {
        for (const { a, result } of outcomes[i] ?? []) {
          if (result === true) row(e, a.name, 'enforced');
          else if (result === 'behind')
            row(e, a.name, 'queued', 'target down; re-synced from vigil.revocations when it is back');
          else row(e, a.name, 'failed', String(result));
        }
      });
      await withRetry(write, this.o.retry ?? DEFAULT_RETRY, { onRetry: (err) => this.o.onRetry?.('store', err) });
    });
    // Audit rows are written in the background: the next decision need not wait for a ClickHouse batch. Whoever
    // commits the decision's offset waits for settled() first.
    if (rows.length > 0) this.background.track(this.o.audit(rows));
    return rows;
  }

  /**
   * Why an enforcement is not sent to the targets before the caps are asked: a redelivered decision (a duplicate,
   * not audited again), the same or a stronger one already in force, an allowlisted identity, or dry-run.
   */
  private heldBack(e: Enforcement, d: Decision): 'duplicate' | { outcome: Outcome; detail?: string } | undefined {
    const existing = this.o.store.get(e.id);
    if (existing?.request_id === e.request_id) return 'duplicate';
    if (
      existing &&
      existing.action === e.action &&
      existing.expires_at >= e.expires_at - EXTENSION_SLACK_MS &&
      (existing.not_before ?? 0) >= (e.not_before ?? 0)
    )
      return { outcome: 'already_enforced' };
    const allowed = this.o.allowlist.covers(e);
    if (allowed) return { outcome: 'allowlisted', detail: allowed };
    if (!this.o.enforce || d.dry_run) return { outcome: 'dry_run' };
    return undefined;
  }

  /**
   * Sends an enforcement to every target that supports it (act() records it in the log after); each target's outcome.
   * Every target on its own: one that is down falls behind and is skipped (queued) until it is re-synced, the others
   * keep enforcing. Targets are called together, so a slow one delays nobody.
   */
  private enforce(enforced: Enforcement) {
    return Promise.all(
      this.o.adapters
        .filter((a) => a.supports(enforced))
        .map(async (a) => ({ a, result: await this.attempt(a, () => a.apply(enforced)) })),
    );
  }

  private readonly background = new BackgroundWrites();

  /** Resolves once every background write started so far is durable (rejects with the first failure). */
  settled(): Promise<void> {
    return this.background.settled();
  }

  /** Lifts an enforcement everywhere (`vigil revoke --undo`); false when nothing by that id is in force. */
  undo(id: string): Promise<boolean> {
    return this.serial.run(async () => {
      const e = this.o.store.get(id);
      if (!e) return false;
      await this.lift(e, 'undone');
      return true;
    });
  }

  /** Lifts every enforcement whose time is up. */
  prune(): Promise<number> {
    return this.serial.run(async () => {
      const expired = this.o.store.expired(this.now());
      for (const e of expired) await this.lift(e, 'expired');
      return expired.length;
    });
  }

  /**
   * Re-syncs from the store every target that is behind, that lost its lists (restarted empty), or all of them (at
   * start). A target still down stays behind; the others are not held up by it. Returns the targets re-synced.
   */
  resync(all = false): Promise<string[]> {
    return this.serial.run(async () => {
      const active = this.o.store.all().filter((e) => e.expires_at > this.now());
      const synced = await Promise.all(
        this.o.adapters.map(async (a) => {
          if (!a.resync) {
            this.behind.delete(a.name); // nothing to re-sync from: it takes new enforcements again
            return undefined;
          }
          const due =
            all ||
            this.behind.has(a.name) ||
            (await this.attempt(a, () => a.lostState?.() ?? Promise.resolve(false), true)) !== false;
          if (!due) return undefined;
          const result = await this.attempt(
            a,
            () => (a.resync as (e: Enforcement[]) => Promise<void>)(active.filter((e) => a.supports(e))),
            true,
          );
          if (result !== true) return undefined;
          this.behind.delete(a.name);
          return a.name;
        }),
      );
      return synced.filter((n): n is string => n !== undefined);
    });
  }

  /** Targets that are down and behind, with how many enforcements wait for them and since when (epoch ms). */
  lag(): { target: string; queued: number; since: number }[] {
    return [...this.behind].map(([target, b]) => ({ target, queued: b.queued, since: b.since }));
  }

  /** Every target's name, behind or not (metrics report a lag of 0 for those that are up). */
  get targets(): string[] {
    return this.o.adapters.map((a) => a.name);
  }

  /**
   * One call to one target with bounded retries. True when it succeeded (or the call's own boolean); 'behind' when the
   * target is down (retriable failure, or already behind: skipped unless `force`), which puts it behind; otherwise the
   * refusal's message (the target answered and said no: not a reason to stop sending it work).
   */
  private async attempt<T>(
    a: GatewayAdapter,
    fn: () => Promise<T>,
    force = false,
  ): Promise<T | true | 'behind' | string> {
    const behind = this.behind.get(a.name);
    if (behind && !force) {
      behind.queued++;
      return 'behind';
    }
    try {
      const value = await this.call(a, fn, this.o.targetRetry ?? TARGET_RETRY);
      return value === undefined ? true : value;
    } catch (err) {
      if (!isRetriable(err)) return (err as Error).message.slice(0, 200);
      // Looked up again: another call to the same target (a decision's identifiers go together) may have put it behind
      // while this one was retrying.
      const now = this.behind.get(a.name);
      if (now) now.queued += force ? 0 : 1;
      else this.behind.set(a.name, { queued: force ? 0 : 1, since: this.now() });
      return 'behind';
    }
  }

  private async lift(e: Enforcement, outcome: 'undone' | 'expired') {
    const rows: AuditEntry[] = [];
    for (const a of this.o.adapters) {
      if (!a.supports(e)) continue;
      // A target that is behind gets the lift with its re-sync (the store no longer lists the entry).
      const result = await this.attempt(a, () => a.remove(e));
      if (result !== true && result !== 'behind') continue;
      this.counts[outcome]++;
      rows.push({
        at: this.now(),
        action_id: `${e.request_id}/${e.id}/${outcome}`,
        enforcement: e,
        adapter: a.name,
        outcome,
        dry_run: false,
      });
    }
    await withRetry(() => this.o.store.delete(e.id), this.o.retry ?? DEFAULT_RETRY);
    if (rows.length > 0) await this.o.audit(rows);
  }

  /** One adapter call behind its breaker, retried while the failure is retriable, within `retry`. */
  private call<T>(a: GatewayAdapter, fn: () => Promise<T>, retry: RetryOptions): Promise<T> {
    const breaker = this.breakers.get(a.name) as CircuitBreaker;
    // withRetry calls onRetry only for retriable failures.
    return withRetry(() => breaker.call(fn), retry, { onRetry: (err) => this.o.onRetry?.(a.name, err) });
  }

  async close(): Promise<void> {
    for (const a of this.o.adapters) await a.close();
  }
}

/** An alert decision telling the SOC that a rate cap is full: further enforcements are only alerted until it drains. */
export function capNotice(d: Decision, scope: string, limit: number, now: number): Decision {
  return {
    ts: now,
    decided_at: now,
    request_id: `cap/${scope}/${Math.floor(now / 60_000)}`,
    action: 'alert',
    entity: 'tenant',
    score: 1,
    scores: { iforest: 0, autoencoder: 0, rules: 1 },
    principal: {},
    reasons: [{ feature: `revoker:cap_reached:${scope}`, value: limit, baseline: limit, contribution: 1 }],
    bundle: d.bundle,
    dry_run: false,
    ...(scope.startsWith('tenant:')
      ? { context: { route: '-', route_class: '-', tenant: scope.slice('tenant:'.length) } }
      : {}),
  };
}
