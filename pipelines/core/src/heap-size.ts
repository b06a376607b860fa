// What the shapes feature state is made of take on V8's heap (Node 24, x64, no pointer compression), for the state
// budget's estimates (KeyedState's sizeOf). The budget is only as good as these: a store that takes 1.5 times what it
// charges lets the process hold 1.5 times its budget. So each family's estimate is built from its state's structure
// — its fields, arrays, typed arrays and Maps — with the figures below, rather than a constant fitted to one run of
// the simulator; `npm run bench:state-size` holds the estimates against the heap each family really takes.
//
// Measured with 100,000 of each shape held and the heap (+ external) compared after forced collections:
// - an object literal: 24 bytes and 8 per field; a field holding a number that is not a small integer (a timestamp,
//   a fraction) points to a 16-byte box of its own;
// - an array of exact length (a literal, concat, slice): 32, and 16 + 8 per element when not empty. One grown by push
//   reserves room for 17 elements (184 bytes): a bounded list in state is copied, not pushed, or kept in columns
//   (recent-columns.ts);
// - a typed array: ~200 bytes (object, ArrayBuffer, backing store) and its bytes;
// - a Map: 72 bytes and 28 per slot of its table, which holds 4, 8, 16, … entries; its keys and values on top;
// - a sequential one-byte string: 16 bytes and its characters, rounded up to 8.

/** A number that is not a small integer, in a field or a Map: its box. */
export const BOXED_NUMBER = 16;

/** An object literal of `fields` fields, `boxed` of them holding boxed numbers (their boxes included). */
export function objectBytes(fields: number, boxed = 0): number {
  return 24 + 8 * fields + BOXED_NUMBER * boxed;
}

/** An array of exactly `length` elements (numbers unboxed in a double array; other elements not included). */
export function arrayBytes(length: number): number {
  return length === 0 ? 32 : 48 + 8 * length;
}

/** A typed array (or Buffer) of `byteLength` bytes with its own ArrayBuffer. */
export function typedArrayBytes(byteLength: number): number {
  return 200 + byteLength;
}

/** A Map's own table for `size` entries; its keys and values not included. */
export function mapBytes(size: number): number {
  let slots = 4;
  while (slots < size) slots *= 2;
  return 72 + 28 * slots;
}

/** A string of `length` one-byte characters held by this state alone. */
export function stringBytes(length: number): number {
  return 16 + 8 * Math.ceil(length / 8);
}

/**
 * An id a state keeps as a Map key or a field (an object id, a username, a payee) when its length is not read: the
 * estimate runs on every event, and walking a Map of 256 ids to sum their lengths would cost more than the update.
 * 24 characters covers the usual ids (a UUID's 36 is a third more; a numeric id is less).
 */
export const ID_BYTES = stringBytes(24);

/** A Map of `size` ids (ID_BYTES each) to times or counts (boxed numbers): recent ids, payees, networks. */
export function idMapBytes(size: number): number {
  return mapBytes(size) + size * (ID_BYTES + BOXED_NUMBER);
}

/**
 * A Map of `size` hashes to times or counts (boxed), ids kept hashed: each hash counted boxed too — a 53-bit one is past
 * the small integers, a 32-bit one is from 2^31 (half of them).
 */
export function hashMapBytes(size: number): number {
  return mapBytes(size) + size * 2 * BOXED_NUMBER;
}
