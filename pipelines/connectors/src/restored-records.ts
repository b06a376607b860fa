// A restore's records (each key's newest value, in log order) as columns, not a tuple and a Buffer per record.
//
// Why: a restore hands a stage hundreds of thousands of records, and each layer of a stage took its part of them by
// prefix into an array of its own — a tuple and a sliced key string per record and layer, plus a Buffer view per
// value, all alive until the restore ended. bench:cardinality's restore spent a quarter of its time collecting that
// garbage (docs/benchmarks-journal.md). Here the records are a key column and, per value, the buffer it lies in and
// where; a layer's share is a list of record numbers and how many of the key's leading characters it has stripped,
// so the one key string a store keeps is cut once, at the end, and no value needs a view of its own.
//
// Still an Iterable of [key, value] tuples (made one at a time, as they are read): a task that does not look for the
// columns reads it as it read an array.

/** A growable Int32Array. */
class Ints {
  a = new Int32Array(1024);
  n = 0;

  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(2 * this.a.length);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }

  done(): Int32Array {
    return this.a.subarray(0, this.n);
  }
}

/** Whether head + tail, from `at`, starts with `prefix` (a prefix that runs past the head), without joining them. */
function joinedStartsWith(head: string, tail: string, at: number, prefix: string): boolean {
  for (let j = 0; j < prefix.length; j++) {
    const k = at + j;
    // Past the tail's end charCodeAt is NaN, equal to nothing.
    const c = k < head.length ? head.charCodeAt(k) : tail.charCodeAt(k - head.length);
    if (c !== prefix.charCodeAt(j)) return false;
  }
  return true;
}

/** No value: the record deletes its key (`bufferOf` -1). */
const NO_VALUE = -1;

/** V: Buffer where no record is a deletion (ChangelogSegments.restore's). */
export class RestoredRecords<V extends Buffer | null = Buffer | null> implements Iterable<[string, V]> {
  private constructor(
    private readonly keys: readonly string[],
    private readonly buffers: readonly Buffer[],
    /**
     * Per buffer, whether the records own it: a copy the restore made for them (ChangelogSegments.restore's slabs and
     * segment copies), which a store may keep whole; else a buffer of the caller's (a fetch, say), of which a store
     * keeps only its own value's bytes.
     */
    private readonly owned: readonly boolean[],
    /** Per record: its value's buffer in `buffers` (NO_VALUE: none), and where the value starts and ends in it. */
    private readonly bufferOf: Int32Array,
    private readonly starts: Int32Array,
    private readonly ends: Int32Array,
    /** The records of this share, by their number in the columns (all of them, in order, when undefined). */
    private readonly picked: Int32Array | undefined,
    /**
     * Per record, the end of its key where the builder was given it apart (RestoredRecordsBuilder.push): the key is then
     * `keys`' head and this tail.
     */
    private readonly tails: readonly (string | undefined)[] | undefined,
    /** Leading characters of every key this share has stripped (the prefixes it was taken by). */
    private readonly skip: number,
  ) {}

  /** `records` as columns: itself if it is one, else its tuples' keys and values (no value copied). */
  static of<V extends Buffer | null>(records: Iterable<[string, V]>): RestoredRecords<V> {
    if (records instanceof RestoredRecords) return records as RestoredRecords<V>;
    const builder = new RestoredRecordsBuilder();
    for (const [key, value] of records) builder.push(key, value, 0, value?.length ?? 0);
    return builder.done<V>();
  }

  /** Records in this share. */
  get length(): number {
    return this.picked ? this.picked.length : this.keys.length;
  }

  private row(i: number): number {
    return this.picked ? (this.picked[i] as number) : i;
  }

  /** Record i's key (the share's prefixes stripped). */
  key(i: number): string {
    const row = this.row(i);
    const head = this.keys[row] as string;
    const tail = this.tails?.[row];
    if (tail === undefined) return this.skip === 0 ? head : head.slice(this.skip);
    // The tail is a string a store already holds (a changelog's bookkeeping keeps a key group by the key alone): a
    // share that cut the head off gives that very string, so that the key index takes it, not a copy of its own.
    if (this.skip === head.length) return tail;
    return this.skip < head.length ? head.slice(this.skip) + tail : tail.slice(this.skip - head.length);
  }

  /** Whether record i's key (the share's prefixes stripped) starts with `prefix`, without cutting it. */
  keyStartsWith(i: number, prefix: string): boolean {
    const row = this.row(i);
    const head = this.keys[row] as string;
    const tail = this.tails?.[row];
    if (tail === undefined || head.length - this.skip >= prefix.length) return head.startsWith(prefix, this.skip);
    return joinedStartsWith(head, tail, this.skip, prefix);
  }

