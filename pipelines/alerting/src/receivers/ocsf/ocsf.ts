// An OCSF Detection Finding (class 2004, OCSF 1.3): what SIEMs that speak OCSF ingest as is.
import type { AlertMessage, Severity } from '../../incidents.js';
import { describe, title } from '../words.js';

const OCSF_SEVERITY: Record<Severity, [number, string]> = {
  low: [2, 'Low'],
  medium: [3, 'Medium'],
  high: [4, 'High'],
  critical: [5, 'Critical'],
};
const OCSF_ACTIVITY = { open: [1, 'Create'], update: [2, 'Update'], close: [3, 'Close'] } as const;

export function ocsfDetectionFinding(m: AlertMessage, productVersion = '0.1.0') {
  const i = m.incident;
  const [activityId, activityName] = OCSF_ACTIVITY[m.activity];
  const [severityId, severity] = OCSF_SEVERITY[i.severity];
  return {
    class_uid: 2004,
    class_name: 'Detection Finding',
    category_uid: 2,
    category_name: 'Findings',
    activity_id: activityId,
    activity_name: activityName,
    type_uid: 2004 * 100 + activityId,
    type_name: `Detection Finding: ${activityName}`,
    time: m.at,
    severity_id: severityId,
    severity,
    status_id: m.activity === 'close' ? 4 : m.activity === 'open' ? 1 : 2,
    status: m.activity === 'close' ? 'Resolved' : m.activity === 'open' ? 'New' : 'In Progress',
    message: title(m),
    count: i.events,
    risk_score: Math.round(i.max_score * 100),
    confidence_score: Math.round(i.max_score * 100),
    metadata: {
      version: '1.3.0',
      product: { name: 'vigil', vendor_name: 'vigil', version: productVersion },
      uid: m.id,
    },
    finding_info: {
      uid: i.alert_id,
      title: title(m),
      desc: describe(m),
      first_seen_time: i.first_seen,
      last_seen_time: i.last_seen,
      types: i.evidence.map((e) => e.feature),
      analytic: { name: `vigil bundle ${i.bundle}`, type_id: 4, type: 'Learning (ML/DL)' },
      related_events_count: i.events,
    },
    ...(i.principal.sub !== undefined || i.principal.username !== undefined
      ? {
          actor: {
            user: {
              ...(i.principal.sub !== undefined ? { uid: i.principal.sub } : {}),
              ...(i.principal.username !== undefined ? { name: i.principal.username } : {}),
            },
          },
        }
      : {}),
    ...(i.principal.client_ip !== undefined ? { src_endpoint: { ip: i.principal.client_ip } } : {}),
    unmapped: {
      vigil: {
        action: i.action,
        entity: i.entity,
        entity_key: i.entity_key,
        dry_run: i.dry_run,
        request_ids: i.request_ids,
        evidence: i.evidence,
        ...(i.route !== undefined ? { route: i.route } : {}),
        ...(i.tenant !== undefined ? { tenant: i.tenant } : {}),
      },
    },
  };
}
