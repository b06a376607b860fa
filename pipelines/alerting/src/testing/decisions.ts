// Test decisions for the alerting tests: a suspicious request's decision, with overrides.
import type { Decision } from '@vigil/events';
import { type AlertMessage, IncidentBook } from '../incidents.js';

export const T0 = 1_800_000_000_000;

export function decision(over: Partial<Decision> = {}): Decision {
  return {
    ts: T0,
    decided_at: T0 + 100,
    request_id: 'r1',
    action: 'alert',
    entity: 'principal',
    score: 0.95,
    scores: { iforest: 0.9, autoencoder: 0.9 },
    principal: { sub: 'alice', client_ip: '198.51.100.7', token_fingerprint: `v1:${'b'.repeat(64)}` },
    reasons: [{ feature: 'distinct_objects_10m_log', value: 4.2, baseline: 0.7, contribution: 0.6 }],
    bundle: 'b1',
    dry_run: false,
    context: { route: '/v1/accounts/{id}', route_class: 'reads', tenant: 'retail' },
    ...over,
  };
}

/** The alert message a revoke decision opens: what each receiver kind renders in its tests. */
export function revokeMessage(): AlertMessage {
  const m = new IncidentBook(600_000).add(decision({ action: 'revoke', score: 0.9999 }), T0 + 200);
  if (!m) throw new Error('no message');
  return m;
}
