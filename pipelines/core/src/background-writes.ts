// Writes a stage starts in the background (audit rows, dead letters) so the next record need not wait for them,
// and the one place that waits: whoever commits the input offset calls settled() first, so nothing the committed
// input produced can be lost.
export class BackgroundWrites {
  private pending: Promise<unknown>[] = [];

  track(write: Promise<unknown>): void {
    this.pending.push(write);
    write.catch(() => undefined); // kept for settled(); not an unhandled rejection meanwhile
  }

  /** Resolves once every write started so far is durable; rejects with the first failure. */
  async settled(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    await Promise.all(pending);
  }
}
