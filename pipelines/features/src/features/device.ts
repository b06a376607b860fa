// Known devices per principal: whether this request's client — its user agent, and its TLS client certificate where
// the gateway logs one — is among the few the principal has used in the last 30 days. A customer travelling with
// their own phone logs in from a new country on a known device; a login cracked by credential stuffing comes from the
// attacker's tool, whatever user agent it sends, unless it guesses the victim's exact one. 1 = known, 0 = a client not
// seen for this principal (a new device, or a principal with no history: absence of a known device is no evidence
// either way, which is why the feature says "known" rather than "new").
// Clients are kept as 53-bit hashes (chosen-hash.ts), at most four, most recent last. A collision only makes a new
// client read as known — which is what an attacker would want: a 32-bit FNV-1a (kept until 2026-12-06) lets a stuffing
// tool pad its user agent to hash as a popular browser's client, known to every principal who uses that browser.
// Clients a checkpoint of that version holds are kept as they were (negative, -hash - 1) and still recognised by their
// old hash, once each: the first request that matches one puts the new hash in its place. Until then such an entry is
// as open to a forged user agent as it was before (docs/operations.md, "Upgrading to hashed token state and object
// ids", says how to close it at once).

import type { AccessEvent } from '@vigil/events';
import type { StateColumns } from '../state/columns.js';
import { KeyedState } from '../state/keyed-state.js';
import { RecentColumns } from '../state/recent-columns.js';
import { clientChosenHash, FNV_OFFSET, FNV_PRIME, fnv } from './chosen-hash.js';
import { declareFeatures } from './declare.js';
import { DAY, type FeatureFamily } from './feature.js';

export const DEVICE_FEATURES = declareFeatures([
  {
    name: 'agent_known',
    encoding: 'flag',
    window: '30 d',
    means:
      "1 when the request's client (user agent, and TLS client certificate where logged) is one of the four the " +
      "principal used most recently; 0 for a client new to it, or a principal with no history — a traveller's own " +
      'phone is known, a stuffing tool is not',
  },
]);
const F = DEVICE_FEATURES.position;

/** A principal's clients in object form: what checkpoints encode (DeviceColumns keeps them in columns). */
interface Devices {
  /** Hashes of the clients seen (clientChosenHash; -clientHash - 1 for one from before it), most recent last. */
  known: number[];
}

/** The clients as checkpoints held them before 2026-12-06: 32-bit FNV-1a hashes (clientHash). Read, never written. */
interface FnvDevices {
  clients: number[];
}

/** The clients in columns: up to four hashes a principal (an object and an array of them took ~120 bytes). */
class DeviceColumns implements StateColumns<Devices> {
  readonly clients: RecentColumns;
  /** Some slot was given a client from before the chosen hashes: only then is a new client looked for among them. */
  legacy = false;

  constructor(max: number) {
    this.clients = new RecentColumns(max, true);
  }

  grow(slots: number): void {
    this.clients.grow(slots);
  }

  write(slot: number, s: Devices | FnvDevices): void {
    const known = 'known' in s ? s.known : s.clients.map(fnvClient);
    if (known.some((c) => c < 0)) this.legacy = true;
    this.clients.write(slot, known);
  }

  read(slot: number): Devices {
    return { known: this.clients.read(slot) };
  }

  get slotBytes(): number {
    return this.clients.slotBytes;
  }
}

/** A client from before the chosen hashes, as the columns keep it: below zero, where no chosen hash is. */
const fnvClient = (hash: number) => -hash - 1;

/**
 * FNV-1a over the UTF-16 code units of user agent, NUL, TLS fingerprint: how clients were kept before 2026-12-06 (and
 * still recognised once each). Fed string by string: no joined string is built.
 */
export function clientHash(userAgent: string, tls: string): number {
  let h = fnv(FNV_OFFSET, userAgent);
  h = Math.imul(h, FNV_PRIME); // the NUL between the two (x ^ 0 = x)
  return fnv(h, tls) >>> 0;
}

export class KnownDevices implements FeatureFamily {
  readonly id = 'KnownDevices';
  readonly features = DEVICE_FEATURES;
  readonly role = 'principal';
  readonly params = { ttl: 30 * DAY, max_clients: 4, max_keys: 1_000_000 };
  private readonly devices = new DeviceColumns(this.params.max_clients);
  private readonly state = new KeyedState<Devices>({
    ttlMs: 30 * DAY,
    maxKeys: 1_000_000,
    columns: this.devices,
    keyedBy: 'principal',
  });
  readonly stores = { principals: this.state };

  update(event: AccessEvent, out: Float64Array, offset: number, principal: string): void {
    const ua = event.user_agent ?? '';
    const tls = event.tls_client_fingerprint ?? '';
    const client = clientChosenHash(ua, tls);
    // Expiry is the store's (by event time); the list needs no clock of its own.
    const slot = this.state.slot(principal, event.ts, () => ({ known: [] }));
    const clients = this.devices.clients;
    // A client from before the chosen hashes gives its place to the new hash (visit then puts it last).
    const known =
      clients.has(slot, client) || (this.devices.legacy && clients.remove(slot, fnvClient(clientHash(ua, tls))));
    out[offset + F.agent_known] = known ? 1 : 0;
    clients.visit(slot, client);
  }
}