  /** Whether record i's key (the share's prefixes stripped) is `key`, without cutting it. */
  keyIs(i: number, key: string): boolean {
    const row = this.row(i);
    const head = this.keys[row] as string;
    const length = head.length + (this.tails?.[row]?.length ?? 0);
    return length === this.skip + key.length && this.keyStartsWith(i, key);
  }

  /** The buffer record i's value lies in (undefined: the record has no value); see valueStart and valueEnd. */
  buffer(i: number): Buffer | undefined {
    const b = this.bufferOf[this.row(i)] as number;
    return b === NO_VALUE ? undefined : this.buffers[b];
  }

  /** Whether record i's buffer is one these records own (see `owned`): a store may keep it whole. */
  ownsBuffer(i: number): boolean {
    const b = this.bufferOf[this.row(i)] as number;
    return b !== NO_VALUE && this.owned[b] === true;
  }

  valueStart(i: number): number {
    return this.starts[this.row(i)] as number;
  }

  valueEnd(i: number): number {
    return this.ends[this.row(i)] as number;
  }

  /** Record i's value as a Buffer of its own (a view of where it lies), or null. */
  value(i: number): V {
    const buffer = this.buffer(i);
    if (buffer === undefined) return null as V;
    const start = this.valueStart(i);
    const end = this.valueEnd(i);
    return (start === 0 && end === buffer.length ? buffer : buffer.subarray(start, end)) as V;
  }

  /** The records whose keys start with `prefix`, in order, with `prefix` stripped from their keys. */
  within(prefix: string): RestoredRecords<V> {
    const picked = new Ints();
    for (let i = 0; i < this.length; i++) if (this.keyStartsWith(i, prefix)) picked.push(this.row(i));
    return this.share(picked.done(), this.skip + prefix.length);
  }

  private share(picked: Int32Array, skip: number): RestoredRecords<V> {
    return new RestoredRecords<V>(
      this.keys,
      this.buffers,
      this.owned,
      this.bufferOf,
      this.starts,
      this.ends,
      picked,
      this.tails,
      skip,
    );
  }

  *[Symbol.iterator](): Iterator<[string, V]> {
    for (let i = 0; i < this.length; i++) yield [this.key(i), this.value(i)];
  }

  /** Records from their columns (RestoredRecordsBuilder.done). */
  static fromColumns<V extends Buffer | null>(
    keys: string[],
    buffers: Buffer[],
    owned: boolean[],
    bufferOf: Int32Array,
    starts: Int32Array,
    ends: Int32Array,
    tails?: (string | undefined)[],
  ): RestoredRecords<V> {
    return new RestoredRecords<V>(keys, buffers, owned, bufferOf, starts, ends, undefined, tails, 0);
  }
}

/**
 * Appends records to RestoredRecords' columns (for `of`, and for ChangelogSegments.restore, which lays the values in
 * slabs of its own); a run of values in one buffer takes one entry in the buffer list.
 */
export class RestoredRecordsBuilder {
  private readonly keys: string[] = [];
  private readonly buffers: Buffer[] = [];
  private readonly owned: boolean[] = [];
  private readonly bufferOf = new Ints();
  private readonly starts = new Ints();
  private readonly ends = new Ints();
  private tails: (string | undefined)[] | undefined;

  /**
   * A record: its key, and its value where it lies in `buffer` (null: none). With `tail`, the key is `key` followed by
   * `tail`, a string the caller keeps anyway: what `key()` gives in a share that cut `key` off, and no string of the
   * whole key is made (a restore's hundreds of thousands of key groups share one head, the space they are kept in).
   * `owned`: `buffer` is a copy made for these records, which a store may keep whole (RestoredRecords.ownsBuffer).
   */
  push(key: string, buffer: Buffer | null, start: number, end: number, tail?: string, owned = false): void {
    if (tail !== undefined) {
      this.tails ??= [];
      while (this.tails.length < this.keys.length) this.tails.push(undefined);
      this.tails.push(tail);
    }
    this.keys.push(key);
    if (buffer === null) {
      this.bufferOf.push(NO_VALUE);
      this.starts.push(0);
      this.ends.push(0);
      return;
    }
    // A run of values in one buffer takes one entry; so does a run that says the same of owning it.
    const last = this.buffers.length - 1;
    if (this.buffers[last] !== buffer || this.owned[last] !== owned) {
      this.buffers.push(buffer);
      this.owned.push(owned);
    }
    this.bufferOf.push(this.buffers.length - 1);
    this.starts.push(start);
    this.ends.push(end);
  }

  /** The records (V: Buffer when none pushed was a deletion). */
  done<V extends Buffer | null = Buffer | null>(): RestoredRecords<V> {
    return RestoredRecords.fromColumns<V>(
      this.keys,
      this.buffers,
      this.owned,
      this.bufferOf.done(),
      this.starts.done(),
      this.ends.done(),
      this.tails,
    );
  }
}
