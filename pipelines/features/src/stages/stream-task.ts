// What both online feature stages share: a partition's reorder buffer and extractor (FeatureStream), the drop of
// ingest's replayed duplicates, and the checkpoint layout — the stream's records under "stream/", the source
// positions under "sources", and whatever a stage keeps besides (the principal stage's waiting joins).
//
// Idle release (optional, for latency): a held event normally waits until an event `boundMs` newer reaches the
// partition. With `idleRelease`, wall-clock time since the newest event arrived stands in for event time, so a
// quiet partition releases what it holds `boundMs` after the last arrival instead of waiting for more traffic. The
// price: an event arriving later than that (in wall time) behind a released one counts as late, so a live run can
// then differ from a replay of the same log — which pure event time never does within the bound.
import {
  type ChangelogChange,
  decodeOrPoison,
  type PackedState,
  RestoredRecords,
  type SinkRecord,
  type SourceRecord,
  type StatefulTask,
} from '@vigil/connectors';
import { type AccessEvent, accessEventCodec, type TopicCodec } from '@vigil/events';
import type { FeatureExtractor, StateStats } from '../extractor.js';
import type { Role } from '../features/roles.js';
import { type FeatureRow, FeatureStream, GROUP_SPACE } from '../stream.js';
import { SourceDedup } from './source-dedup.js';

const SOURCES = 'sources';
const STREAM = 'stream/';

export interface StreamTaskOptions {
  /** Let the wall clock stand in for event time while the partition idles (see above). Default off. */
  idleRelease?: boolean;
  /** Wall clock, epoch ms (tests move it). */
  now?: () => number;
  /**
   * Whether the task's state is checkpointed (default true). A run that never restores (the demo on the in-memory
   * bus) says false: no state change is tracked or encoded, and drainChanges has nothing to give.
   */
  checkpointed?: boolean;
  /** How its input topic's events are read (the topology's codec for that topic; default accessEventCodec). */
  events?: TopicCodec<AccessEvent>;
}

export abstract class StreamTask<P, T> implements StatefulTask<T> {
  protected readonly stream: FeatureStream<P>;
  protected readonly dedup: SourceDedup;
  /** See StreamTaskOptions.checkpointed. */
  protected readonly checkpointed: boolean;
  /** Reads an input record's event (StreamTaskOptions.events). */
  protected readonly decodeEvent: (value: Buffer) => AccessEvent;
  private readonly now: () => number;
  /** When the newest event time was last raised by an arrival (wall clock), and to what. */
  private newestAt = 0;
  private newest = Number.NEGATIVE_INFINITY;
  readonly tick: ((wallNow: number) => SinkRecord<T>[]) | undefined;

  constructor(
    protected readonly extractor: FeatureExtractor,
    boundMs: number,
    roleOf: (payload: P) => Role,
    stage: string,
    options: StreamTaskOptions = {},
  ) {
    this.stream = new FeatureStream<P>(extractor, boundMs, roleOf);
    this.checkpointed = options.checkpointed !== false;
    this.decodeEvent = (options.events ?? accessEventCodec).decode;
    if (this.checkpointed) this.stream.trackChanges();
    this.dedup = new SourceDedup(stage);
    this.now = options.now ?? Date.now;
    this.tick = options.idleRelease ? (wallNow) => this.idle(wallNow) : undefined;
  }

  /** Turns released rows into the stage's output records. */
  protected abstract emit(rows: FeatureRow<P>[], out: SinkRecord<T>[]): void;

  /** An event arrives: what it makes due goes out through emit(). */
  protected push(event: AccessEvent, payload: P, out: SinkRecord<T>[]): void {
    this.emit(this.stream.push(event, payload), out);
    if (this.stream.newest > this.newest) {
      this.newest = this.stream.newest;
      this.newestAt = this.now();
    }
  }

