// What both online feature stages share: a partition's reorder buffer and extractor (FeatureStream), the drop of
// ingest's replayed duplicates, and the checkpoint layout — the stream's records under "stream/", the source
// positions under "sources", and whatever a stage keeps besides (the principal stage's waiting joins).
import type { SinkRecord, SourceRecord, StatefulTask } from '@vigil/connectors';
import type { FeatureExtractor } from '../extractor.js';
import type { Role } from '../features/roles.js';
import { FeatureStream } from '../stream.js';
import { SourceDedup } from './source-dedup.js';

const SOURCES = 'sources';
const STREAM = 'stream/';

export abstract class StreamTask<P, T> implements StatefulTask<T> {
  protected readonly stream: FeatureStream<P>;
  protected readonly dedup: SourceDedup;

  constructor(extractor: FeatureExtractor, boundMs: number, roleOf: (payload: P) => Role, stage: string) {
    this.stream = new FeatureStream<P>(extractor, boundMs, roleOf);
    this.stream.trackChanges();
    this.dedup = new SourceDedup(stage);
  }

  get held(): number {
    return this.stream.held;
  }

  get duplicates(): number {
    return this.dedup.duplicates;
  }

  abstract process(records: SourceRecord[]): SinkRecord<T>[];

  /** A stage's own state changes, as changelog records (keys must not start with "stream/" or be "sources"). */
  protected drainOwn(): [string, Buffer | null][] {
    return [];
  }

  /** Takes a changelog record of the stage's own state; returns false for keys that are not its own. */
  protected restoreOwn(_key: string, _value: Buffer): boolean {
    return false;
  }

  drainChanges(): [string, Buffer | null][] {
    const out = this.stream.drainChanges().map(([k, v]): [string, Buffer | null] => [STREAM + k, v]);
    out.push(...this.drainOwn());
    const sources = this.dedup.drain();
    if (sources) out.push([SOURCES, sources]);
    return out;
  }

  restore(records: Iterable<[string, Buffer]>): void {
    const stream: [string, Buffer][] = [];
    for (const [key, value] of records) {
      if (key === SOURCES) this.dedup.restore(value);
      else if (key.startsWith(STREAM)) stream.push([key.slice(STREAM.length), value]);
      else this.restoreOwn(key, value);
    }
    this.stream.restore(stream);
  }
}
