// A compact binary encoding of feature state for checkpoints. V8's serializer was measured at ~12 µs per small state
// object and JSON at ~7 µs (typed arrays spelled out as number lists); this writes the same values in ~1 µs, and
// stores sliding-window counts sparsely (most buckets are zero). Doubles are written as IEEE 754 (NaN and ±Infinity
// survive), so a restored state is bit-for-bit the state that was saved.
//
// Supported values: undefined, null, booleans, numbers, strings, Buffers, Uint32Array, Float32Array, arrays,
// Map<string|number, value>, plain objects, and SlidingCounts.
//
// Compact form (written since the tags from 14 on; the first form's tags are still read, so a changelog written before
// restores). A wave principal's checkpoint took ~1,000 bytes for one event's worth of state (issue 17: bytes per
// principal, restore speed): field names spelled out with a 4-byte length, every number a double, every window
// length a double. Now:
// - a whole number is a varint (a count: 1 byte; an event time in ms: 6), a number a float32 holds exactly is 4
//   bytes, any other a double;
// - given the record's time (`base`: a keyed record's last-seen time), a whole number at or before it is written as
//   its distance back (an event time a state keeps: 1–3 bytes);
// - a field name in FIELD_NAMES is its one-byte place there, any other is spelled out after a varint length;
// - lengths and counts are varints.
import { ByteReader as Reader, StringInterner, ByteWriter as Writer } from '@vigil/core';
import { SlidingCounts } from './sliding-count.js';

enum Tag {
  Undefined = 0,
  Null = 1,
  False = 2,
  True = 3,
  Number = 4,
  String = 5,
  Bytes = 6,
  Uint32 = 7,
  Float32 = 8,
  Array = 9,
  Map = 10,
  Object = 11,
  Sliding = 12,
  /** SlidingCounts still sparse: shape, newest time, the adds as (time, channel) pairs. */
  SlidingSparse = 13,
  // The compact form's tags. Every tag stays below 0xC0: a keyed record's header starts with a byte above (record-header.ts).
  /** A whole number from 0 to 2^53 − 1: uvarLong. */
  Whole = 14,
  /** A whole number from −(2^53 − 1) to −1: uvarLong of its magnitude. */
  Negative = 15,
  /** A number a float32 holds exactly (not a whole one): 4 bytes. */
  Single = 16,
  /** A whole number at or before the record's `base`, as uvarLong(base − value). */
  Before = 17,
  /** A string: varint length, UTF-8. */
  Text = 18,
  /** An array: varint length, values. */
  List = 19,
  /** A Map: varint size, (key, value) pairs. */
  Dict = 20,
  /** A plain object: varint field count, then each field's name (fieldName) and value. */
  Fields = 21,
  /** A Uint32Array: compactSparse. */
  Uint32s = 22,
  /** A Float32Array: varint count, 4 bytes each. */
  Float32s = 23,
  /** SlidingCounts with buckets: compactShape, then the buckets (compactSparse). */
  Window = 24,
  /** SlidingCounts still sparse: compactShape, its newest time (a number), varint count, the adds (numbers). */
  WindowSparse = 25,
}

/**
 * Field names a checkpoint writes as their place in this list (one byte) instead of spelled out: those of vigil's own
 * states. Append only: a record names a field by its place, so a name's place never changes, and none is removed (a
 * record written with it may still be restored). A name not here is spelled out, so a new field works before it is
 * added.
 */
