// State in typed-array columns indexed by a store's slots, not an object per key (issue 17, lever 5: state in bytes,
// not objects). An object per key costs its header, a field per value and a boxed number for each double: ~90–280
// bytes for four to six numbers, and a wave brings millions of keys. The same numbers in columns cost 8 bytes each.
// Checkpoints still encode the state's object form (StateColumns.read), so a record reads the same to a vigil that
// keeps the state as objects, and back (write).

import { GROWTH } from './key-index.js';

/** A fixed-shape state kept in columns by slot: what a KeyedState with `columns` keeps its states in. */
export interface StateColumns<S> {
  /** Makes every column at least `slots` long, keeping what it holds. */
  grow(slots: number): void;
  /** Writes `state` (the object form the checkpoint codec reads and writes) into the slot. */
  write(slot: number, state: S): void;
  /** The slot's state in object form (a checkpoint record, `values()`). */
  read(slot: number): S;
  /**
   * Bytes each slot takes in the columns. A store's columns are as long as its key index's slots, held by the store
   * or not (an index shared with the principal's other stores), so the index charges them for every key it holds.
   */
  readonly slotBytes: number;
  /** Estimated bytes the slot's state holds beside the columns (a typed array of its own, say); none by default. */
  extraBytes?(slot: number): number;
  /** The slot is free: drop what is held for it beside the columns (optional). */
  free?(slot: number): void;
  /**
   * The family's per-key clock, when it keeps one: the latest event time the key was seen at, which the family moves
   * forward at every use (slotTime, right after slot()). Its store then reads it as the key's last-seen time (TTL,
   * expiry, the checkpoint record's header) instead of keeping a column of the same numbers (8 bytes a slot). The
   * store writes it only where no family update follows: a key created or restored. The array is the one the columns
   * hold after their latest grow().
   */
  readonly clock?: Float64Array;
}

/**
 * What `bytesPerSlot` of typed columns cost a key: the columns grow with the key index's slots, by an eighth
 * (key-index.ts, GROWTH), so they hold between one and 1.125 slots a key at the most keys they have held — counted at
 * that. They never shrink: once keys leave (expired, evicted), each key left holds more than it is charged.
 */
export const typedColumnBytes = (bytesPerSlot: number) => bytesPerSlot * GROWTH;

/**
 * A column of references (objects, strings) per slot: 8 bytes, in a plain array filled to the slots, whose store V8
 * grows by about half again — counted so, before typedColumnBytes' share of the slots.
 */
export const REFERENCE_COLUMN_BYTES = 12;

/**
 * A plain column (references) filled with undefined up to `n` elements: a plain array written past its end turns
 * holey, or into a dictionary.
 */
export function fillTo<T>(a: (T | undefined)[], n: number): void {
  // A run at a time: a restore fills every store's columns to hundreds of thousands of slots at once.
  while (n - a.length >= UNDEFINED_RUN.length) a.push(...UNDEFINED_RUN);
  while (a.length < n) a.push(undefined);
}

const UNDEFINED_RUN: undefined[] = Array.from({ length: 1024 }, () => undefined);
