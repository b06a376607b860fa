// Features over a stream of events: a reorder buffer (bounded out-of-orderness) in front of the extractor, so the
// vectors depend only on the events, not on the order in which shippers, partitions or instances delivered them.
// Used by the offline path (`vigil features`, and training) and, per keyed partition, by the online stage.
import type { AccessEvent } from '@vigil/events';
import type { FeatureExtractor } from './extractor.js';
import { ReorderBuffer } from './state/reorder-buffer.js';

export interface FeatureRow {
  event: AccessEvent;
  vector: Float64Array;
}

export class FeatureStream {
  private readonly buffer: ReorderBuffer<AccessEvent>;

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
  push(event: AccessEvent): FeatureRow[] {
    return this.buffer.push(event.ts, event.request_id, event).map((e) => ({ event: e, vector: this.extractor.extract(e) }));
  }

  flush(): FeatureRow[] {
    return this.buffer.flush().map((e) => ({ event: e, vector: this.extractor.extract(e) }));
  }
}
