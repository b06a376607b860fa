// Which entity a feature family keeps its state on, and the entity keys an event is re-keyed to.
//
// Families of the `principal` role read only the principal's own events (its token and account belong to it), so
// the instance that owns the principal computes them exactly. The other roles keep state on entities that many
// principals share; ingest re-keys each event to those entities (the entity topic), an entity stage computes their
// features where each entity's events meet, and the parts are joined back onto the request by the principal stage.
// A family of role R must depend only on the events entityKeys() gives role R, in (time, request id) order — that
// is what makes the joined vector equal the offline one, which runs every family over every event.
import type { AccessEvent } from '@vigil/events';
import { loginOutcome } from './login.js';

export type Role = 'principal' | 'ip' | 'user' | 'tenant';
export const ENTITY_ROLES = ['ip', 'user', 'tenant'] as const;
export type EntityRole = (typeof ENTITY_ROLES)[number];

/**
 * The entity records an event becomes: every request for its client IP; logins also for the username and the tenant.
 */
export function entityKeys(event: AccessEvent): [EntityRole, string][] {
  const out: [EntityRole, string][] = [['ip', `ip:${event.client_ip}`]];
  const outcome = loginOutcome(event);
  if (outcome !== undefined) {
    const username = event.login?.username ?? event.principal.username;
    if (username !== undefined) out.push(['user', `user:${username}`]);
    out.push(['tenant', 'tenant']);
  }
  return out;
}
