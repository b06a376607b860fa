// Changelog segments: many keys' state in one Kafka record on a compacted changelog, with compaction's meaning kept.
//
// Why: a feature stage changes about two keys per event, and one changelog record per key was 3.77 Kafka records
// per event — the largest share of the live path's client cost, which is per record (issue 17, lever 3). Packing a
// checkpoint's changes into records of MAX_SEGMENT_BYTES makes that a few records per checkpoint.
//
// The catch: Kafka compacts by record key, keeping the latest record per key. A record holding many keys is not
// superseded when one of its keys changes again, so the processor keeps the compaction itself, the way a
// log-structured store does (Bitcask's merge, LevelDB's log, Kafka's own cleaner):
// - Each checkpoint's packable changes go into new segments `$seg/<writer>/<n>`, each written once. <writer> is new
//   at every restore: at least once there is no fencing at a take-over, and a partition's old owner may still write
//   after the new one restored; their segments must not overwrite each other's. Order is the
//   log's order, not the names'. (What such a late segment can still do, at least once only: the new owner does not
//   know it, so a key it holds may come back after the new owner deleted it — stale state that the key's event-time
//   TTL expires — until the next restore learns of the segment. Per-key records had the same window until the key's
//   next write.)
// - A key's newest entry is live; an entry superseded by a later one is stale. A segment with no live entry is
//   tombstoned, and Kafka's compaction then removes it.
// - A deletion (the task dropped the key) is an entry too, needed only while an older record may still hold the key:
//   it is dropped when its segment becomes the oldest (and no plain record of an older changelog is left).
// - So that the log stays within twice its live values (Kafka's min.cleanable.dirty.ratio, 0.5), the oldest
//   segment's live values are copied forward — written again with the task's current value — and the oldest is then
//   tombstoned. The current value is what this checkpoint records anyway, so a copy never goes back in time. A
//   checkpoint copies at most COPY_FLOOR entries or twice its own, so one checkpoint never rewrites the whole log.
// - Tombstones go out one checkpoint after the segment died: the records that superseded it are durable by then even
//   at least once, where a checkpoint's records are not written all or nothing.
// Restore reads the changelog's latest record per key in log order, expands segments in place and rebuilds this
// bookkeeping, so a rewound or moved partition carries on exactly. Keys a task does not offer for packing (offsets,
// buffers with their own compaction) and every key of a task without `packedState` stay one record each, as before;
// a packable key found as a plain record (a changelog written before segments) is copied into a segment at the first
// checkpoint and its plain record tombstoned at the next.
//
// Segment layout (big-endian): u8 version (1), u32 count, then per entry u32 key length, key (UTF-8), i32 value
// length (-1: deleted), value.
import { randomBytes } from 'node:crypto';
import { grown, KeyTable, NOT_ASCII, objectBytes, stringBytes, typedArrayBytes } from '@vigil/core';
import { type RestoredRecords, RestoredRecordsBuilder } from '../restored-records.js';

/** Changelog keys of segments; a task's own keys never start with "$". */
export const SEGMENT_PREFIX = '$seg/';
const VERSION = 1;
/** Most bytes of entries in one segment: well under Kafka's default max.message.bytes (1 MiB). */
export const MAX_SEGMENT_BYTES = 256 * 1024;
/** Stale entries the log may hold beyond twice its live values before the oldest segment is cleaned. */
const DEFAULT_SLACK = 4096;
/** Entries one write's cleaning may copy forward, at the least (else twice what the checkpoint itself writes). */
const COPY_FLOOR = 4096;
/** A slot's tag in the key table: its key is the whole changelog key, or the key with the space cut off. */
const WHOLE = 0;
const IN_SPACE = 1;
/** `newest` of a free slot. */
const FORGOTTEN = -(2 ** 31);
/**
 * Segment ids are numbered from 0 at each start or restore and kept in 32 bits: a checkpoint writes a few segments,
 * so even one a second takes decades to get here. Past it the checkpoint fails, the processor rewinds the partition,
 * and its restore numbers them from 0 again.
 */
const MAX_SEGMENT_ID = 2 ** 31 - 2;

