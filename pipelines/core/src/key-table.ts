// String keys → slot numbers, in typed arrays: the key index of the feature stores and of the changelog bookkeeping
// (issue 17: state in bytes, restore ≥ 200,000 principals/s).
//
// Why not a Map: a Map entry costs ~40 bytes a key (28 a slot of its table, which doubles), and finding a key means
// having it as a string. A restore reads its keys as bytes, most of them more than once (a changelog after a wave
// holds about two entries for every live key): each became a string and a Map lookup, the largest parts of a
// restore's profile. Here a key costs its slot in an open-addressing table (4 bytes, at most half full), its hash
// (4) and a tag byte beside the string the owner keeps anyway, and `slotOfBytes` finds a key from its UTF-8 bytes
// without making a string.
//
// Slots are the owner's: numbers from 0 up, a freed one given out again first (last freed, first given), exactly
// as the Maps' owners gave them, so columns by slot and every order built on slots stay as they were. A slot keeps
// its key's string, its hash and a tag: the same string under another tag is another key (the changelog bookkeeping
// keeps a key group without its common prefix, beside whole keys).
//
// Hashing: FNV-1a over the UTF-16 code units from a random seed, then MurmurHash3's finaliser; linear probing, and
// deletion by shifting back (no tombstones, so a table that churns a wave of keys never slows). Keys come from
// traffic (addresses, routes, usernames), so they can be chosen to collide: a seed drawn at random per table, and a
// new seed (every hash computed again) when an insert probes more than MAX_PROBE places — a pass over the keys, paid
// only when someone has found collisions for the seed in use, and at most once per as many inserts as keys. Which slot a key gets never
// depends on the hash, so the seed changes nothing anyone sees.

import { grown } from './grown.js';

/** Probes an insert may take before the table draws a new seed (a few dozen at most with hashes that do not collide). */
const MAX_PROBE = 128;
/** The table is grown (doubled) past this share of it used. */
const MAX_LOAD = 0.5;
const EMPTY = 0;
const MIN_TABLE = 32;
/** slotOfBytes: the bytes are not all ASCII (their code units are not their bytes): decode them and call slotOf. */
export const NOT_ASCII = -2;

function randomSeed(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0] as number;
}

/** MurmurHash3's 32-bit finaliser: every input bit moves every output bit, so the low bits index the table well. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashString(key: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return finish(h);
}

/** The hash of the key whose UTF-8 is bytes[at, end), or NOT_ASCII (then its code units are not its bytes). */
function hashAscii(bytes: Uint8Array, at: number, end: number, seed: number): number {
  let h = seed;
  for (let i = at; i < end; i++) {
    const b = bytes[i] as number;
    if (b >= 0x80) return NOT_ASCII;
    h = Math.imul(h ^ b, 0x01000193);
  }
  return finish(h);
}

export class KeyTable {
  /** Per slot: its key; null once detached (given out, found no more); undefined while free. */
  private keys: (string | null | undefined)[] = [];
  private hashes = new Uint32Array(16);
  private tags = new Uint8Array(16);
  /** Open addressing: slot + 1 at each place, 0 empty. */
  private table = new Int32Array(MIN_TABLE);
  private mask = MIN_TABLE - 1;
  private free: number[] = [];
  private count = 0;
  /** New seeds drawn because an insert probed too long (collisions, chosen or not). */
  reseeds = 0;
  /**
   * Adds since the last new seed: another is drawn only once there have been as many adds as keys, so that keys
   * which collide under every seed (if any can be found) cost a pass over the keys per as many adds, not per add.
   */
  private addsSinceSeed = 0;

  private seed: number;
  private readonly maxProbe: number;

  /** Options for tests: a given first seed, another probe bound. */
  constructor(options: { seed?: number; maxProbe?: number } = {}) {
    this.seed = options.seed ?? randomSeed();
    this.maxProbe = options.maxProbe ?? MAX_PROBE;
  }

  /** Keys held (found by slotOf: detached ones are not). */
  get size(): number {
    return this.count;
  }

  /** Slots given out so far, held or free: every slot number is below it. */
  get slots(): number {
    return this.keys.length;
  }

  /**
   * Estimated bytes on the heap beside the key strings: the table, the hash and tag columns, the keys' column (a
   * plain array grown by half: 12 bytes a slot) and the free list.
   */
  get bytes(): number {
    return 4 * this.table.length + 5 * this.hashes.length + 12 * this.keys.length + 8 * this.free.length;
  }

  /** The key's slot, or -1. */
  slotOf(key: string, tag = 0): number {
    return this.find(key, tag, hashString(key, this.seed));
  }

