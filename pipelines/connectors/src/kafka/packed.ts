// Packed records: many of vigil's own records in one Kafka record, on its internal topics (events keyed by principal
// and by entity). The Kafka client's cost is per record — encoding, CRC, batching, decoding: about 11 µs of CPU
// each with kafkajs here — and every event crosses these topics more than once, so one Kafka record per destination
// partition and send, holding every record bound there, takes most of that cost away (measured: BENCHMARKS.md).
//
// - Where a record goes does not change: its partition is the one the client's default partitioner gives its own
//   key (murmur2, Kafka's and kafkajs' default), so a packed and an unpacked writer agree, and co-partitioned
//   topics stay co-partitioned.
// - Each inner record keeps its key, headers and value; readers unpack a packed record into the records it holds,
//   all at the Kafka record's position (offset). Readers take both forms, so a topic may carry both (an upgrade,
//   or a record written by hand).
// - Changelogs are never packed: compaction keeps the latest record per key, which needs one key per record.
//
// Layout (big-endian): u8 version (1), u32 count, then per record: i32 key length (-1: null), key, u16 header
// count, per header u16 name length, name, u32 value length, value; u32 value length, value.
import { type Message, Partitioners } from 'kafkajs';
import { partitionOfKey } from './murmur2.js';

export const PACKED_HEADER = 'vigil-packed';
const VERSION = 1;
/** Most bytes in one packed record: well under Kafka's default max.message.bytes (1 MiB). */
export const MAX_PACK_BYTES = 256 * 1024;

export interface PackedEntry {
  key: string | Buffer | null;
  value: string | Buffer;
  headers?: Record<string, string>;
}

const NO_HEADERS: readonly [Buffer, Buffer][] = [];
const toBuffer = (v: string | Buffer) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v);

/**
 * The partition Kafka's default partitioner gives a key (murmur2.ts: the same as kafkajs' function, checked by a
 * property test); a keyless record goes round-robin, by kafkajs' own partitioner.
 */
export function partitionerFor(partitions: number): (key: string | Buffer | null) => number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    partitionErrorCode: 0,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));
  return (key) =>
    key === null
      ? partitioner({ topic: '', partitionMetadata, message: { key, value: null } })
      : partitionOfKey(key, partitions);
}

function entrySize(key: Buffer | null, headers: readonly [Buffer, Buffer][], value: Buffer): number {
  let size = 4 + (key?.length ?? 0) + 2 + 4 + value.length;
  for (const [k, v] of headers) size += 2 + k.length + 4 + v.length;
  return size;
}