/** What a task offers for packing (StatefulTask.packedState). */
export interface PackedState {
  /** Whether this changelog key's record may go into a segment. */
  packs(key: string): boolean;
  /** The key's state now, encoded as drainChanges encodes it; null when the task no longer holds it. */
  current(key: string): Buffer | null;
  /**
   * The prefix most packable keys share (optional; a feature stage's key groups). The bookkeeping keeps such a key
   * without it: the key the task holds itself, when a change names it (ChangelogChange), so that the bookkeeping
   * holds no string of its own for a key the task still holds.
   */
  readonly space?: string;
}

/**
 * One change a task's drainChanges gives: the changelog key, the value (null: the key is deleted) and, when the key is
 * its packed state's `space` followed by a key the task holds, that key (the very string: ChangelogSegments keeps it
 * instead of a copy of the whole key).
 */
export type ChangelogChange = [key: string, value: Buffer | null, inSpace?: string];

interface Segment {
  /** This bookkeeping's own number for it, in log order. */
  id: number;
  /** Its changelog key. */
  name: string;
  /**
   * The slot (ChangelogSegments.keys) of every key with an entry in the segment, in entry order: a list while the
   * segment is written or restored, then sealed into 4 bytes an entry (a list of small numbers takes 8, grown by half).
   */
  keys: number[] | Int32Array;
  /** Entries that are their key's newest value. */
  values: number;
  /** Deletions that are their key's newest entry (still needed while anything older may hold the key). */
  deletions: number;
}

/** A byte budget the bookkeeping charges what it holds to (the feature stages' StateBudget has this shape). */
export interface ByteBudget {
  charge(bytes: number): void;
  release(bytes: number): void;
}

export interface SegmentStats {
  segments: number;
  /** Entries in the segments the log holds. */
  entries: number;
  /** Of those, the live values (each its key's newest entry). */
  live: number;
  /** Entries written again by the cleaner, since this bookkeeping started. */
  copied: number;
  /** Segments whose live-value count the cleaner found wrong and mended (0 unless the bookkeeping has a bug). */
  mended: number;
}

export class ChangelogSegments {
  /** Segments in the log, oldest first. */
  private readonly segments = new Map<number, Segment>();
  // Each key the log holds an entry of has a slot (`keys`, a KeyTable): its name once (a segment lists its keys by
  // slot, so an entry superseded long ago costs a number, not a string of its own) and where its newest entry is (the
  // segment's id, negative (-id - 1) for a deletion). A slot is freed with the key's last entry. A deleted key is
  // detached at once: its slot stays, with its deletion, until that segment is the oldest, but it is found no more and
  // its string is let go — a wave's evicted keys were half the bookkeeping's slots, and each kept its string (~50
  // bytes). Nothing needs to find one: a key that comes back takes a new slot, and no deletion is written for a key
  // the log holds no value of. A key in the packed
  // state's space is kept without it (tagged IN_SPACE): the string the task holds for it, not a copy of the whole key
  // — which the key's first write to Kafka turns into one (a joined string is copied flat when it is encoded), ~100
  // bytes a key that the task's own key string already says. A restore finds each entry's slot from the key's bytes
  // (most keys have more than one entry in the log) and makes a string only for a key's first.
  private readonly keys = new KeyTable();
  /** PackedState.space, from the first write or restore that gives one. */
  private space: string | undefined;
  /** Per slot: the segment id of its newest entry, -id - 1 for a deletion, FORGOTTEN for a free slot. */
  private newest = new Int32Array(1024);
  private nextId = 0;
  private entries = 0;
  private values = 0;
  private copied = 0;
  private mended = 0;
  /** Segments whose last live entry was superseded since the last settle. */
  private emptied: Segment[] = [];
  /** Segments that died (their names): tombstoned at the next write. */
  private dead: string[] = [];
  /** This writer's part of the names of the segments it writes (64 random bits: writers never collide). */
  private readonly writer = randomBytes(8).toString('hex');
  private written = 0;
  /** Packable keys found as plain records at restore: copied into a segment, then their records tombstoned. */
  private plain: string[] = [];
  private plainTombstones: string[] = [];
  private budget: ByteBudget | undefined;
  /** What `budget` was last charged. */
  private charged = 0;