  /**
   * The slot of the key whose UTF-8 is bytes[at, end), or -1, without making a string of it; NOT_ASCII when the
   * bytes are not all ASCII (decode them and call slotOf).
   */
  slotOfBytes(bytes: Uint8Array, at: number, end: number, tag = 0): number {
    const hash = hashAscii(bytes, at, end, this.seed);
    if (hash === NOT_ASCII) return NOT_ASCII;
    const length = end - at;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const entry = this.table[i] as number;
      if (entry === EMPTY) return -1;
      const slot = entry - 1;
      if (this.hashes[slot] !== hash || this.tags[slot] !== tag) continue;
      const key = this.keys[slot] as string;
      if (key.length !== length) continue;
      let j = 0;
      while (j < length && key.charCodeAt(j) === bytes[at + j]) j++;
      if (j === length) return slot;
    }
  }

  /** The slot's key (undefined: free or detached). */
  keyAt(slot: number): string | undefined {
    return this.keys[slot] ?? undefined;
  }

  tagAt(slot: number): number {
    return this.tags[slot] as number;
  }

  /** Adds a key the table does not hold; returns its slot (the last freed, else a new one). */
  add(key: string, tag = 0): number {
    const slot = this.free.pop() ?? this.newSlot();
    this.keys[slot] = key;
    this.tags[slot] = tag;
    this.hashes[slot] = hashString(key, this.seed);
    this.count++;
    this.addsSinceSeed++;
    // Placed first (a table at most half full always has room): a rebuild walks the table.
    const probes = this.place(slot);
    if (this.count > MAX_LOAD * this.table.length) this.rebuild(2 * this.table.length, this.seed);
    else if (probes > this.maxProbe && this.addsSinceSeed >= this.count) this.rebuild(this.table.length, randomSeed());
    return slot;
  }

  /** Frees the slot (given out again by the next add), its key found or detached. */
  remove(slot: number): void {
    const key = this.keys[slot];
    if (key === undefined) throw new Error(`slot ${slot} is not given out by the key table`);
    if (key !== null) this.unlist(slot);
    this.keys[slot] = undefined;
    this.free.push(slot);
  }

  /**
   * The slot's key is found no more and its string is let go, but the slot stays given out (its owner still refers to
   * it) until remove(). The changelog bookkeeping detaches a deleted key: nothing looks a deleted key up again.
   */
  detach(slot: number): void {
    if (typeof this.keys[slot] !== 'string') throw new Error(`slot ${slot} holds no key to detach`);
    this.unlist(slot);
    this.keys[slot] = null;
  }

  /** Takes the slot out of the table (it is in it). */
  private unlist(slot: number): void {
    const mask = this.mask;
    let i = (this.hashes[slot] as number) & mask;
    while (this.table[i] !== slot + 1) {
      if (this.table[i] === EMPTY) throw new Error(`slot ${slot} is not in the key table`);
      i = (i + 1) & mask;
    }
    // Shift back the entries after it that would no longer be found past the hole (linear probing's deletion).
    for (let j = (i + 1) & mask; this.table[j] !== EMPTY; j = (j + 1) & mask) {
      const home = (this.hashes[(this.table[j] as number) - 1] as number) & mask;
      // The entry at j stays if its home lies cyclically in (i, j].
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      this.table[i] = this.table[j] as number;
      i = j;
    }
    this.table[i] = EMPTY;
    this.count--;
    // Halved once an eighth full (a quarter full after): a wave's keys gone give their places back, as a Map does.
    if (this.table.length > MIN_TABLE && this.count < this.table.length / 8)
      this.rebuild(this.table.length / 2, this.seed);
  }

  /** Room for `keys` keys without growing as they come (a restore's). */
  reserve(keys: number): void {
    let length = this.table.length;
    while (keys > MAX_LOAD * length) length *= 2;
    if (length > this.table.length) this.rebuild(length, this.seed);
    if (keys > this.hashes.length) this.growColumns(keys);
  }

  private find(key: string, tag: number, hash: number): number {
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const entry = this.table[i] as number;
      if (entry === EMPTY) return -1;
      const slot = entry - 1;
      if (this.hashes[slot] === hash && this.tags[slot] === tag && this.keys[slot] === key) return slot;
    }
  }

  private newSlot(): number {
    const slot = this.keys.length;
    if (slot === this.hashes.length) this.growColumns(Math.ceil(1.5 * slot));
    this.keys.push(undefined);
    return slot;
  }

  private growColumns(length: number): void {
    this.hashes = grown(this.hashes, length);
    this.tags = grown(this.tags, length);
  }

  /** Puts the slot in the table; returns how many places it probed. */
  private place(slot: number): number {
    const mask = this.mask;
    let i = (this.hashes[slot] as number) & mask;
    let probes = 1;
    while (this.table[i] !== EMPTY) {
      i = (i + 1) & mask;
      probes++;
    }
    this.table[i] = slot + 1;
    return probes;
  }

  /**
   * A table of `length` places; with a new seed every held key's hash is computed again. Walks the old table, not the
   * slots: after a wave the slots ever given out can far outnumber the keys held, and a table an eighth full or more
   * is a few places a key.
   */
  private rebuild(length: number, seed: number): void {
    const old = this.table;
    if (seed !== this.seed) {
      this.seed = seed;
      this.reseeds++;
      this.addsSinceSeed = 0;
      for (let i = 0; i < old.length; i++) {
        const entry = old[i] as number;
        if (entry !== EMPTY) this.hashes[entry - 1] = hashString(this.keys[entry - 1] as string, seed);
      }
    }
    this.table = new Int32Array(length);
    this.mask = length - 1;
    for (let i = 0; i < old.length; i++) {
      const entry = old[i] as number;
      if (entry !== EMPTY) this.place(entry - 1);
    }
  }
}
