// Known devices per principal: whether this request's client — its user agent, and its TLS client certificate where
// the gateway logs one — is among the few the principal has used in the last 30 days. A customer travelling with
// their own phone logs in from a new country on a known device; a login cracked by credential stuffing comes from the
// attacker's tool, whatever user agent it sends, unless it guesses the victim's exact one. 1 = known, 0 = a client not
// seen for this principal (a new device, or a principal with no history: absence of a known device is no evidence
// either way, which is why the feature says "known" rather than "new").
// Clients are kept as 32-bit FNV-1a hashes (a collision only makes a new client read as known), at most four, most
// recent last.

import type { AccessEvent } from '@vigil/events';
import type { StateColumns } from '../state/columns.js';
import { KeyedState } from '../state/keyed-state.js';
import { RecentColumns } from '../state/recent-columns.js';
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
  /** Hashes of the clients seen, most recent last. */
  clients: number[];
}

/** The clients in columns: up to four 32-bit hashes a principal (an object and an array of them took ~120 bytes). */
class DeviceColumns implements StateColumns<Devices> {
  readonly clients: RecentColumns;

  constructor(max: number) {
    this.clients = new RecentColumns(max);
  }

  grow(slots: number): void {
    this.clients.grow(slots);
  }

  write(slot: number, s: Devices): void {
    this.clients.write(slot, s.clients);
  }

  read(slot: number): Devices {
    return { clients: this.clients.read(slot) };
  }

  get slotBytes(): number {
    return this.clients.slotBytes;
  }
}

/**
 * FNV-1a over the UTF-16 code units of user agent, NUL, TLS fingerprint: fast, deterministic, good enough to tell a
 * handful of clients apart. Fed string by string (this runs on every request: no joined string is built).
 */
export function clientHash(userAgent: string, tls: string): number {
  let h = fnv(0x811c9dc5, userAgent);
  h = Math.imul(h, 0x01000193); // the NUL between the two (x ^ 0 = x)
  return fnv(h, tls) >>> 0;
}

/** FNV-1a over one string's UTF-16 code units (a token's network, say). */
export const fnv1a = (s: string) => fnv(0x811c9dc5, s) >>> 0;

function fnv(seed: number, s: string): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
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
    const client = clientHash(event.user_agent ?? '', event.tls_client_fingerprint ?? '');
    // Expiry is the store's (by event time); the list needs no clock of its own.
    const slot = this.state.slot(principal, event.ts, () => ({ clients: [] }));
    const clients = this.devices.clients;
    out[offset + F.agent_known] = clients.has(slot, client) ? 1 : 0;
    clients.visit(slot, client);
  }
}