  constructor(private readonly slack = DEFAULT_SLACK) {}

  /**
   * Estimated bytes of this bookkeeping on the heap: each slot's place in the key table and its newest entry, each
   * entry's place in its segment's sealed list (4 bytes), and each segment's object, name and list. A live key in the
   * space is kept as the task's own string, so none of it is this bookkeeping's; a live key outside it (a waiting
   * join's: few) is not counted either; a deleted key's string is let go (detach). A wave of new keys grows this as it
   * grows the state: every key the state evicts keeps its slot while its deletion is the newest entry, until the
   * cleaner retires the segment.
   */
  get bytes(): number {
    // Whole bytes: the budget and vigil_state_bytes count bytes.
    return Math.ceil(
      this.keys.bytes +
        this.newest.byteLength +
        4 * this.entries +
        this.segments.size * (objectBytes(5) + stringBytes(SEGMENT_PREFIX.length + 24) + typedArrayBytes(0)),
    );
  }

  /**
   * Charges this bookkeeping to `budget` (the state budget its task's stores share) from now on, and after every
   * write. The stores make room for it as they grow: while the budget is over, each new or grown entry evicts up to
   * twice its growth (keyed-state.ts), so an overshoot is worked off by the traffic after it. Charged when a write
   * ends, not as each entry is added: a checkpoint's timing (wall clock) moves when the stores see it, so under a
   * full budget which keys are evicted depends on it — as it already depends on how the tasks sharing the budget
   * interleave (state-budget.ts).
   */
  useBudget(budget: ByteBudget): void {
    this.release();
    this.budget = budget;
    this.recharge();
  }

  /** Gives what this bookkeeping charged back to its budget (its partition moved away or was rewound). */
  release(): void {
    this.budget?.release(this.charged);
    this.charged = 0;
    this.budget = undefined;
  }

  private recharge(): void {
    if (!this.budget) return;
    const bytes = this.bytes;
    this.budget.charge(bytes - this.charged);
    this.charged = bytes;
  }

  /**
   * The state a changelog describes, segments expanded (from the latest record per key, in log order, as
   * readChangelog gives it), and the bookkeeping that goes on writing to it. Each value is a copy the caller may keep:
   * the values lie side by side in slabs (RESTORE_SLAB_BYTES), so that a restored key keeps neither the 256 KiB segment
   * it came in nor a Buffer of its own.
   */
  static restore(
    log: Iterable<[string, Buffer]>,
    packed: Pick<PackedState, 'packs' | 'space'> | undefined,
    slack?: number,
  ): { state: RestoredRecords<Buffer>; segments: ChangelogSegments } {
    const segments = new ChangelogSegments(slack);
    segments.useSpace(packed?.space);
    const space = packed?.space;
    const spaceBytes = space === undefined ? undefined : Buffer.from(space, 'utf8');
    // Where each key's newest value lies and when it last appeared (the state comes out in that order, as a Map re-set
    // at every appearance would give it), by the slot the bookkeeping gives its key anyway: the segment's number in
    // `buffers` (-1: none, a deletion or a later plain record), the value's start and end. Numbers in columns, not a
    // tuple and a view per entry: a changelog after a wave holds about two entries for every live one. The few plain
    // records are kept in a Map.
    const buffers: Buffer[] = [];
    const newest = new RestoreColumns();
    const plain = new Map<string, [at: number, value: Buffer]>();
    let at = 0;
    for (const [key, value] of log) {
      if (!key.startsWith(SEGMENT_PREFIX)) {
        const slot = segments.find(key);
        if (slot !== undefined) newest.segment[slot] = -1;
        plain.delete(key);
        plain.set(key, [at++, value]);
        if (packed?.packs(key)) segments.plain.push(key);
        continue;
      }
      const segment = segments.begin(key);
      const b = buffers.push(value) - 1;
      forEachSegmentEntry(value, (keyAt, keyEnd, from, end) => {
        const slot = segments.addRestored(segment, value, keyAt, keyEnd, end >= 0, spaceBytes);
        newest.set(slot, end >= 0 ? b : -1, from, end, at++);
        if (plain.size > 0) plain.delete(value.toString('utf8', keyAt, keyEnd));
      });
      segments.seal(segment);
    }
    // Positions in the log → the slot whose newest entry is there (-1: none, or a plain record's); and the bytes of
    // newest values each segment holds (Slabs: which segments are copied whole).
    const bySlot = new Int32Array(at).fill(-1);
    const live = new Float64Array(buffers.length);
    for (let slot = 0; slot < segments.keys.slots; slot++) {
      const b = newest.segment[slot] as number;
      if (b < 0) continue;
      bySlot[newest.lastAt[slot] as number] = slot;
      live[b] = (live[b] as number) + (newest.end[slot] as number) - (newest.from[slot] as number);
    }
    const plainAt = new Map<number, [string, Buffer]>();
    for (const [key, [i, v]] of plain) plainAt.set(i, [key, v]);
    const slabs = new Slabs(new RestoredRecordsBuilder(), buffers, live);
    for (let i = 0; i < at; i++) {
      const slot = bySlot[i] as number;
      if (slot >= 0) {
        const b = newest.segment[slot] as number;
        const from = newest.from[slot] as number;
        const end = newest.end[slot] as number;
        // A key group as the bookkeeping keeps it (without the space), given as the record key's tail: the stores' key
        // index takes the same string, and no string of the whole key is made.
        if (segments.keys.tagAt(slot) === IN_SPACE)
          slabs.copyEntry(b, from, end, space as string, segments.keys.keyAt(slot));
        else slabs.copyEntry(b, from, end, segments.keys.keyAt(slot) as string);
        continue;
      }
      const record = plainAt.get(i);
      if (record) slabs.copy(record[0], record[1], 0, record[1].length);
    }
    const state = slabs.done();
    segments.settle();
    return { state, segments };
  }

