// How the records on a topic are written and read: one typed, versioned codec per kind of record, declared with the
// topic (ARCHITECTURE: topics vigil alone reads carry its own versioned binary codec; topics others read stay
// documented JSON). No stage writes `JSON.stringify(x)` or reads `JSON.parse(...) as T` on its own: it is handed the
// topic's codec.
import { ByteReader, type ByteWriter, type StringInterner } from '@vigil/core';
import { checkDecision, decodeJson, InvalidRecordError, schemaCheck } from './codec.js';
import { type DeadLetter, deadLetterSchema } from './dead-letter.js';
import type { Decision } from './decision.js';

export interface TopicCodec<T> {
  /** What the records are ("access event"), for errors and descriptions. */
  readonly name: string;
  /** binary: vigil's own (topics only vigil reads); json: documented JSON (topics others read too). */
  readonly format: 'binary' | 'json';
  /** The version this codec writes; it reads this one and every earlier one. */
  readonly version: number;
  /** The record's value (a string is written as UTF-8). */
  encode(value: T): Buffer | string;
  /** The value of a record; throws InvalidRecordError, naming a field but never a value, when it is not one. */
  decode(value: Buffer): T;
}

/**
 * A JSON codec: the record is the value's JSON, read by `check` (which throws InvalidRecordError naming the field
 * that is wrong). JSON records carry no version of their own: a later version adds optional fields only.
 */
export function jsonCodec<T>(name: string, check: (parsed: unknown) => T): TopicCodec<T> {
  return {
    name,
    format: 'json',
    version: 1,
    encode: (value) => JSON.stringify(value),
    decode: (value) => check(decodeJson(value)),
  };
}

/** First byte of every binary record vigil writes: never `{` (0x7b), so a reader tells binary from legacy JSON. */
export const BINARY_MAGIC = 0xa5;

/** The second byte: which record it is. */
export enum BinaryKind {
  AccessEvent = 1,
  EntityPart = 2,
}

/** Starts a binary record: the magic byte, its kind, the version it is written in. */
export function startBinary(w: ByteWriter, kind: BinaryKind, version: number): ByteWriter {
  w.reset();
  w.u8(BINARY_MAGIC);
  w.u8(kind);
  w.u8(version);
  return w;
}

/**
 * Checks a binary record's first three bytes (magic, kind, version) and returns its version; throws when the record
 * is another kind, or newer than this reader knows (written by a later vigil: upgrade every reader first).
 */
export function binaryVersion(value: Buffer, kind: BinaryKind, name: string, known: number): number {
  if (value.length < 3 || value[0] !== BINARY_MAGIC) throw new InvalidRecordError(`${name}: not a binary record`);
  if (value[1] !== kind) throw new InvalidRecordError(`${name}: a record of another kind (${value[1]})`);
  const version = value[2] as number;
  if (version === 0 || version > known) {
    throw new InvalidRecordError(`${name}: version ${version}, newer than this reader's ${known}: upgrade vigil`);
  }
  return version;
}

/** Whether a record on a binary topic is the JSON an earlier vigil wrote there (it opens with `{`). */
export const writtenAsJson = (value: Buffer): boolean => value[0] === 0x7b;

/**
 * Reads a binary record of `kind`: its header checked (binaryVersion), the rest read by `read` from byte 3. A read
 * that runs past the end (Buffer's RangeError) or bytes left over become InvalidRecordError, as every refusal is.
 */
export function readBinary<T>(
  value: Buffer,
  header: { kind: BinaryKind; name: string; version: number; interner?: StringInterner },
  read: (r: ByteReader) => T,
): T {
  binaryVersion(value, header.kind, header.name, header.version);
  const r = new ByteReader(value, 3, header.interner);
  let out: T;
  try {
    out = read(r);
  } catch (err) {
    if (err instanceof InvalidRecordError) throw err;
    throw new InvalidRecordError(`${header.name}: truncated`);
  }
  if (!r.atEnd()) throw new InvalidRecordError(`${header.name}: truncated or trailing bytes`);
  return out;
}

/** Decision records (vigil.decisions and its shadow): documented JSON, checked against the full schema. */
export const decisionCodec: TopicCodec<Decision> = jsonCodec('decision', checkDecision);

/** Dead letters (vigil.dlq): documented JSON, checked against their schema. */
export const deadLetterCodec: TopicCodec<DeadLetter> = jsonCodec(
  'dead letter',
  schemaCheck(deadLetterSchema, 'dead letter'),
);
