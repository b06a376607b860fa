// Token consistency: one token used from a different user agent, client certificate or network within minutes is
// a token that has been copied. Keyed by the token (fingerprint, else jti); networks are /24 (IPv4) or /48 (IPv6)
// so a client moving inside its provider's block does not count.
//
// A token's client (user agent and TLS client fingerprint) and network are kept as hashes in columns (issue 17, lever
// 5): an object holding the request's three strings took ~300 bytes a token, and a wave brings a new token with
// nearly every request. The client's is 53 bits of SHA-1 (chosen-hash.ts): a thief chooses its user agent, and a
// 32-bit FNV-1a of it could be matched to the victim's on purpose. The network's is a 32-bit FNV-1a: an address is not
// chosen as freely — matching a /24 network's hash means holding an address in another /24 whose hash collides with
// it (one in 256 of them). A collision only makes a changed client or network read as unchanged.

import { grown, hashMapBytes } from '@vigil/core';
import type { AccessEvent } from '@vigil/events';
import type { StateColumns } from '../state/columns.js';
import { KeyedState } from '../state/keyed-state.js';
import { clientChosenHash, fnv1a } from './chosen-hash.js';
import { declareFeatures } from './declare.js';
import { DAY, type FeatureFamily, logCount, MINUTE, slotTime } from './feature.js';

export function networkOf(ip: string): string {
  if (ip.includes(':')) return ip.split(':').slice(0, 3).join(':');
  const dot = ip.lastIndexOf('.');
  return dot > 0 ? ip.slice(0, dot) : ip;
}

/** The network's hash, as a token's state keeps it. */
export const networkHash = (ip: string) => fnv1a(networkOf(ip));

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** A token key's character codes, `~` first: filled for each key made (this runs on every request with a token). */
const KEY_CODES: number[] = [126, ...new Array<number>(12).fill(0)];
/** A hex digit's value, -1 for any other character. */
const hexDigit = (c: number) => (c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1);

/**
 * The store's key for a token fingerprint (`v<pepper version>:` and an HMAC-SHA256's 64 hex digits, events/token.ts):
 * `~` and the HMAC's first 72 bits in base64url, 13 characters (32 bytes on the heap). The whole fingerprint made a
 * 67-character key: ~90 bytes a token held for a day, and 67 in each of its changelog records. 72 bits of a keyed
 * hash keep a million live tokens apart but for one pair in ~10^10 (two tokens sharing a state would read as one token
 * used twice), and nobody without the pepper can choose them. A jti, or anything not shaped as a fingerprint, is its
 * own key.
 */
export function tokenKey(fingerprint: string): string {
  const hex = fingerprint.length - 64;
  if (hex < 3 || fingerprint.charCodeAt(hex - 1) !== 58 /* : */) return fingerprint;
  // Three hex digits are two base64url characters.
  for (let i = 0; i < 18; i += 3) {
    const a = hexDigit(fingerprint.charCodeAt(hex + i));
    const b = hexDigit(fingerprint.charCodeAt(hex + i + 1));
    const c = hexDigit(fingerprint.charCodeAt(hex + i + 2));
    if (a < 0 || b < 0 || c < 0) return fingerprint;
    const twelve = (a << 8) | (b << 4) | c;
    KEY_CODES[1 + (2 * i) / 3] = BASE64URL.charCodeAt(twelve >> 6);
    KEY_CODES[2 + (2 * i) / 3] = BASE64URL.charCodeAt(twelve & 63);
  }
  return String.fromCharCode(...KEY_CODES);
}

export const TOKEN_FEATURES = declareFeatures([
  {
    name: 'token_agent_changed_10m',
    encoding: 'flag',
    window: '10 min',
    key: 'token',
    means: '1 when one token shows another user agent / client certificate — a copied token',
  },
  {
    name: 'token_network_changed_10m',
    encoding: 'flag',
    window: '10 min',
    key: 'token',
    means: '1 when one token shows another /24 (/48) network — a copied token',
  },
  {
    name: 'token_networks_1h_log',
    encoding: 'log1p',
    window: '1 h',
    key: 'token',
    means: 'log1p(networks the token was used from)',
  },
]);
const F = TOKEN_FEATURES.position;

/** A token's use in object form: what checkpoints encode (UseColumns keeps it in columns). */
export interface Use {
  last: number;
  /** clientChosenHash(user agent, TLS client fingerprint) of the token's last request. */
  client: number;
  /** networkHash of its last request's address. */
  network: number;
  /** Network hash → event time, for the networks seen in the last hour, oldest first; made at a second network. */
  networks: Map<number, number> | undefined;
}

