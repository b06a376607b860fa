// An enforcement target — a gateway adapter — applies and removes enforcements at one enforcement point. Each kind
// of target is one folder here (its config schema, its implementation) registered in ./index.ts; the revoker's
// `adapters` config section, its checks and its start-up are built from that list. Contract of an adapter:
// - apply and remove are idempotent (applying twice leaves one entry; removing a missing entry succeeds), because a
//   decision redelivered after a crash may be applied again;
// - apply may be called for several enforcements at once (a decision's identifiers after its first: revoker.ts), each
//   a different identifier: an adapter that keeps a whole list must not lose one call's change to another's;
// - they resolve only once the gateway confirmed the change, and throw a retriable error when it may succeed later
//   (the gateway is down or busy) and a non-retriable one when it never will (the gateway refused the request);
// - `resync` replaces everything the adapter manages with the given entries (after a gateway restart, say);
// - `supports` says which enforcements the adapter handles at all (an IdP revokes sessions, not IPs).
import type { z } from 'zod';
import type { Enforcement } from '../enforcement.js';

export interface GatewayAdapter {
  readonly name: string;
  supports(e: Enforcement): boolean;
  apply(e: Enforcement): Promise<void>;
  remove(e: Enforcement): Promise<void>;
  /** Replaces the adapter's whole list with `entries` (only those it supports are passed). */
  resync?(entries: Enforcement[]): Promise<void>;
  /** True when the gateway lost what it was given (it restarted) and needs a resync. */
  lostState?(): Promise<boolean>;
  close(): Promise<void>;
}

/** A kind of target: how it is configured (entries under the revoker's `adapters.<key>`) and built. */
export interface TargetType<K extends string, S extends z.ZodType> {
  /** Its key under the revoker config's `adapters`. */
  key: K;
  /** One configured entry. */
  schema: S;
  /** The name entry `index` goes by in audit rows, metrics and logs (unique across every configured target). */
  nameOf(entry: z.output<S>, index: number): string;
  /** The entry's adapter, under the name nameOf gave it. */
  build(entry: z.output<S>, name: string): GatewayAdapter;
}

/** Declares a kind of target, keeping its key and entry types. */
export const defineTarget = <const K extends string, S extends z.ZodType>(t: TargetType<K, S>): TargetType<K, S> => t;
