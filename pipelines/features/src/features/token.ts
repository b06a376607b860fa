// Token consistency: one token used from a different user agent, client certificate or network within minutes is
// a token that has been copied. Keyed by the token (fingerprint, else jti); networks are /24 (IPv4) or /48 (IPv6)
// so a client moving inside its provider's block does not count.

import { idMapBytes, objectBytes, stringBytes } from '@vigil/core';
import type { AccessEvent } from '@vigil/events';
import { KeyedState } from '../state/keyed-state.js';
import { declareFeatures } from './declare.js';
import { DAY, type FeatureFamily, keyTime, logCount, MINUTE } from './feature.js';

export function networkOf(ip: string): string {
  if (ip.includes(':')) return ip.split(':').slice(0, 3).join(':');
  const dot = ip.lastIndexOf('.');
  return dot > 0 ? ip.slice(0, dot) : ip;
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

interface Use {
  last: number;
  userAgent: string;
  tls: string;
  network: string;
  /** Networks seen in the last hour, created when a second network appears. */
  networks: Map<string, number> | undefined;
}

export class TokenConsistency implements FeatureFamily {
  readonly id = 'TokenConsistency';
  readonly features = TOKEN_FEATURES;
  /** A token belongs to one principal, so its state lives with the principal's. */
  readonly role = 'principal';
  readonly params = { window: 10 * MINUTE, networks_window: 60 * MINUTE, ttl: DAY, max_networks: 16 };
  private readonly state = new KeyedState<Use>({
    ttlMs: DAY,
    maxKeys: 1_000_000,
    // Five fields (last boxed), the request's strings it keeps, and the networks with their times.
    sizeOf: (s) =>
      objectBytes(5, 1) +
      stringBytes(s.userAgent.length) +
      stringBytes(s.tls.length) +
      stringBytes(s.network.length) +
      (s.networks ? idMapBytes(s.networks.size) : 0),
  });
  readonly stores = { tokens: this.state };

  update(event: AccessEvent, out: Float64Array, offset: number): void {
    out.fill(0, offset, offset + TOKEN_FEATURES.names.length);
    const key = event.principal.token_fingerprint ?? event.principal.jti;
    if (key === undefined) return;
    const ua = event.user_agent ?? '';
    const tls = event.tls_client_fingerprint ?? '';
    const network = networkOf(event.client_ip);
    const s = this.state.get(key, event.ts, () => ({
      last: event.ts,
      userAgent: ua,
      tls,
      network,
      networks: undefined,
    }));
    const previous = s.last;
    const t = keyTime(s, event.ts);
    const recent = t - previous <= 10 * MINUTE;
    if (recent && (s.userAgent !== ua || s.tls !== tls)) out[offset + F.token_agent_changed_10m] = 1;
    if (recent && s.network !== network) out[offset + F.token_network_changed_10m] = 1;
    if (s.networks === undefined && s.network !== network) s.networks = new Map([[s.network, previous]]);
    s.userAgent = ua;
    s.tls = tls;
    s.network = network;
    if (s.networks) {
      s.networks.delete(network);
      s.networks.set(network, t);
      // Oldest first: drop networks not seen for an hour, and the oldest beyond the cap.
      for (const [n, at] of s.networks) {
        if (t - at > 60 * MINUTE || s.networks.size > this.params.max_networks) s.networks.delete(n);
        else break;
      }
    }
    out[offset + F.token_networks_1h_log] = logCount(s.networks?.size ?? 1);
  }
}
