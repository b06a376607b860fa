// Features over a stream of events: a reorder buffer (bounded out-of-orderness) in front of the extractor, so the
// vectors depend only on the events, not on the order in which shippers, partitions or instances delivered them.
// Used by the offline path (`vigil features`, and training) and, one per keyed partition, by the online stage,
// which carries its delivery bookkeeping through the buffer as each event's payload.
import type { AccessEvent } from '@vigil/events';
import type { FeatureExtractor } from './extractor.js';
import { ReorderBuffer } from './state/reorder-buffer.js';

export interface FeatureRow<P = undefined> {
  event: AccessEvent;
  vector: Float64Array;
  payload: P;
}

interface Held<P> {
  event: AccessEvent;
  payload: P;
}

export class FeatureStream<P = undefined> {
  private readonly buffer: ReorderBuffer<Held<P>>;

  constructor(
    readonly extractor: FeatureExtractor,
    boundMs: number,
  ) {
    this.buffer = new ReorderBuffer(boundMs);
  }

  /** Events arriving later than the bound (counted at their key's newest time). */
  get late(): number {
    return this.buffer.late;
  }

  /** Adds an event; returns the vectors of the events now due, in event-time order. */
  push(event: AccessEvent, payload?: P): FeatureRow<P>[] {
    return this.extract(this.buffer.push(event.ts, event.request_id, { event, payload: payload as P }));
  }

  flush(): FeatureRow<P>[] {
    return this.extract(this.buffer.flush());
  }

  private extract(held: Held<P>[]): FeatureRow<P>[] {
    return held.map((h) => ({ event: h.event, payload: h.payload, vector: this.extractor.extract(h.event) }));
  }
}