  /**
   * This checkpoint's changelog records for `changes`: packable keys in segments (with the cleaner's copies), the
   * rest as they are, and the tombstones the previous write left due.
   */
  write(changes: readonly ChangelogChange[], packed: PackedState | undefined): [string, Buffer | null][] {
    // First: it refuses a space other than the one the keys are kept by, before this write has changed anything.
    if (packed) this.useSpace(packed.space);
    const out: [string, Buffer | null][] = [];
    // Plain records' tombstones first: until they are durable, no deletion that hides one may go.
    for (const key of this.plainTombstones) out.push([key, null]);
    for (const name of this.dead) out.push([name, null]);
    this.dead = [];
    this.plainTombstones = [];
    if (!packed) {
      for (const [key, value] of changes) out.push([key, value]);
      return out;
    }
    const writer = new SegmentWriter(this, out);
    // Plain records first (every one, in case the segments hold an older entry): a change below then supersedes it.
    for (const key of this.plain) writer.put(key, packed.current(key), true);
    this.plainTombstones = this.plain;
    this.plain = [];
    let own = 0;
    for (const [key, value, inSpace] of changes) {
      if (!packed.packs(key)) out.push([key, value]);
      else if (writer.put(key, value, false, inSpace)) own++;
    }
    this.clean(writer, packed, Math.max(COPY_FLOOR, 2 * own));
    writer.finish();
    this.settle();
    this.recharge();
    return out;
  }

  /** The cleaner: the oldest segment's live values written again (at most `budget`) until the log is within its bound. */
  private clean(writer: SegmentWriter, packed: PackedState, budget: number) {
    let copied = 0;
    for (;;) {
      this.settle();
      const oldest = this.oldest();
      if (
        oldest === undefined ||
        oldest.id >= writer.firstId ||
        copied >= budget ||
        this.entries <= 2 * this.values + this.slack
      )
        break;
      for (const slot of oldest.keys) {
        if (this.newest[slot] !== oldest.id) continue;
        const kept = this.keys.keyAt(slot) as string;
        const inSpace = this.keys.tagAt(slot) === IN_SPACE ? kept : undefined;
        const key = inSpace === undefined ? kept : (this.space as string) + kept;
        writer.put(key, packed.current(key), true, inSpace);
        copied++;
      }
      // Every key whose newest value was in it has just been written again, so it holds none: a count that says
      // otherwise is wrong, and believing it would keep this loop on the same segment for ever (no copy, no settle).
      // The slots' newest entries are what a restore would find, so they win; the count is mended and reported.
      if (oldest.values !== 0) this.mend(oldest);
      // Only deletions can live in it now; it is the oldest, so they go (settle), unless plain records are pending.
      if (oldest.deletions > 0 && this.plainPending) break;
    }
    this.copied += copied;
  }