export const FIELD_NAMES: readonly string[] = [
  // Feature families' states.
  'last',
  'counts',
  'n',
  'hours',
  'recentId',
  'recentAt',
  'client',
  'network',
  'networks',
  'minute',
  'day',
  'today',
  'peak',
  'seen',
  'lastNumericId',
  'known',
  'first',
  'scale',
  'hour',
  'bin',
  'country',
  'lat',
  'lon',
  'fixAt',
  'countries',
  'mean',
  'dev',
  'max',
  'payees',
  'recent',
  'newPayees',
  'risk',
  'riskAt',
  'beforeBurst',
  'burstHourUnusual',
  'burstMinGap',
  'burstMean',
  'burstDev',
  'burstNewPayeeRate',
  'burstAt',
  'failures',
  'users',
  'pending',
  'baseline',
  // The principal stage's waiting requests and their context.
  'ts',
  'request_id',
  'principal',
  'headers',
  'vector',
  'expect',
  'parts',
  'ids',
  'ctx',
  'next',
  'src',
  'at',
  'route',
  'method',
  'status',
  'service',
  'role',
  'v',
  // The reorder buffer's clock; a keyed record written before the fixed header.
  'maxTs',
  'late',
  'arrivals',
  'l',
  'q',
  's',
  'r',
];
/** fieldName's first byte for a name spelled out; a listed name is its place + 1. */
const SPELLED = 0;
const FIELD_CODE = new Map(FIELD_NAMES.map((name, i) => [name, i + 1]));
if (FIELD_CODE.size !== FIELD_NAMES.length || FIELD_NAMES.length >= 0x80)
  throw new Error('FIELD_NAMES must be distinct, fewer than 128 (one-byte codes)');

/** The record's time, when writing or reading a keyed record (Tag.Before); NaN otherwise. */
let base = Number.NaN;

function writeNumber(w: Writer, v: number): void {
  if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
    // Measured back from the record's time when that is shorter (an event time the state keeps).
    if (v <= base && base - v < v) {
      w.u8(Tag.Before);
      w.uvarLong(base - v);
    } else if (v >= 0) {
      w.u8(Tag.Whole);
      w.uvarLong(v);
    } else {
      w.u8(Tag.Negative);
      w.uvarLong(-v);
    }
  } else if (Math.fround(v) === v) {
    w.u8(Tag.Single);
    w.f32(v);
  } else {
    w.u8(Tag.Number);
    w.f64(v);
  }
}

function writeFieldName(w: Writer, name: string): void {
  const code = FIELD_CODE.get(name);
  if (code !== undefined) w.u8(code);
  else {
    w.u8(SPELLED);
    w.vstr(name);
  }
}

function readFieldName(r: Reader): string {
  const code = r.u8();
  if (code === SPELLED) return r.vstr();
  const name = FIELD_NAMES[code - 1];
  if (name === undefined)
    throw new Error(`corrupt feature-state checkpoint (unknown field name ${code} at byte ${r.pos - 1})`);
  return name;
}

function write(w: Writer, v: unknown): void {
  if (v === undefined) w.u8(Tag.Undefined);
  else if (v === null) w.u8(Tag.Null);
  else if (typeof v === 'boolean') w.u8(v ? Tag.True : Tag.False);
  else if (typeof v === 'number') writeNumber(w, v);
  else if (typeof v === 'string') {
    w.u8(Tag.Text);
    w.vstr(v);
  } else if (v instanceof SlidingCounts) {
    writeSliding(w, v);
  } else if (v instanceof Uint32Array) {
    w.u8(Tag.Uint32s);
    writeCompactSparse(w, v);
  } else if (v instanceof Float32Array) {
    // Their bytes as they are (a NaN's payload too), as the first form wrote them.
    w.u8(Tag.Float32s);
    w.uvar(v.length);
    w.raw(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  } else if (v instanceof Uint8Array) {
    w.u8(Tag.Bytes);
    w.bytes(v);
  } else if (Array.isArray(v)) {
    w.u8(Tag.List);
    w.uvar(v.length);
    for (const x of v) write(w, x);
  } else if (v instanceof Map) {
    w.u8(Tag.Dict);
    w.uvar(v.size);
    for (const [k, x] of v) {
      write(w, k);
      write(w, x);
    }
  } else if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const keys = Object.keys(v);
    w.u8(Tag.Fields);
    w.uvar(keys.length);
    for (const k of keys) {
      writeFieldName(w, k);
      write(w, (v as Record<string, unknown>)[k]);
    }
  } else {
    throw new Error(
      `feature state holds a value the checkpoint codec cannot store (${Object.prototype.toString.call(v)})`,
    );
  }
}