/** A use as checkpoints held it before the hashes (2026-12-06): the request's strings. Read, never written. */
export interface StringUse {
  last: number;
  userAgent: string;
  tls: string;
  network: string;
  networks: Map<string, number> | undefined;
}

/** An entry of the sparse map of networks by slot (one of its table's slots, the slot number unboxed). */
const SPARSE_ENTRY_BYTES = 28;

/** Uses in columns: the time, the client's and the network's hashes; a token's networks (few have two) by slot. */
class UseColumns implements StateColumns<Use> {
  last = new Float64Array(0);

  /** The key's clock (the latest event time it was seen at): its store's last-seen time too (StateColumns.clock). */
  get clock(): Float64Array {
    return this.last;
  }
  client = new Float64Array(0);
  network = new Uint32Array(0);
  readonly networks = new Map<number, Map<number, number>>();
  readonly slotBytes = 8 + 8 + 4;

  extraBytes(slot: number): number {
    const networks = this.networks.get(slot);
    return networks ? SPARSE_ENTRY_BYTES + hashMapBytes(networks.size) : 0;
  }

  grow(slots: number): void {
    this.last = grown(this.last, slots);
    this.client = grown(this.client, slots);
    this.network = grown(this.network, slots);
  }

  write(slot: number, u: Use | StringUse): void {
    this.last[slot] = u.last;
    if ('userAgent' in u) {
      // A record from before the hashes: hashed as this version would have hashed the request.
      this.client[slot] = clientChosenHash(u.userAgent, u.tls);
      this.network[slot] = fnv1a(u.network);
      this.setNetworks(slot, u.networks && new Map([...u.networks].map(([n, at]) => [fnv1a(n), at])));
    } else {
      this.client[slot] = u.client;
      this.network[slot] = u.network;
      this.setNetworks(slot, u.networks);
    }
  }

  read(slot: number): Use {
    return {
      last: this.last[slot] as number,
      client: this.client[slot] as number,
      network: this.network[slot] as number,
      networks: this.networks.get(slot),
    };
  }

  setNetworks(slot: number, networks: Map<number, number> | undefined): void {
    if (networks) this.networks.set(slot, networks);
    else this.networks.delete(slot);
  }

  free(slot: number): void {
    this.networks.delete(slot);
  }
}

export class TokenConsistency implements FeatureFamily {
  readonly id = 'TokenConsistency';
  readonly features = TOKEN_FEATURES;
  /** A token belongs to one principal, so its state lives with the principal's. */
  readonly role = 'principal';
  readonly params = { window: 10 * MINUTE, networks_window: 60 * MINUTE, ttl: DAY, max_networks: 16 };
  private readonly uses = new UseColumns();
  private readonly state = new KeyedState<Use>({ ttlMs: DAY, maxKeys: 1_000_000, columns: this.uses });
  readonly stores = { tokens: this.state };

  update(event: AccessEvent, out: Float64Array, offset: number): void {
    out.fill(0, offset, offset + TOKEN_FEATURES.names.length);
    const fingerprint = event.principal.token_fingerprint;
    const key = fingerprint !== undefined ? tokenKey(fingerprint) : event.principal.jti;
    if (key === undefined) return;
    const client = clientChosenHash(event.user_agent ?? '', event.tls_client_fingerprint ?? '');
    const network = networkHash(event.client_ip);
    const u = this.uses;
    const slot = this.state.slot(key, event.ts, () => ({ last: event.ts, client, network, networks: undefined }));
    const previous = u.last[slot] as number;
    const t = slotTime(u.last, slot, event.ts);
    const recent = t - previous <= 10 * MINUTE;
    if (recent && u.client[slot] !== client) out[offset + F.token_agent_changed_10m] = 1;
    const was = u.network[slot] as number;
    if (recent && was !== network) out[offset + F.token_network_changed_10m] = 1;
    let networks = u.networks.get(slot);
    if (networks === undefined && was !== network) {
      networks = new Map([[was, previous]]);
      u.networks.set(slot, networks);
    }
    u.client[slot] = client;
    u.network[slot] = network;
    if (networks) {
      networks.delete(network);
      networks.set(network, t);
      // Oldest first: drop networks not seen for an hour, and the oldest beyond the cap.
      for (const [n, at] of networks) {
        if (t - at > 60 * MINUTE || networks.size > this.params.max_networks) networks.delete(n);
        else break;
      }
      // A grown Map is charged now, not at the token's next request.
      this.state.recharge(slot);
    }
    out[offset + F.token_networks_1h_log] = logCount(networks?.size ?? 1);
  }
}
