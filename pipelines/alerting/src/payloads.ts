// What a receiver gets, chosen per receiver: an OCSF Detection Finding (class 2004, OCSF 1.3), a generic JSON
// document, or Slack incoming-webhook text. None carries a raw token: decisions hold identifiers and fingerprints only.
import type { AlertMessage, Severity } from './incidents.js';

export const PAYLOAD_FORMATS = ['ocsf', 'generic', 'slack'] as const;
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];

const OCSF_SEVERITY: Record<Severity, [number, string]> = {
  low: [2, 'Low'],
  medium: [3, 'Medium'],
  high: [4, 'High'],
  critical: [5, 'Critical'],
};
const OCSF_ACTIVITY = { open: [1, 'Create'], update: [2, 'Update'], close: [3, 'Close'] } as const;

function title(m: AlertMessage): string {
  const i = m.incident;
  return `vigil: ${i.action} ${i.entity} ${i.entity_key}${i.dry_run ? ' (dry run)' : ''}`;
}

function describe(m: AlertMessage): string {
  const i = m.incident;
  const top = i.evidence
    .slice(0, 3)
    .map((e) => `${e.feature}=${round(e.value)} (baseline ${round(e.baseline)})`)
    .join(', ');
  return (
    `${i.events} suspicious request(s) from ${new Date(i.first_seen).toISOString()} to ` +
    `${new Date(i.last_seen).toISOString()}; max score ${i.max_score.toFixed(4)}; ${top || 'no reasons'}`
  );
}

const round = (x: number) => (Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 100) / 100);

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

export function slackText(m: AlertMessage) {
  const i = m.incident;
  const icon = {
    low: ':information_source:',
    medium: ':warning:',
    high: ':rotating_light:',
    critical: ':rotating_light::rotating_light:',
  }[i.severity];
  return {
    text: `${icon} *${i.severity.toUpperCase()}* ${title(m)} — ${describe(m)} (alert ${i.alert_id}, ${m.activity})`,
  };
}

export function payload(format: PayloadFormat, m: AlertMessage): string {
  switch (format) {
    case 'ocsf':
      return JSON.stringify(ocsfDetectionFinding(m));
    case 'slack':
      return JSON.stringify(slackText(m));
    default:
      return JSON.stringify(genericAlert(m));
  }
}
