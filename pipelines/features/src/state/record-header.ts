// A keyed store's checkpoint record: a header a restore reads without decoding the state (when the key was last seen,
// its place in the recency lists, what its state was charged), then the state (state-codec.ts).
//
// Two forms are read; the compact one is written:
// - compact (first byte 0xC6): u8 flags (1: returning; 2: last seen is a double, else a varint; 4: the sequence
//   number is a double, else a varint), last seen, sequence number, the state's charged bytes (varint); then the state,
//   its event times written back from a whole last-seen time. 1 + 1 + 6 (a time in ms) + 1–5 (the sequence number,
//   counting uses of the partition's keys) + 1–3 bytes: 10–16 a header, 26 with two doubles.
// - fixed (first byte 0xC5, written until the compact form): f64 last seen, f64 sequence number, u8 returning, f64
//   charged bytes with the entry's own overhead and key (little-endian), 26 bytes; then the state in any form.
// A record without either header (an older vigil's) is the codec's object form { l, q, s, r } (keyed-state.ts).
// Neither first byte is a state codec tag (those stay below 0xC0).

import { ByteReader, ByteWriter } from '@vigil/core';
import { keyBytes } from './key-index.js';
import { decodeState, encodeState } from './state-codec.js';

const FIXED = 0xc5;
const COMPACT = 0xc6;
const FIXED_BYTES = 26;
const RETURNING = 1;
const SEEN_DOUBLE = 2;
const SEQ_DOUBLE = 4;

/**
 * The charge in a fixed header is the entry's as a store charged it before the KeyIndex: its state, 103 bytes of
 * entry and its whole key (keyBytes).
 */
const FIXED_ENTRY_BYTES = 103;

/** A record's header, as readHeader found it (one object, reused: read what you need before the next call). */
export interface RecordHeader {
  lastSeen: number;
  seq: number;
  returning: boolean;
  /** The state's charged bytes, or -1 when the record does not say (a value no state can have: damaged). */
  charged: number;
  /** Where the state starts. */
  stateAt: number;
  /** Where the charge starts (a compact header's last field). */
  chargedAt: number;
  /** The time the state's event times are written back from (NaN: none, a fixed header's record). */
  base: number;
}

const found: RecordHeader = {
  lastSeen: 0,
  seq: 0,
  returning: false,
  charged: -1,
  stateAt: 0,
  chargedAt: 0,
  base: Number.NaN,
};
const writer = new ByteWriter();

/**
 * The header of the record in bytes [at, end) of `value`, or undefined for a record without one. `key`: the record's
 * key, which a fixed header's charge includes (read `charged` only when given).
 */
export function readHeader(value: Buffer, at: number, end: number, key = ''): RecordHeader | undefined {
  const first = value[at];
  if (first === FIXED && end - at >= FIXED_BYTES) {
    found.lastSeen = value.readDoubleLE(at + 1);
    found.seq = value.readDoubleLE(at + 9);
    found.returning = value[at + 17] === 1;
    // Whole bytes (records of an earlier vigil may hold a fraction); a value no state can have is unknown.
    const raw = Math.ceil(value.readDoubleLE(at + 18));
    const state = raw > 0 && raw < 2 ** 32 ? raw - FIXED_ENTRY_BYTES - keyBytes(key) : -1;
    found.charged = state >= 0 ? state : -1;
    found.stateAt = at + FIXED_BYTES;
    found.base = Number.NaN;
    return found;
  }
  if (first !== COMPACT || end - at < 5) return undefined;
  const r = new ByteReader(value, at + 1, undefined, end);
  const flags = r.u8();
  // A varint that never ends reads as NaN (a double may be NaN as written: a damaged clock restores as it was).
  let truncated = false;
  const varint = () => {
    const n = r.uvarLong();
    truncated ||= Number.isNaN(n);
    return n;
  };
  found.lastSeen = flags & SEEN_DOUBLE ? r.f64() : varint();
  found.seq = flags & SEQ_DOUBLE ? r.f64() : varint();
  found.returning = (flags & RETURNING) !== 0;
  found.chargedAt = r.pos;
  const charged = varint();
  found.charged = charged < 2 ** 32 ? charged : -1;
  found.stateAt = r.pos;
  found.base = found.lastSeen;
  if (truncated || !(r.pos <= end))
    throw new Error('corrupt feature-state checkpoint (a record header runs past its record)');
  return found;
}

/** A compact record: the header, then `state` with its event times written back from `lastSeen`. */
export function encodeRecord(
  state: unknown,
  lastSeen: number,
  seq: number,
  returning: boolean,
  charged: number,
): Buffer {
  writer.reset();
  writePlace(writer, lastSeen, seq, returning);
  writer.uvarLong(charged);
  return encodeState(state, writer.buf.subarray(0, writer.pos), lastSeen);
}

/** Whether uvarLong writes `n` exactly: a safe integer from 0 (not -0). */
const isVarint = (n: number) => Number.isSafeInteger(n) && n >= 0 && !Object.is(n, -0);

/** A compact header up to its charge: first byte, flags, last-seen time and sequence number. */
function writePlace(w: ByteWriter, lastSeen: number, seq: number, returning: boolean): void {
  const seenWhole = isVarint(lastSeen);
  const seqWhole = isVarint(seq);
  w.u8(COMPACT);
  w.u8((returning ? RETURNING : 0) | (seenWhole ? 0 : SEEN_DOUBLE) | (seqWhole ? 0 : SEQ_DOUBLE));
  if (seenWhole) w.uvarLong(lastSeen);
  else w.f64(lastSeen);
  if (seqWhole) w.uvarLong(seq);
  else w.f64(seq);
}

/** The state of the record in bytes [at, end) of `value` (which has a header: readHeader). */
export function decodeRecordState<S>(value: Buffer, at: number, end: number): S {
  const h = readHeader(value, at, end);
  if (!h) throw new Error('corrupt feature-state checkpoint (a keyed record without its header)');
  return decodeState<S>(value, h.stateAt, end, h.base);
}

/**
 * The record with its key's place (`seq`, `returning`) as given: itself when it says so already, else a copy with
 * the new place (a record with neither header is returned as it is: it is rewritten once its key is used).
 */
export function withPlace(record: Buffer, seq: number, returning: boolean): Buffer {
  const h = readHeader(record, 0, record.length);
  if (!h || (h.seq === seq && h.returning === returning)) return record;
  if (record[0] === FIXED) {
    const copy = Buffer.from(record);
    copy.writeDoubleLE(seq, 9);
    copy.writeUInt8(returning ? 1 : 0, 17);
    return copy;
  }
  // The new place between the record's own last-seen time and its charge (as written: a damaged one stays so).
  const { lastSeen, chargedAt } = h;
  writer.reset();
  writePlace(writer, lastSeen, seq, returning);
  writer.raw(record.subarray(chargedAt));
  return writer.finish();
}

/** A record read whole (tests, tools): its header and its state. */
export function readRecord<S>(record: Buffer, key = ''): RecordHeader & { state: S } {
  const h = readHeader(record, 0, record.length, key);
  if (!h) throw new Error('a keyed record without its header');
  return { ...h, state: decodeState<S>(record, h.stateAt, record.length, h.base) };
}
