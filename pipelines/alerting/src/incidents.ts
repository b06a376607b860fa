// One alert per entity per incident, not one per event. Decisions about the same entity (a principal by its first
// identifier, an IP, a username, a tenant) whose event times lie within `windowMs` of each other form one incident:
// - its first decision opens it and is sent at once (the SOC hears within the decision's latency);
// - a decision that raises the severity is sent at once as an update;
// - when no decision has arrived for `windowMs` (wall clock, counted from when the alerter was done with the
//   entity's last batch), the incident closes, with a final summary when events were added since the last message.
// The alert id is derived from the entity and the incident's first event time, so a replay of the same decisions
// yields the same ids, and a message's webhook-id (alert id + version) stays the same across delivery retries.
import { createHash } from 'node:crypto';
import { type Action, type Decision, type Entity, type Principal, principalKey } from '@vigil/events';

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
const ACTION_RANK: Record<Action, number> = { allow: 0, alert: 1, throttle: 2, step_up: 3, revoke: 4 };

export function severityOf(d: Pick<Decision, 'score' | 'action' | 'scores'>): Severity {
  if (d.action === 'revoke' || d.score >= 0.999) return 'critical';
  if (d.action === 'step_up' || d.action === 'throttle' || d.scores.rules === 1 || d.score >= 0.99) return 'high';
  return d.score >= 0.9 ? 'medium' : 'low';
}

export function entityKey(d: Pick<Decision, 'entity' | 'principal' | 'context'>): string {
  const p = d.principal;
  switch (d.entity) {
    case 'ip':
      return `ip:${p.client_ip ?? '?'}`;
    case 'username':
      return `user:${p.username ?? '?'}`;
    case 'tenant':
      return `tenant:${d.context?.tenant ?? 'all'}`;
    case 'account':
      return `account:${p.sub ?? p.username ?? '?'}`;
    default:
      return principalKey({ principal: p, client_ip: p.client_ip ?? '?' });
  }
}

export interface Evidence {
  feature: string;
  value: number;
  baseline: number;
}

export interface Incident {
  alert_id: string;
  entity: Entity;
  entity_key: string;
  first_seen: number;
  last_seen: number;
  events: number;
  max_score: number;
  action: Action;
  severity: Severity;
  /** The strongest value seen per reason feature. */
  evidence: Evidence[];
  /** Up to 20 request ids, the first ones. */
  request_ids: string[];
  principal: Principal;
  route?: string;
  tenant?: string;
  dry_run: boolean;
  bundle: string;
  /** Messages sent so far (the next message's version is this + 1). */
  version: number;
  sent_events: number;
  sent_severity: Severity;
  /** Wall time of the last decision (closing uses it). */
  touched_at: number;
}

export type AlertActivity = 'open' | 'update' | 'close';

export interface AlertMessage {
  /** The webhook-id: alert id and version, the same on every delivery attempt. */
  id: string;
  activity: AlertActivity;
  incident: Incident;
  at: number;
}

export class IncidentBook {
  private readonly open = new Map<string, Incident>();

  constructor(private readonly windowMs: number) {}

  get size(): number {
    return this.open.size;
  }

  /** Adds a decision; returns the message to send now (open or escalation), if any. Allow decisions are ignored. */
  add(d: Decision, now: number): AlertMessage | undefined {
    if (d.action === 'allow') return undefined;
    const key = entityKey(d);
    let inc = this.open.get(key);
    if (inc && d.ts > inc.last_seen + this.windowMs) {
      this.open.delete(key);
      inc = undefined;
    }
    const severity = severityOf(d);
    if (!inc) {
      inc = {
        alert_id: `va_${createHash('sha256').update(`${key}|${d.ts}`).digest('hex').slice(0, 24)}`,
        entity: d.entity,
        entity_key: key,
        first_seen: d.ts,
        last_seen: d.ts,
        events: 0,
        max_score: d.score,
        action: d.action,
        severity,
        evidence: [],
        request_ids: [],
        principal: d.principal,
        ...(d.context?.route !== undefined ? { route: d.context.route } : {}),
        ...(d.context?.tenant !== undefined ? { tenant: d.context.tenant } : {}),
        dry_run: d.dry_run,
        bundle: d.bundle,
        version: 0,
        sent_events: 0,
        sent_severity: severity,
        touched_at: now,
      };
      this.open.set(key, inc);
    }
    inc.events++;
    inc.first_seen = Math.min(inc.first_seen, d.ts);
    inc.last_seen = Math.max(inc.last_seen, d.ts);
    inc.max_score = Math.max(inc.max_score, d.score);
    if (ACTION_RANK[d.action] > ACTION_RANK[inc.action]) inc.action = d.action;
    if (SEVERITIES.indexOf(severity) > SEVERITIES.indexOf(inc.severity)) inc.severity = severity;
    inc.principal = { ...inc.principal, ...d.principal };
    inc.dry_run &&= d.dry_run;
    inc.touched_at = now;
    if (inc.request_ids.length < 20) inc.request_ids.push(d.request_id);
    for (const r of d.reasons) {
      const e = inc.evidence.find((x) => x.feature === r.feature);
      if (!e) inc.evidence.push({ feature: r.feature, value: r.value, baseline: r.baseline });
      else if (Math.abs(r.value) > Math.abs(e.value)) e.value = r.value;
    }
    if (inc.version === 0) return this.message(inc, 'open', now);
    if (SEVERITIES.indexOf(inc.severity) > SEVERITIES.indexOf(inc.sent_severity))
      return this.message(inc, 'update', now);
    return undefined;
  }

  /** Restarts the idle clock of the given entities' incidents (called once a batch's messages went out: time spent
   * waiting for a slow receiver is not the entity's idleness). */
  touch(decisions: Pick<Decision, 'entity' | 'principal' | 'context'>[], now: number): void {
    for (const d of decisions) {
      const inc = this.open.get(entityKey(d));
      if (inc) inc.touched_at = now;
    }
  }

  /**
   * Closes incidents idle for the window; returns their final summaries (only where events were added since the last
   * message).
   */
  due(now: number): AlertMessage[] {
    const out: AlertMessage[] = [];
    for (const [key, inc] of this.open) {
      if (now - inc.touched_at < this.windowMs) continue;
      this.open.delete(key);
      if (inc.events > inc.sent_events) out.push(this.message(inc, 'close', now));
    }
    return out;
  }

  private message(inc: Incident, activity: AlertActivity, now: number): AlertMessage {
    inc.version++;
    inc.sent_events = inc.events;
    inc.sent_severity = inc.severity;
    return { id: `${inc.alert_id}.${inc.version}`, activity, incident: structuredClone(inc), at: now };
  }
}