  private idle(wallNow: number): SinkRecord<T>[] {
    const out: SinkRecord<T>[] = [];
    if (this.stream.held === 0 || wallNow <= this.newestAt) return out;
    this.emit(this.stream.advanceTo(this.newest + (wallNow - this.newestAt)), out);
    this.afterRelease(out);
    return out;
  }

  /** What a stage does after events were released outside a batch (idle release), as at the end of one. */
  protected afterRelease(_out: SinkRecord<T>[]): void {}

  /** The input has ended: every held event is released (StatefulTask.flush). */
  flush(): SinkRecord<T>[] {
    const out: SinkRecord<T>[] = [];
    this.emit(this.stream.flush(), out);
    return out;
  }

  get held(): number {
    return this.stream.held;
  }

  /** Events that arrived later than the bound (StatefulTask.late). */
  late(): number {
    return this.stream.late;
  }

  get duplicates(): number {
    return this.dedup.duplicates;
  }

  /** The feature state this task holds: keys, estimated bytes, evictions by cause. */
  stateStats(): StateStats {
    return this.extractor.stateStats();
  }

  /** The partition moved away: its state's bytes go back to the process's state budget. */
  close(): void {
    this.extractor.release();
  }

  abstract process(records: SourceRecord[]): SinkRecord<T>[];

  private poisoned: { record: SourceRecord; detail: string }[] = [];
  private readonly setAside = (record: SourceRecord, detail: string) => {
    this.poisoned.push({ record, detail });
  };

  /**
   * Decodes a record, or sets it aside as poison (see @vigil/connectors' poison.ts) for the processor to dead-letter.
   */
  protected decode<V>(record: SourceRecord, decode: (value: Buffer) => V): V | undefined {
    return decodeOrPoison(record, decode, this.setAside);
  }

  drainPoison(): { record: SourceRecord; detail: string }[] {
    const out = this.poisoned;
    this.poisoned = [];
    return out;
  }

  /** A stage's own state changes, as changelog records (keys must not start with "stream/" or be "sources"). */
  protected drainOwn(): [string, Buffer | null][] {
    return [];
  }

  /** Takes a changelog record of the stage's own state; returns false for keys that are not its own. */
  protected restoreOwn(_key: string, _value: Buffer): boolean {
    return false;
  }

  /**
   * The extractor's key groups, and a stage's own keyed records (packsOwn), go into changelog segments (see
   * @vigil/connectors' changelog-segments.ts).
   */
  readonly packedState: PackedState = {
    packs: (key) => (key.startsWith(STREAM) ? this.stream.packs(key.slice(STREAM.length)) : this.packsOwn(key)),
    current: (key) => (key.startsWith(STREAM) ? this.stream.encoded(key.slice(STREAM.length)) : this.currentOwn(key)),
    space: STREAM + GROUP_SPACE,
  };

  /** Whether one of the stage's own changelog keys may be packed into segments. */
  protected packsOwn(_key: string): boolean {
    return false;
  }

  /** A packable own key's record as it stands now (null: gone). */
  protected currentOwn(_key: string): Buffer | null {
    return null;
  }

  drainChanges(): ChangelogChange[] {
    const out = this.stream.drainChanges(STREAM);
    out.push(...this.drainOwn());
    const sources = this.dedup.drain();
    if (sources) out.push([SOURCES, sources]);
    return out;
  }

  restore(records: Iterable<[string, Buffer | null]>): void {
    const all = RestoredRecords.of(records);
    // The stream's records (nearly all of them) are taken as a share, without a key or a value cut for each.
    for (let i = 0; i < all.length; i++) {
      if (all.keyStartsWith(i, STREAM)) continue;
      const value = all.value(i);
      if (value === null) continue;
      if (all.keyIs(i, SOURCES)) this.dedup.restore(value);
      else this.restoreOwn(all.key(i), value);
    }
    this.stream.restore(all.within(STREAM));
    // Idle release counts from here: the held events it restored go out after the bound of quiet, as they would
    // have in the task that held them, not only once new traffic comes.
    this.newest = this.stream.newest;
    this.newestAt = this.now();
  }
}
