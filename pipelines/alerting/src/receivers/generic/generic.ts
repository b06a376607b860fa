// A generic JSON document: the incident's fields as vigil names them, for receivers that map fields themselves.
import type { AlertMessage } from '../../incidents.js';

export function genericAlert(m: AlertMessage) {
  const i = m.incident;
  return {
    type: `vigil.alert.${m.activity}`,
    id: m.id,
    alert_id: i.alert_id,
    timestamp: new Date(m.at).toISOString(),
    severity: i.severity,
    action: i.action,
    entity: i.entity,
    entity_key: i.entity_key,
    events: i.events,
    first_seen: i.first_seen,
    last_seen: i.last_seen,
    max_score: i.max_score,
    evidence: i.evidence,
    principal: i.principal,
    request_ids: i.request_ids,
    dry_run: i.dry_run,
    bundle: i.bundle,
    ...(i.route !== undefined ? { route: i.route } : {}),
    ...(i.tenant !== undefined ? { tenant: i.tenant } : {}),
  };
}
