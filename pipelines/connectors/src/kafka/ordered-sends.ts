// A partition's outputs on their way to Kafka, at least once: records leave as soon as they are computed, one send
// under way at a time, and what is computed while it is under way goes out together when it ends — Kafka's own
// producer batches the same way (linger while a request is in flight). The batch that computed them does not wait
// for the broker's acknowledgement: a produce round trip per batch, awaited, queued every record behind the other
// partitions' round trips under load (the gateway loop's entity hop, BENCHMARKS.md). One send at a time keeps the
// records in the order they were computed; a send that fails stops every later one (nothing overtakes a lost record),
// and the owner learns of it when it next asks (failure, settle) and rewinds to its last checkpoint.
//
// Whoever commits the input offset calls settle() first: no offset is committed ahead of an output not acknowledged.

/** Outputs by topic, each topic's in the order computed. */
export type Outputs<M> = Map<string, M[]>;

export class OrderedSends<M> {
  private pending: Outputs<M> = new Map();
  private count = 0;
  private sending: Promise<void> | undefined;
  private failed: { error: unknown } | undefined;
  private closed = false;

  constructor(private readonly send: (outputs: Outputs<M>) => Promise<void>) {}

  /** One more output, after every one added before it. */
  add(topic: string, message: M): void {
    let list = this.pending.get(topic);
    if (!list) {
      list = [];
      this.pending.set(topic, list);
    }
    list.push(message);
    this.count++;
  }

  /** Outputs not yet handed to a send. */
  get waiting(): number {
    return this.count;
  }

  /** Why a send failed; nothing is sent after it. */
  get failure(): { error: unknown } | undefined {
    return this.failed;
  }

  /** Takes the outputs not yet handed to a send (to send them some other way: in a transaction, say). */
  take(): Outputs<M> {
    const outputs = this.pending;
    this.pending = new Map();
    this.count = 0;
    return outputs;
  }

  /** Starts sending what waits, unless a send is under way (its end sends what came meanwhile), failed or closed. */
  pump(): void {
    if (this.sending || this.count === 0 || this.failed || this.closed) return;
    const outputs = this.take();
    this.sending = this.send(outputs).then(
      () => {
        this.sending = undefined;
        this.pump();
      },
      (error: unknown) => {
        this.sending = undefined;
        this.failed = { error };
      },
    );
  }

  /**
   * Waits until no send is under way (what a send under way left waiting is sent too); false when a send failed.
   * Outputs added meanwhile are sent by the pump like any other.
   */
  async settle(): Promise<boolean> {
    while (this.sending) await this.sending;
    return this.failed === undefined;
  }

  /** Sends nothing more; waits for a send under way to end (it holds outputs already computed). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.sending) await this.sending;
  }
}