  get stats(): SegmentStats {
    return {
      segments: this.segments.size,
      entries: this.entries,
      live: this.values,
      copied: this.copied,
      mended: this.mended,
    };
  }

  private get plainPending(): boolean {
    return this.plain.length > 0 || this.plainTombstones.length > 0;
  }

  private oldest(): Segment | undefined {
    return this.segments.values().next().value;
  }

  /** Starts the next segment, restored (`name`) or written. */
  begin(name = `${SEGMENT_PREFIX}${this.writer}/${this.written++}`): Segment {
    if (this.nextId > MAX_SEGMENT_ID)
      throw new Error('changelog bookkeeping ran out of segment ids (a restore of the partition numbers them from 0)');
    const segment: Segment = { id: this.nextId++, name, keys: [], values: 0, deletions: 0 };
    this.segments.set(segment.id, segment);
    return segment;
  }

  /** Keys in `space` are kept without it from now on; only while the bookkeeping is empty, or the space it has. */
  private useSpace(space: string | undefined) {
    if (space === this.space) return;
    if (this.keys.slots > 0)
      throw new Error(`changelog bookkeeping keeps its keys by the space it began with (${String(this.space)})`);
    this.space = space;
  }

  /**
   * The key without the space, as the bookkeeping keeps it: `given` (ChangelogChange's) or cut here; undefined for a
   * key outside the space, and for every key while there is no space (a task that names one without it is taken by
   * its whole key).
   */
  private inSpaceKey(key: string, given: string | undefined): string | undefined {
    const space = this.space;
    if (space === undefined) return undefined;
    return given ?? (key.startsWith(space) ? key.slice(space.length) : undefined);
  }

  /** The key's slot, if the log holds an entry of it; `given`: the key without the space, when the caller has it. */
  private find(key: string, given?: string): number | undefined {
    const inSpace = this.inSpaceKey(key, given);
    const slot = inSpace === undefined ? this.keys.slotOf(key, WHOLE) : this.keys.slotOf(inSpace, IN_SPACE);
    return slot < 0 ? undefined : slot;
  }

  /**
   * Records that `key`'s newest entry is in `segment` (a value, else a deletion), superseding its previous one; returns
   * the key's slot. `inSpace`: the key without the space (ChangelogChange), when the caller has it.
   */
  add(segment: Segment, key: string, isValue: boolean, given?: string): number {
    const inSpace = this.inSpaceKey(key, given);
    const tag = inSpace === undefined ? WHOLE : IN_SPACE;
    const name = inSpace ?? key;
    let slot = this.keys.slotOf(name, tag);
    if (slot < 0) {
      slot = this.newSlot(name, tag);
    } else {
      this.supersede(slot);
    }
    this.enter(segment, slot, isValue);
    return slot;
  }

  /**
   * add() for a restored segment's entry, its key at bytes[keyAt, keyEnd): the slot found from the bytes, and a
   * string made only for a key the log has not given before (`space`: PackedState.space's bytes).
   */
  private addRestored(
    segment: Segment,
    bytes: Buffer,
    keyAt: number,
    keyEnd: number,
    isValue: boolean,
    space: Buffer | undefined,
  ): number {
    const inSpace = space !== undefined && startsWithBytes(bytes, keyAt, keyEnd, space);
    const tag = inSpace ? IN_SPACE : WHOLE;
    const from = inSpace ? keyAt + (space as Buffer).length : keyAt;
    let slot = this.keys.slotOfBytes(bytes, from, keyEnd, tag);
    // A key in the space is its own string, decoded apart: a cut of the whole key would keep the whole alive. Bytes
    // the table found all ASCII (-1, not NOT_ASCII) read as Latin-1: the same string, without UTF-8's decoder.
    const name = slot < 0 ? bytes.toString(slot === NOT_ASCII ? 'utf8' : 'latin1', from, keyEnd) : undefined;
    if (slot === NOT_ASCII) slot = this.keys.slotOf(name as string, tag);
    if (slot < 0) slot = this.newSlot(name as string, tag);
    else this.supersede(slot);
    this.enter(segment, slot, isValue);
    return slot;
  }

