// A gateway adapter applies and removes enforcements at one enforcement point. Contract:
// - apply and remove are idempotent (applying twice leaves one entry; removing a missing entry succeeds), because a
//   decision redelivered after a crash may be applied again;
// - they resolve only once the gateway confirmed the change, and throw a retriable error when it may succeed later
//   (the gateway is down or busy) and a non-retriable one when it never will (the gateway refused the request);
// - `resync` replaces everything the adapter manages with the given entries (after a gateway restart, say);
// - `supports` says which enforcements the adapter handles at all (an IdP revokes sessions, not IPs).
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