/** Sliding counts: their shape, then the adds while sparse, else the buckets (sparsely). */
function writeSliding(w: Writer, v: SlidingCounts) {
  const sparse = v.sparseView();
  if (sparse) {
    writeCompactShape(w, Tag.WindowSparse, sparse);
    writeNumber(w, sparse.latest);
    w.uvar(sparse.adds.length);
    for (const x of sparse.adds) writeNumber(w, x);
  } else {
    const dense = v.view();
    writeCompactShape(w, Tag.Window, dense);
    writeCompactSparse(w, dense.data);
  }
}

interface Shape {
  windows: readonly number[];
  channels: number;
  buckets: number;
}

function writeCompactShape(w: Writer, tag: Tag, s: Shape) {
  w.u8(tag);
  w.uvar(s.windows.length);
  for (const x of s.windows) writeNumber(w, x);
  w.uvar(s.channels);
  w.uvar(s.buckets);
}

function readCompactShape(r: Reader): Shape & { windows: number[] } {
  const windows: number[] = [];
  for (let i = readCount(r); i > 0; i--) windows.push(readNumber(r));
  return { windows, channels: readSize(r), buckets: readSize(r) };
}

/** A window shape's channel or bucket count (a count SlidingCounts multiplies into its array's length). */
function readSize(r: Reader): number {
  const n = r.uvar();
  if (!(n >= 1 && n <= 0xffff))
    throw new Error(`corrupt feature-state checkpoint (a window shape of ${n} at byte ${r.pos})`);
  return n;
}

/**
 * Length, then non-zero entries + 1 and their (index gap, value) pairs, or 0 and every value, whichever is smaller
 * (all varints: most counts are small).
 */
function writeCompactSparse(w: Writer, a: Readonly<Uint32Array>) {
  let nonzero = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) nonzero++;
  w.uvar(a.length);
  if (2 * nonzero < a.length) {
    w.uvar(nonzero + 1);
    let previous = -1;
    for (let i = 0; i < a.length; i++) {
      if (a[i] === 0) continue;
      w.uvar(i - previous - 1);
      w.uvar(a[i] as number);
      previous = i;
    }
  } else {
    w.uvar(0);
    for (let i = 0; i < a.length; i++) w.uvar(a[i] as number);
  }
}

function readCompactSparse(r: Reader): Uint32Array {
  const length = r.uvar();
  takeArrayRoom(r, length);
  const a = new Uint32Array(length);
  const listed = r.uvar();
  if (listed === 0) {
    for (let i = 0; i < a.length; i++) a[i] = readU32(r);
    return a;
  }
  let i = -1;
  for (let j = 1; j < listed; j++) {
    i += r.uvar() + 1;
    if (!(i < a.length)) throw new Error(`corrupt feature-state checkpoint (count past its array at byte ${r.pos})`);
    a[i] = readU32(r);
  }
  return a;
}

/** A number in the compact form's tags (or a double's). */
function readNumber(r: Reader): number {
  return numberAfter(r.u8() as Tag, r);
}

/** The number a number's tag starts (Tag.Number in either form, the compact form's others). */
function numberAfter(tag: Tag, r: Reader): number {
  switch (tag) {
    case Tag.Number:
      return r.f64();
    case Tag.Whole:
      return readWhole(r, 0);
    case Tag.Negative:
      return -readWhole(r, 1);
    case Tag.Single:
      return r.f32();
    case Tag.Before:
      return readBefore(r);
    default:
      throw new Error(`corrupt feature-state checkpoint (tag ${tag} where a number belongs, at byte ${r.pos - 1})`);
  }
}