  private newSlot(name: string, tag: number): number {
    return this.keys.add(name, tag);
  }

  /** The segment's entries are all in: its list of slots becomes a typed array of its length. */
  seal(segment: Segment): void {
    if (Array.isArray(segment.keys)) segment.keys = Int32Array.from(segment.keys);
  }

  /**
   * The slot's newest entry, a value (a deleted key is found no more: enter), is superseded: its segment holds one
   * live value less.
   */
  private supersede(slot: number) {
    const old = this.segments.get(this.newest[slot] as number);
    this.values--;
    if (old) {
      old.values--;
      if (old.values + old.deletions === 0) this.emptied.push(old);
    }
  }

  /** The slot's newest entry is now in `segment`. */
  private enter(segment: Segment, slot: number, isValue: boolean) {
    if (slot >= this.newest.length)
      this.newest = grown(this.newest, Math.max(slot + 1, Math.ceil(1.5 * this.newest.length)));
    if (!isValue) {
      this.newest[slot] = -segment.id - 1;
      segment.deletions++;
      // Found no more: nothing looks a deleted key up again. A key that comes back takes a new slot (by the task's new
      // string), and this one stays, with its deletion, until its segment is the oldest.
      this.keys.detach(slot);
    } else {
      this.newest[slot] = segment.id;
      segment.values++;
      this.values++;
    }
    (segment.keys as number[]).push(slot);
    this.entries++;
  }

  /** Whether a deletion of `key` needs writing: only while the log holds a value of it. */
  holds(key: string, inSpace?: string): boolean {
    const slot = this.find(key, inSpace);
    return slot !== undefined && (this.newest[slot] as number) >= 0;
  }

  get idToWrite(): number {
    return this.nextId;
  }

  /**
   * Segments with no live entry die (tombstoned at the next write). So does the oldest once only deletions live in
   * it: nothing older is left for them to hide — unless an older changelog's plain records still are.
   */
  private settle() {
    for (const segment of this.emptied) if (segment.values + segment.deletions === 0) this.kill(segment);
    this.emptied = [];
    for (let oldest = this.oldest(); oldest !== undefined && oldest.values === 0; oldest = this.oldest()) {
      if (oldest.deletions > 0) {
        if (this.plainPending) return;
        // Every entry of such a key is in this segment (its newest is, and this is the oldest): the slot is free.
        for (const slot of oldest.keys) if (this.newest[slot] === -oldest.id - 1) this.forget(slot);
        oldest.deletions = 0;
      }
      this.kill(oldest);
    }
  }

  /**
   * A segment whose live-value count disagrees with its slots (no key's newest value is in it, the count says some
   * are): the count is set to what the slots say, the log's total to the sum over its segments, and the mend counted
   * (stats.mended). Never seen; kept so that a bookkeeping bug costs a counted mend, not a stage that stops in its
   * checkpoint. Only a count too high can be seen here: one too low reaches 0 while the segment still holds a live
   * value, and settle() retires it — the property tests check that no write ever mends.
   */
  private mend(segment: Segment) {
    let live = 0;
    for (const slot of segment.keys) if (this.newest[slot] === segment.id) live++;
    segment.values = live;
    let values = 0;
    for (const s of this.segments.values()) values += s.values;
    this.values = values;
    this.mended++;
    if (segment.values + segment.deletions === 0) this.emptied.push(segment);
  }

  private forget(slot: number) {
    this.keys.remove(slot);
    this.newest[slot] = FORGOTTEN;
  }

  private kill(segment: Segment) {
    if (!this.segments.delete(segment.id)) return;
    this.entries -= segment.keys.length;
    this.dead.push(segment.name);
  }
}

