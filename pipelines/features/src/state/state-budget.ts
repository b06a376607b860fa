// A byte budget for the feature state of one process, shared by every keyed store of every task it runs. Stores
// charge their entries' estimated sizes to it and, once it is full, evict their own least recently seen keys to make
// room (KeyedState). The estimate is deterministic (a function of the state, never of the heap), but the budget is
// shared: which keys go depends on every task charging it, and on how their batches interleave; the changelogs'
// bookkeeping is charged after each checkpoint, which runs on the wall clock, and a restore rebuilds it smaller. So
// eviction is reproducible only for the same tasks fed the same batches with the same checkpoints (a replay runs
// without a budget). Eviction changes features — an evicted principal starts again from the population prior — so
// every eviction is counted.
import type { ByteBudget } from '@vigil/connectors';

export class StateBudget implements ByteBudget {
  /** Estimated bytes charged by every store. */
  used = 0;
  /** Keys evicted to stay within the budget, over every store. */
  evicted = 0;

  constructor(readonly limitBytes: number) {
    if (!(limitBytes > 0)) throw new Error(`a state budget must be a positive number of bytes, got ${limitBytes}`);
  }

  get over(): boolean {
    return this.used > this.limitBytes;
  }

  charge(bytes: number): void {
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }
}