/** A count of values still to read, each at least a byte: more than the bytes left is a corrupt record. */
function readCount(r: Reader, bytesEach = 1): number {
  const n = r.uvar();
  if (!(n * bytesEach <= r.end - r.pos))
    throw new Error(`corrupt feature-state checkpoint (${n} values with ${r.end - r.pos} bytes left at byte ${r.pos})`);
  return n;
}

/**
 * Most entries the Uint32Arrays of one record hold together (sparse, their lengths are not bounded by their bytes: a
 * crafted record of a few bytes could ask for gigabytes); what is left of it while a record is read.
 */
const MAX_ARRAY_ENTRIES = 1 << 24;
let arrayRoom = MAX_ARRAY_ENTRIES;

/** A count in a Uint32Array (a varint holds up to 35 bits: past 32 the record is corrupt). */
function readU32(r: Reader): number {
  const n = r.uvar();
  if (!(n <= 0xffffffff)) throw new Error(`corrupt feature-state checkpoint (a count out of range at byte ${r.pos})`);
  return n;
}

function takeArrayRoom(r: Reader, length: number): void {
  arrayRoom -= length;
  if (!(arrayRoom >= 0))
    throw new Error(`corrupt feature-state checkpoint (arrays past ${MAX_ARRAY_ENTRIES} entries at byte ${r.pos})`);
}

function readBefore(r: Reader): number {
  if (Number.isNaN(base)) throw new Error('corrupt feature-state checkpoint (a time relative to no record time)');
  return base - readWhole(r, 0);
}

/** A varint the writer wrote: a safe integer from `least` (one past 2^53, or one that never ends, is corrupt). */
function readWhole(r: Reader, least: number): number {
  const n = r.uvarLong();
  if (!(n >= least && n <= Number.MAX_SAFE_INTEGER))
    throw new Error(`corrupt feature-state checkpoint (a whole number out of range at byte ${r.pos})`);
  return n;
}

// The first form (tags 4–13), read only.
function readShape(r: Reader): Shape & { windows: number[] } {
  const windows: number[] = [];
  for (let i = r.u32(); i > 0; i--) windows.push(r.f64());
  return { windows, channels: r.u32(), buckets: r.u32() };
}

/** What the first form wrote for a Uint32Array: length, count of non-zero entries (or 0xffffffff: dense), pairs. */
function readSparse(r: Reader): Uint32Array {
  const length = r.u32();
  takeArrayRoom(r, length);
  const a = new Uint32Array(length);
  const nonzero = r.u32();
  if (nonzero === 0xffffffff) for (let i = 0; i < a.length; i++) a[i] = r.u32();
  else for (let j = 0; j < nonzero; j++) a[r.u32()] = r.u32();
  return a;
}