/** Fills segments of at most MAX_SEGMENT_BYTES with one write's entries. */
class SegmentWriter {
  private segment: Segment | undefined;
  private entries: [string, Buffer | null][] = [];
  private bytes = 0;
  /** The first segment id this write uses: the cleaner leaves these alone. */
  readonly firstId: number;

  constructor(
    private readonly log: ChangelogSegments,
    private readonly out: [string, Buffer | null][],
  ) {
    this.firstId = log.idToWrite;
  }

  /**
   * An entry for `key` (`inSpace`: ChangelogChange's); a deletion only when the log holds a value of the key (or
   * `always`). False: none needed.
   */
  put(key: string, value: Buffer | null, always: boolean, inSpace?: string): boolean {
    if (value === null && !always && !this.log.holds(key, inSpace)) return false;
    const size = 8 + Buffer.byteLength(key) + (value?.length ?? 0);
    if (this.segment === undefined || this.bytes + size > MAX_SEGMENT_BYTES) {
      this.flush();
      this.segment = this.log.begin();
    }
    this.log.add(this.segment, key, value !== null, inSpace);
    this.entries.push([key, value]);
    this.bytes += size;
    return true;
  }

  finish() {
    this.flush();
  }

  private flush() {
    if (this.segment === undefined || this.entries.length === 0) return;
    this.out.push([this.segment.name, encodeSegment(this.entries)]);
    this.log.seal(this.segment);
    this.entries = [];
    this.bytes = 0;
    this.segment = undefined;
  }
}

export function encodeSegment(entries: readonly [string, Buffer | null][]): Buffer {
  const keys = entries.map(([key]) => Buffer.from(key, 'utf8'));
  let size = 5;
  entries.forEach(([, value], i) => {
    size += 8 + (keys[i] as Buffer).length + (value?.length ?? 0);
  });
  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt8(VERSION, 0);
  at = out.writeUInt32BE(entries.length, at);
  entries.forEach(([, value], i) => {
    const key = keys[i] as Buffer;
    at = out.writeUInt32BE(key.length, at);
    at += key.copy(out, at);
    at = out.writeInt32BE(value === null ? -1 : value.length, at);
    if (value) at += value.copy(out, at);
  });
  return out;
}

/** A segment's entries (values are views of `segment`); throws on anything that is not one. */
export function decodeSegment(segment: Buffer): [string, Buffer | null][] {
  const out: [string, Buffer | null][] = [];
  forEachSegmentEntry(segment, (keyAt, keyEnd, at, end) => {
    out.push([segment.toString('utf8', keyAt, keyEnd), end < 0 ? null : segment.subarray(at, end)]);
  });
  return out;
}

/**
 * Walks a segment's entries without a string, a view or a tuple each: where its key and its value lie in `segment`
 * (value end -1: a deletion). Throws on anything that is not a segment.
 */
export function forEachSegmentEntry(
  segment: Buffer,
  entry: (keyAt: number, keyEnd: number, at: number, end: number) => void,
): void {
  const need = (at: number, n: number) => {
    if (at + n > segment.length) throw new Error('changelog segment truncated');
  };
  need(0, 5);
  if (segment.readUInt8(0) !== VERSION)
    throw new Error(`changelog segment version ${segment.readUInt8(0)} is not ${VERSION}`);
  const count = segment.readUInt32BE(1);
  let at = 5;
  for (let i = 0; i < count; i++) {
    need(at, 4);
    const keyLength = segment.readUInt32BE(at);
    need(at + 4, keyLength + 4);
    const keyAt = at + 4;
    at += 4 + keyLength;
    const valueLength = segment.readInt32BE(at);
    at += 4;
    if (valueLength < 0) {
      entry(keyAt, keyAt + keyLength, at, -1);
      continue;
    }
    need(at, valueLength);
    entry(keyAt, keyAt + keyLength, at, at + valueLength);
    at += valueLength;
  }
  if (at !== segment.length) throw new Error('changelog segment has trailing bytes');
}