/** One packed value from entries (each with its key, headers and value). */
export function packEntries(entries: PackedEntry[]): Buffer {
  const encoded = entries.map((e) => {
    const key = e.key === null ? null : toBuffer(e.key);
    // Feature state groups carry no headers: no entries list is built for them (one group per changed key).
    const headers =
      e.headers === undefined
        ? NO_HEADERS
        : Object.entries(e.headers).map(
            ([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as [Buffer, Buffer],
          );
    const value = toBuffer(e.value);
    return { key, headers, value, size: entrySize(key, headers, value) };
  });
  const out = Buffer.allocUnsafe(5 + encoded.reduce((n, e) => n + e.size, 0));
  let at = out.writeUInt8(VERSION, 0);
  at = out.writeUInt32BE(encoded.length, at);
  for (const e of encoded) {
    at = out.writeInt32BE(e.key === null ? -1 : e.key.length, at);
    if (e.key) at += e.key.copy(out, at);
    at = out.writeUInt16BE(e.headers.length, at);
    for (const [k, v] of e.headers) {
      at = out.writeUInt16BE(k.length, at);
      at += k.copy(out, at);
      at = out.writeUInt32BE(v.length, at);
      at += v.copy(out, at);
    }
    at = out.writeUInt32BE(e.value.length, at);
    at += e.value.copy(out, at);
  }
  return out;
}

export interface UnpackedEntry {
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * Walks a packed value's entries without copying or allocating: each entry's key (keyAt -1: a null key), value and
 * headers as offsets into `packed`. The value may lie within `packed`, from `start` to `end` (a restore's values lie
 * side by side in slabs). Throws on a value that is not one (a reader sets that record aside as poison).
 */
export function forEachPacked(
  packed: Buffer,
  entry: (keyAt: number, keyEnd: number, valueAt: number, valueEnd: number, headersAt: number, headers: number) => void,
  start = 0,
  end = packed.length,
): void {
  const need = (at: number, n: number) => {
    if (at + n > end) throw new Error('packed record truncated');
  };
  need(start, 5);
  if (packed.readUInt8(start) !== VERSION)
    throw new Error(`packed record version ${packed.readUInt8(start)} is not ${VERSION}`);
  const count = packed.readUInt32BE(start + 1);
  let at = start + 5;
  for (let i = 0; i < count; i++) {
    need(at, 4);
    const keyLength = packed.readInt32BE(at);
    at += 4;
    const keyAt = keyLength >= 0 ? at : -1;
    if (keyLength >= 0) {
      need(at, keyLength);
      at += keyLength;
    }
    const keyEnd = at;
    need(at, 2);
    const headerCount = packed.readUInt16BE(at);
    at += 2;
    const headersAt = at;
    for (let h = 0; h < headerCount; h++) {
      need(at, 2);
      const kl = packed.readUInt16BE(at);
      need(at + 2, kl + 4);
      at += 2 + kl;
      const vl = packed.readUInt32BE(at);
      need(at + 4, vl);
      at += 4 + vl;
    }
    need(at, 4);
    const valueLength = packed.readUInt32BE(at);
    need(at + 4, valueLength);
    entry(keyAt, keyEnd, at + 4, at + 4 + valueLength, headersAt, headerCount);
    at += 4 + valueLength;
  }
  if (at !== end) throw new Error('packed record has trailing bytes');
}

/** The entries of a packed value; throws on a value that is not one (a reader sets that record aside as poison). */
export function unpackEntries(packed: Buffer): UnpackedEntry[] {
  const out: UnpackedEntry[] = [];
  forEachPacked(packed, (keyAt, keyEnd, valueAt, valueEnd, headersAt, headerCount) => {
    const headers: Record<string, string> = {};
    let at = headersAt;
    for (let h = 0; h < headerCount; h++) {
      const kl = packed.readUInt16BE(at);
      const name = packed.toString('utf8', at + 2, at + 2 + kl);
      at += 2 + kl;
      const vl = packed.readUInt32BE(at);
      headers[name] = packed.toString('utf8', at + 4, at + 4 + vl);
      at += 4 + vl;
    }
    out.push({
      key: keyAt < 0 ? null : packed.subarray(keyAt, keyEnd),
      headers,
      value: packed.subarray(valueAt, valueEnd),
    });
  });
  return out;
}

/**
 * Messages as packed messages: grouped by the partition their key goes to, in order, at most MAX_PACK_BYTES each.
 * Order within a partition is kept (Kafka only orders within one).
 */
export function packMessages(
  messages: PackedEntry[],
  partitionOf: (key: string | Buffer | null) => number,
  maxBytes = MAX_PACK_BYTES,
): Message[] {
  const groups = new Map<number, { entries: PackedEntry[]; bytes: number }[]>();
  for (const m of messages) {
    const partition = partitionOf(m.key);
    let packs = groups.get(partition);
    if (!packs) {
      packs = [];
      groups.set(partition, packs);
    }
    // Encoded once here: its length sizes the pack, and packEntries copies the bytes as they are.
    const value = toBuffer(m.value);
    // Its key and headers count too (an entity part's trace, kind, role, source and schema headers are often more
    // than its value): a pack sized by values alone could pass Kafka's max.message.bytes. Strings are counted in
    // characters (a non-ASCII one takes more bytes): close enough with packs of 256 KiB under a limit of 1 MiB.
    let size = value.length + 16 + (m.key?.length ?? 0);
    for (const name in m.headers) size += 6 + name.length + (m.headers[name] as string).length;
    let last = packs[packs.length - 1];
    // A pack always takes its first record, so one oversized value still goes out (and Kafka judges it).
    if (!last || last.bytes + size > maxBytes) {
      last = { entries: [], bytes: 0 };
      packs.push(last);
    }
    last.entries.push({ key: m.key, value, headers: m.headers ?? {} });
    last.bytes += size;
  }
  const out: Message[] = [];
  for (const [partition, packs] of groups) {
    for (const p of packs)
      out.push({ partition, key: null, value: packEntries(p.entries), headers: { [PACKED_HEADER]: String(VERSION) } });
  }
  return out;
}
