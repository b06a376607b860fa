// Bytes in and out, for vigil's own binary formats (the feature-state checkpoints, the records on its internal
// topics). Little-endian; one writer is reused per format (its buffer grows and stays), and what it hands out is a
// copy of exactly the bytes written.

/** Strings up to this length are tried as ASCII in JS before the UTF-8 encoder (ByteWriter.ascii). */
const SHORT_WRITE = 256;

export class ByteWriter {
  buf = Buffer.allocUnsafe(256);
  pos = 0;

  /** Starts a new value: the buffer is kept, its bytes are overwritten. */
  reset(): this {
    this.pos = 0;
    return this;
  }

  private room(n: number) {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number) {
    this.room(1);
    this.buf[this.pos++] = v;
  }
  u32(v: number) {
    this.room(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }
  f64(v: number) {
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }
  /** An unsigned integer below 2^32 in 1–5 bytes, 7 bits a byte, low bits first (a protobuf varint). */
  uvar(v: number) {
    this.room(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }
  f32(v: number) {
    this.room(4);
    this.buf.writeFloatLE(v, this.pos);
    this.pos += 4;
  }
  /**
   * A whole number from 0 to 2^53 − 1 (a safe integer: event times in ms, counters) in 1–8 bytes, 7 bits a byte,
   * low bits first: uvar's encoding, past 32 bits.
   */
  uvarLong(v: number) {
    this.room(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }
  /** A string: its UTF-8 length (u32), then its bytes. */
  str(s: string) {
    if (s.length <= SHORT_WRITE && this.ascii(s, 4)) return;
    const n = Buffer.byteLength(s);
    this.u32(n);
    this.utf8(s, n);
  }
  /** A string: its UTF-8 length as a varint (uvar), then its bytes. */
  vstr(s: string) {
    if (s.length < 0x80 && this.ascii(s, 1)) return;
    const n = Buffer.byteLength(s);
    this.uvar(n);
    this.utf8(s, n);
  }
  private utf8(s: string, n: number) {
    this.room(n);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += n;
  }
  /**
   * A short ASCII string written in JS after its length in `lengthBytes` bytes (4: u32; 1: a one-byte varint, so
   * below 128) — most of what vigil's records hold: methods, routes, ids, roles. Two native calls per string (its
   * UTF-8 length, then the copy) cost more than the loop. False, having written nothing, when a character is not
   * ASCII.
   */
  private ascii(s: string, lengthBytes: 1 | 4): boolean {
    const n = s.length;
    this.room(lengthBytes + n);
    const buf = this.buf;
    const at = this.pos + lengthBytes;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[at + i] = c;
    }
    if (lengthBytes === 1) buf[this.pos] = n;
    else buf.writeUInt32LE(n, this.pos);
    this.pos = at + n;
    return true;
  }
  /** Bytes as they are, no length. */
  raw(b: Uint8Array) {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** Bytes after their length (u32). */
  bytes(b: Uint8Array) {
    this.u32(b.length);
    this.raw(b);
  }
  /** A copy of what was written since reset(). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

/**
 * Short ASCII strings read before, by a hash of their bytes (see ByteReader.shortString). Bounded: what comes first —
 * the field names and the few values every record repeats (methods, routes, roles) — is remembered; once it is full,
 * new strings are no longer. One per format: a checkpoint's field names must not be crowded out by the addresses and
 * ids an access event carries (sharing one took checkpoint decoding to twice its time).
 */
export class StringInterner {
  readonly seen = new Map<number, string>();
  constructor(readonly max = 4096) {}
}

const SHORT = 24;
/**
 * Reads what a ByteWriter wrote. A string or number that runs past the buffer throws a RangeError; a single byte past
 * it reads as undefined. With an `end` inside the buffer only strings are checked against it (a number past it reads
 * the next bytes): callers check `atEnd()`, which a read past `end` fails.
 */
export class ByteReader {
  pos: number;
  /**
   * `interner`: where short strings are remembered (see StringInterner; none: each is read anew). `end`: where the
   * bytes to read stop (a record inside a larger buffer).
   */
  constructor(
    readonly buf: Buffer,
    from = 0,
    private readonly interner?: StringInterner,
    readonly end = buf.length,
  ) {
    this.pos = from;
  }
  u8() {
    return this.buf[this.pos++] as number;
  }
  u32() {
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  f64() {
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  /** What ByteWriter.uvar wrote; NaN when it runs past five bytes (no such number was written). */
  uvar() {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.buf[this.pos++] as number;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    return Number.NaN;
  }
  f32() {
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }
  /** What ByteWriter.uvarLong wrote; NaN when it runs past eight bytes (no such number was written). */
  uvarLong() {
    let v = 0;
    for (let scale = 1; scale < 2 ** 56; scale *= 0x80) {
      const b = this.buf[this.pos++] as number;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
    }
    return Number.NaN;
  }
  str() {
    return this.text(this.u32());
  }
  /** What ByteWriter.vstr wrote. */
  vstr() {
    return this.text(this.uvar());
  }
  private text(n: number) {
    if (!(this.pos + n <= this.end)) throw new RangeError(`a string of ${n} bytes runs past the end`);
    const s = n <= SHORT ? this.shortString(n) : this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  bytes() {
    const n = this.u32();
    if (!(this.pos + n <= this.end)) throw new RangeError(`${n} bytes run past the end`);
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }
  /** Whether every byte was read, and no more. */
  atEnd(): boolean {
    return this.pos === this.end;
  }

  /**
   * Short strings, read in JS: a native toString per field was a fifth of a checkpoint restore's time. ASCII only;
   * anything else goes through the UTF-8 decoder. A string read before (by a hash of its bytes, compared in full) is
   * handed out again: records repeat the same field names and values, and a new string for each cost an allocation
   * and, as a property name, a string-table lookup.
   */
  private shortString(n: number): string {
    const end = this.pos + n;
    const interner = this.interner;
    if (interner === undefined) return this.buf.toString('utf8', this.pos, end);
    let hash = n;
    for (let i = this.pos; i < end; i++) {
      const c = this.buf[i] as number;
      if (c >= 0x80) return this.buf.toString('utf8', this.pos, end);
      hash = (Math.imul(hash, 31) + c) | 0;
    }
    const seen = interner.seen.get(hash);
    if (seen !== undefined && this.holds(seen, n)) return seen;
    // A new string: one native copy (the bytes are ASCII, so Latin-1 reads them as UTF-8 would) beats building it
    // a character at a time.
    const s = this.buf.toString('latin1', this.pos, end);
    if (interner.seen.size < interner.max) interner.seen.set(hash, s);
    return s;
  }

  /** Whether the n bytes at pos spell `s` (ASCII). */
  private holds(s: string, n: number): boolean {
    if (s.length !== n) return false;
    for (let i = 0; i < n; i++) if (s.charCodeAt(i) !== this.buf[this.pos + i]) return false;
    return true;
  }
}