/** Whether bytes[at, end) starts with `prefix`. */
function startsWithBytes(bytes: Buffer, at: number, end: number, prefix: Buffer): boolean {
  if (end - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

/** A restore's per-slot columns: where each key's newest value lies, and its position in the log. */
class RestoreColumns {
  segment = new Int32Array(1024);
  from = new Int32Array(1024);
  end = new Int32Array(1024);
  lastAt = new Int32Array(1024);

  set(slot: number, segment: number, from: number, end: number, at: number) {
    if (slot >= this.segment.length) {
      const n = Math.max(2 * this.segment.length, slot + 1);
      this.segment = grown(this.segment, n);
      this.from = grown(this.from, n);
      this.end = grown(this.end, n);
      this.lastAt = grown(this.lastAt, n);
    }
    this.segment[slot] = segment;
    this.from[slot] = from;
    this.end[slot] = end;
    this.lastAt[slot] = at;
  }
}

/**
 * Bytes of each slab restored values are copied into. A Buffer of its own per value was an object of ~100 bytes per
 * restored key, kept until the key is next used; a slab is one object for the hundreds of values it holds. A slab is
 * freed once none of its values is held: the size of the pool chunks Buffer.from's copies came from (Buffer.poolSize
 * on Node 24), so that a key that stays keeps no more memory beside it than it did.
 */
export const RESTORE_SLAB_BYTES = 64 * 1024;

/** The share of a segment's bytes its newest values must fill for a restore to keep a copy of it whole. */
const WHOLE_SEGMENT_LIVE = 2 / 3;

/**
 * Copies restored values side by side into slabs, as records; a value larger than a quarter slab gets its own.
 *
 * A segment whose newest values fill at least WHOLE_SEGMENT_LIVE of it (most of a compacted log's) is copied once,
 * whole, and its values kept where they lie in the copy: one copy instead of one per value (a tenth of a restore's
 * time went to those copies), for a few bytes per value more held (its entry's key and lengths, and the stale values
 * beside it). The copy is freed once none of its keys still waits to be used (keyed-state.ts): one key that never
 * comes back keeps up to a whole segment, where it kept a 64 KiB slab.
 */
class Slabs {
  private slab = Buffer.alloc(0);
  private used = 0;
  /** Per segment of `segments`: whether it is copied whole. */
  private readonly whole: boolean[];
  /** The whole copy of each segment kept whole, made at its first value. */
  private readonly copies: (Buffer | undefined)[] = [];

  /** `segments`: those the restore read; `live`: the bytes of newest values in each. */
  constructor(
    private readonly records: RestoredRecordsBuilder,
    private readonly segments: readonly Buffer[],
    live: Float64Array,
  ) {
    this.whole = segments.map((segment, b) => (live[b] as number) >= WHOLE_SEGMENT_LIVE * segment.length);
  }

  /** A record whose value lies in segment `b`, from `at` to `end` (copy's key and tail). */
  copyEntry(b: number, at: number, end: number, key: string, tail?: string): void {
    const segment = this.segments[b] as Buffer;
    if (!this.whole[b]) {
      this.copy(key, segment, at, end, tail);
      return;
    }
    let copy = this.copies[b];
    if (copy === undefined) {
      copy = Buffer.allocUnsafeSlow(segment.length);
      segment.copy(copy);
      this.copies[b] = copy;
    }
    this.records.push(key, copy, at, end, tail, true);
  }

  /** A record (RestoredRecordsBuilder.push: its key is `key` and `tail`, where given) with its value copied. */
  copy(key: string, from: Buffer, at: number, end: number, tail?: string): void {
    const n = end - at;
    if (n > RESTORE_SLAB_BYTES / 4) {
      const own = Buffer.allocUnsafeSlow(n);
      from.copy(own, 0, at, end);
      this.records.push(key, own, 0, n, tail, true);
      return;
    }
    if (this.used + n > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(RESTORE_SLAB_BYTES);
      this.used = 0;
    }
    from.copy(this.slab, this.used, at, end);
    this.records.push(key, this.slab, this.used, this.used + n, tail, true);
    this.used += n;
  }

  done(): RestoredRecords<Buffer> {
    return this.records.done<Buffer>();
  }
}
