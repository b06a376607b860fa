// A circuit breaker per gateway adapter: after `failures` consecutive failures calls fail fast for `openMs`, then one
// trial call decides whether it closes again. Failing fast keeps a dead gateway from holding every revocation for a
// full timeout; the revoker's retry loop (with backoff) still waits for it, so nothing is dropped.
import { retriable } from '@vigil/core';

export type BreakerState = 'closed' | 'open' | 'half_open';

export class CircuitBreaker {
  private consecutive = 0;
  private openedAt = 0;
  private trial = false;
  state: BreakerState = 'closed';

  constructor(
    readonly name: string,
    private readonly options: { failures: number; openMs: number; now?: () => number } = { failures: 5, openMs: 5000 },
  ) {}

  async call<T>(fn: () => Promise<T>): Promise<T> {
    const now = (this.options.now ?? Date.now)();
    if (this.state === 'open') {
      if (now - this.openedAt < this.options.openMs || this.trial)
        throw retriable('circuit_open', `${this.name}: circuit open after repeated failures`);
      this.state = 'half_open';
    }
    if (this.state === 'half_open') {
      if (this.trial) throw retriable('circuit_open', `${this.name}: circuit half-open, trial in progress`);
      this.trial = true;
    }
    try {
      const out = await fn();
      this.consecutive = 0;
      this.state = 'closed';
      return out;
    } catch (err) {
      this.consecutive++;
      if (this.state === 'half_open' || this.consecutive >= this.options.failures) {
        this.state = 'open';
        this.openedAt = (this.options.now ?? Date.now)();
      }
      throw err;
    } finally {
      this.trial = false;
    }
  }
}
