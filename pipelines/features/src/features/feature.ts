// The contract every feature family implements, and the event-time rule they share.
//
// Event time. Features are computed at the event's own timestamp, never the wall clock. Each key keeps its own
// clock: an event older than the newest one already seen for that key (a late event) is counted as happening at
// that newest time — it never rewrites the past, and the same events in the same per-key order always give the
// same values. Keys are expired by event time (KeyedState).
import type { AccessEvent } from '@vigil/events';
import type { Checkpointable } from '../state/checkpoint.js';
import type { DeclaredFeatures } from './declare.js';
import type { Role } from './roles.js';

export interface FeatureFamily {
  /**
   * The family's stable identity: in the feature-schema hash and the prefix of its checkpoint keys. Never derived from
   * the class name, so renaming a class does not invalidate every bundle and checkpoint; change it only with the
   * family's meaning (a new schema).
   */
  readonly id: string;
  /** The family's features, declared in vector order (declare.ts): names, encodings, windows, meanings, positions. */
  readonly features: DeclaredFeatures;
  /** The entity whose events this family reads and keeps state on (see roles.ts). */
  readonly role: Role;
  /** Everything that changes the values (windows, TTLs, caps): part of the feature-schema hash. */
  readonly params: Record<string, number | string | boolean>;
  /**
   * Updates state with the event and writes this family's features into out[offset + position]. `principal` is the
   * event's principal key, computed once per event so every family stores the same string instance instead of a copy.
   */
  update(event: AccessEvent, out: Float64Array, offset: number, principal: string): void;
  /**
   * Every piece of state, by a stable name: what a checkpoint saves and a restore rebuilds. Keyed stores estimate
   * their own bytes (KeyedState's sizeOf), which the state budget and stateBytes() read.
   */
  readonly stores: Readonly<Record<string, Checkpointable>>;
}

/** A per-key clock implementing the late-event rule above. */
export function keyTime(state: { last: number }, ts: number): number {
  if (ts > state.last) state.last = ts;
  return state.last;
}

/** keyTime for a state kept in columns: the key's clock is `last[slot]`. */
export function slotTime(last: Float64Array, slot: number, ts: number): number {
  if (ts > (last[slot] as number)) last[slot] = ts;
  return last[slot] as number;
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** log1p of a count: compresses heavy benign tails (a payroll burst, a chatty app) so they do not dominate. */
export const logCount = (n: number) => Math.log1p(Math.max(0, n));
