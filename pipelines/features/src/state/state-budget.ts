// A byte budget for the feature state of one process, shared by every keyed store of every task it runs. Stores
// charge their entries' estimated sizes to it and, once it is full, evict their own least recently seen keys to make
// room (KeyedState). The estimate is deterministic (a function of the state, never of the heap), but the budget is
// shared: which keys go depends on every task charging it, and on how their batches interleave; the changelogs'
// bookkeeping is charged after each checkpoint, which runs on the wall clock, and a restore rebuilds it smaller. So
// eviction is reproducible only for the same tasks fed the same batches with the same checkpoints (a replay runs
// without a budget). Eviction changes features — an evicted principal starts again from the population prior — so
// every eviction is counted.
import type { ByteBudget } from '@vigil/connectors';

/**
 * The share of the budget that requests waiting for their entity parts (the principal stage's joins) may hold, split
 * evenly between the tasks that hold them. What a task's waiting requests hold at the end of each batch is charged
 * like the stores' entries, so the stores make room for it; past its part of this share a task lets its
 * longest-waiting requests go without the parts (join_incomplete, counted). So an entity stage that is down for long
 * cannot fill the budget with waiting requests and push every principal's history out: at least three quarters of it
 * stays the features' state. In normal running a request waits a checkpoint interval or two, and holds nowhere near
 * this. (Requests that come and are joined within one batch are not charged: charged as they came, their passing
 * weight made the principal stage's stores, which run while it is there, evict for the entity stage's in
 * bench:cardinality.)
 */
export const PENDING_SHARE = 0.25;

export class StateBudget implements ByteBudget {
  /** Estimated bytes charged by every store, and by the waiting requests. */
  used = 0;
  /** Of `used`, what requests waiting for their entity parts hold (chargePending). */
  pending = 0;
  /** Keys evicted to stay within the budget, over every store. */
  evicted = 0;
  /** What the waiting requests may hold, all tasks together, before the longest-waiting go without their parts. */
  readonly pendingLimitBytes: number;
  /** Tasks holding waiting requests (each gets an even part of pendingLimitBytes). */
  private holders = 0;

  constructor(
    readonly limitBytes: number,
    pendingShare = PENDING_SHARE,
  ) {
    if (!(limitBytes > 0)) throw new Error(`a state budget must be a positive number of bytes, got ${limitBytes}`);
    this.pendingLimitBytes = limitBytes * pendingShare;
  }

  get over(): boolean {
    return this.used > this.limitBytes;
  }

  /** A task that holds waiting requests starts (true) or stops sharing the budget. */
  holdsPending(starts: boolean): void {
    this.holders += starts ? 1 : -1;
  }

  /** What one task's waiting requests may hold: an even part of the share. */
  get pendingLimitPerTask(): number {
    return this.pendingLimitBytes / Math.max(1, this.holders);
  }

  chargePending(bytes: number): void {
    this.used += bytes;
    this.pending += bytes;
  }

  releasePending(bytes: number): void {
    this.used -= bytes;
    this.pending -= bytes;
  }

  charge(bytes: number): void {
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }
}