function read(r: Reader): unknown {
  const tag = r.u8() as Tag;
  switch (tag) {
    case Tag.Undefined:
      return undefined;
    case Tag.Null:
      return null;
    case Tag.False:
      return false;
    case Tag.True:
      return true;
    case Tag.Number:
    case Tag.Whole:
    case Tag.Negative:
    case Tag.Single:
    case Tag.Before:
      return numberAfter(tag, r);
    case Tag.String:
      return r.str();
    case Tag.Bytes:
      return r.bytes();
    case Tag.Uint32:
      return readSparse(r);
    case Tag.Float32: {
      const b = r.bytes();
      return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    }
    case Tag.Sliding:
      return SlidingCounts.adopt({ ...readShape(r), data: readSparse(r) });
    case Tag.SlidingSparse: {
      const { windows, channels, buckets } = readShape(r);
      const latest = r.f64();
      const adds = new Array<number>(r.u32());
      for (let i = 0; i < adds.length; i++) adds[i] = r.f64();
      return SlidingCounts.sparse(windows, channels, buckets, latest, adds);
    }
    case Tag.Text:
      return r.vstr();
    case Tag.Uint32s:
      return readCompactSparse(r);
    case Tag.Float32s: {
      const n = readCount(r, 4);
      const out = new Float32Array(r.buf.buffer.slice(r.buf.byteOffset + r.pos, r.buf.byteOffset + r.pos + 4 * n));
      r.pos += 4 * n;
      return out;
    }
    case Tag.Window:
      return SlidingCounts.adopt({ ...readCompactShape(r), data: readCompactSparse(r) });
    case Tag.WindowSparse: {
      const { windows, channels, buckets } = readCompactShape(r);
      const latest = readNumber(r);
      const adds = new Array<number>(readCount(r));
      for (let i = 0; i < adds.length; i++) adds[i] = readNumber(r);
      return SlidingCounts.sparse(windows, channels, buckets, latest, adds);
    }
    case Tag.List: {
      const out = new Array<unknown>(readCount(r));
      for (let i = 0; i < out.length; i++) out[i] = read(r);
      return out;
    }
    case Tag.Dict: {
      const out = new Map<unknown, unknown>();
      for (let i = readCount(r, 2); i > 0; i--) out.set(read(r), read(r));
      return out;
    }
    case Tag.Fields:
      return readFields(r, readCount(r, 2), readFieldName);
    case Tag.Array: {
      const out: unknown[] = [];
      for (let i = r.u32(); i > 0; i--) out.push(read(r));
      return out;
    }
    case Tag.Map: {
      const out = new Map<unknown, unknown>();
      for (let i = r.u32(); i > 0; i--) out.set(read(r), read(r));
      return out;
    }
    case Tag.Object:
      return readFields(r, r.u32(), (reader) => reader.str());
    default:
      throw new Error(`corrupt feature-state checkpoint (unknown tag ${tag} at byte ${r.pos - 1})`);
  }
}

/** A plain object of `count` fields, each name read by `name`. */
function readFields(r: Reader, count: number, name: (r: Reader) => string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = count; i > 0; i--) {
    const key = name(r);
    // Assignment keeps the object on a fast hidden class (defineProperty on every field turned each restored state
    // into a slow dictionary object); a key named "__proto__" is defined, so it stays a key instead of replacing the
    // prototype.
    if (key === '__proto__')
      Object.defineProperty(out, key, { value: read(r), enumerable: true, writable: true, configurable: true });
    else out[key] = read(r);
  }
  return out;
}

const shared = new Writer();
/** The checkpoint codec's own short strings: field names spelled out, then short map keys and values. */
const NAMES = new StringInterner();

/**
 * The value encoded; after `header`'s bytes when given (a store's fixed fields, read without decoding the value).
 * `recordTime`: the time the record is read back with (decodeState's), which whole numbers at or before it are
 * written relative to.
 */
export function encodeState(value: unknown, header?: Uint8Array, recordTime = Number.NaN): Buffer {
  shared.reset();
  if (header) shared.raw(header);
  // Only a whole record time: the distance back from any other would not be a whole number, which a varint holds.
  base = Number.isSafeInteger(recordTime) ? recordTime : Number.NaN;
  try {
    write(shared, value);
  } finally {
    base = Number.NaN;
  }
  return shared.finish();
}

/**
 * The value encoded in bytes [from, end) (from: after a header encodeState wrote; end: a record inside a buffer);
 * `recordTime`: what it was encoded with.
 */
export function decodeState<S>(buffer: Buffer, from = 0, end = buffer.length, recordTime = Number.NaN): S {
  const r = new Reader(buffer, from, NAMES, end);
  base = recordTime;
  arrayRoom = MAX_ARRAY_ENTRIES;
  let value: unknown;
  try {
    value = read(r);
  } finally {
    base = Number.NaN;
  }
  if (!r.atEnd()) throw new Error('corrupt feature-state checkpoint (trailing bytes)');
  return value as S;
}
