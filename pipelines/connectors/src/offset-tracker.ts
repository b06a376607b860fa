// Tracks which fetched batches have been acknowledged, per partition, so a source commits only the contiguous
// acknowledged prefix: a later batch acked before an earlier one is never committed past the earlier one.
//
// A rebalance starts a new epoch (reset): batches fetched before it no longer count towards a commit. Their partition
// may be another member's now, which reads it again from the group's committed offset and may commit further; an
// older batch's offset committed after that would move the partition's offset back. A partition this member kept is
// read again from the committed offset too, so its batches since are what carry its commit on.

interface Pending {
  nextOffset: bigint;
  acked: boolean;
}

export class OffsetTracker {
  private pending = new Map<string, Pending[]>();
  private readonly committable = new Map<string, bigint>();
  private inFlight = 0;

  private static key(topic: string, partition: number) {
    return `${partition}\u0000${topic}`;
  }

  /** Registers a fetched batch whose last offset is lastOffset; returns the function that acknowledges it. */
  track(topic: string, partition: number, lastOffset: string): () => void {
    const key = OffsetTracker.key(topic, partition);
    const entry: Pending = { nextOffset: BigInt(lastOffset) + 1n, acked: false };
    const pending = this.pending;
    const list = pending.get(key) ?? [];
    list.push(entry);
    pending.set(key, list);
    this.inFlight++;
    return () => {
      if (entry.acked) return;
      entry.acked = true;
      this.inFlight--;
      // Fetched before a rebalance: acknowledged (the consumer's pause counts it), never committed.
      if (pending !== this.pending) return;
      while (list.length > 0 && list[0]?.acked) {
        const done = list.shift() as Pending;
        this.committable.set(key, done.nextOffset);
      }
    };
  }

  /** A rebalance: what was fetched or acknowledged before it is not committed (see above). */
  reset(): void {
    this.pending = new Map();
    this.committable.clear();
  }

  /** Batches fetched but not yet acknowledged. */
  get unacknowledged(): number {
    return this.inFlight;
  }

  /** Offsets ready to commit since the last call (the next offset to read, per Kafka convention). */
  drain(): { topic: string; partition: number; offset: string }[] {
    const out = [...this.committable].map(([key, offset]) => {
      const sep = key.indexOf('\u0000');
      return { topic: key.slice(sep + 1), partition: Number(key.slice(0, sep)), offset: offset.toString() };
    });
    this.committable.clear();
    return out;
  }
}
