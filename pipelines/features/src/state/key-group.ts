// A key group: one key's entries in every store of an extractor that holds it, in one changelog record
// (FeatureExtractor.drainChanges). Compaction keeps the latest record per key, which is the key's whole state.
//
// Two forms are read; the compact one is written:
// - compact (first byte 2): per entry, the store's id (u32 little-endian: STORE_ID of its changelog prefix) and the
//   entry's length (varint), then the entry, up to the record's end. 5–6 bytes an entry.
// - packed (first byte 1, written until the compact form): packEntries' layout (@vigil/connectors), the store named by
//   its whole prefix ("Velocity/principals/") as the entry's key: ~30 bytes an entry, a sixth of a one-event
//   principal's record.
// A store is named by a hash of its prefix, not by its place among the extractor's stores: a detector with a family
// more or less still finds each store's entry, as it did by name.

import { forEachPacked } from '@vigil/connectors';
import { ByteReader, ByteWriter } from '@vigil/core';
import { fnv1a } from '../features/chosen-hash.js';

const PACKED = 1;
const COMPACT = 2;

/** A store's id in a compact group: FNV-1a (32 bits) of its changelog prefix's UTF-16 code units. */
export const storeId = (prefix: string): number => fnv1a(prefix);

/** One entry of a group as forEachEntry finds it: its store's place (-1: no store of this extractor), its bytes. */
export type GroupEntry = (store: number, valueAt: number, valueEnd: number, unknown: string | undefined) => void;

export class KeyGroups {
  private readonly ids: number[];
  private readonly byId = new Map<number, number>();
  private readonly names: Buffer[];
  private readonly writer = new ByteWriter();

  /** `prefixes`: the extractor's stores' changelog prefixes, in its order. */
  constructor(prefixes: readonly string[]) {
    this.ids = prefixes.map(storeId);
    this.names = prefixes.map((p) => Buffer.from(p, 'utf8'));
    this.ids.forEach((id, i) => {
      const other = this.byId.get(id);
      if (other !== undefined)
        throw new Error(`feature stores '${prefixes[other]}' and '${prefixes[i]}' have one id: rename one of them`);
      this.byId.set(id, i);
    });
  }

  /** A group of (store's place, entry) pairs, in the compact form. */
  encode(entries: readonly [number, Buffer][]): Buffer {
    const w = this.writer.reset();
    w.u8(COMPACT);
    for (const [store, value] of entries) {
      w.u32(this.ids[store] as number);
      w.uvar(value.length);
      w.raw(value);
    }
    return w.finish();
  }

  /** Each entry of the group in bytes [start, end) of `group`, in either form. */
  forEachEntry(group: Buffer, entry: GroupEntry, start = 0, end = group.length): void {
    if (group[start] === PACKED) {
      forEachPacked(
        group,
        (keyAt, keyEnd, valueAt, valueEnd) => {
          const store = keyAt < 0 ? -1 : this.byName(group, keyAt, keyEnd);
          const unknown = store >= 0 ? undefined : keyAt < 0 ? 'no store' : group.toString('utf8', keyAt, keyEnd);
          entry(store, valueAt, valueEnd, unknown);
        },
        start,
        end,
      );
      return;
    }
    if (group[start] !== COMPACT) throw new Error(`feature-state group of unknown form ${group[start]}`);
    const r = new ByteReader(group, start + 1, undefined, end);
    while (r.pos < end) {
      if (end - r.pos < 5) throw new Error('feature-state group truncated');
      const id = r.u32();
      const length = r.uvar();
      const valueAt = r.pos;
      if (!(valueAt + length <= end)) throw new Error('feature-state group truncated');
      r.pos += length;
      const store = this.byId.get(id) ?? -1;
      entry(store, valueAt, r.pos, store >= 0 ? undefined : `store id ${id.toString(16)}`);
    }
  }

  /** The place of the store whose prefix is bytes [at, end) of `buf`, or -1 (a byte loop: prefixes are short). */
  private byName(buf: Buffer, at: number, end: number): number {
    const length = end - at;
    for (let i = 0; i < this.names.length; i++) {
      const p = this.names[i] as Buffer;
      if (p.length !== length) continue;
      let j = 0;
      while (j < length && p[j] === buf[at + j]) j++;
      if (j === length) return i;
    }
    return -1;
  }
}
