// Row shapes of the analytics tables, built from pipeline records. Usernames and client IPs become keyed hashes
// when pseudonymisation is on, so analysts can still group by them without seeing them.
import { createHmac } from 'node:crypto';
import type { RecordPosition } from '@vigil/connectors';
import { type AccessEvent, type Decision, principalKey } from '@vigil/events';

export type Pseudonymiser = (value: string) => string;

export const identity: Pseudonymiser = (v) => v;
export const keyedHash =
  (key: string): Pseudonymiser =>
  (v) =>
    v === '' ? '' : `h:${createHmac('sha256', key).update(v).digest('hex').slice(0, 32)}`;

const day = (ts: number) => new Date(ts).toISOString().slice(0, 10);

/** A principal key with its username or IP part pseudonymised (sub and fingerprint keys are not personal data here). */
function principalColumn(key: string, pseudo: Pseudonymiser): string {
  const colon = key.indexOf(':');
  return key.startsWith('user:') || key.startsWith('ip:')
    ? `${key.slice(0, colon + 1)}${pseudo(key.slice(colon + 1))}`
    : key;
}

/** The source position columns every table is keyed by (ReplacingMergeTree: a redelivered row replaces itself). */
function sourceColumns(position: RecordPosition, ingestedAt: number) {
  return {
    src_topic: position.topic ?? position.file ?? '',
    src_partition: position.partition ?? 0,
    src_offset: position.offset ?? String(position.line ?? 0),
    src_index: position.index ?? 0,
    ingested_at: ingestedAt,
  };
}

export function accessEventRow(
  event: AccessEvent,
  position: RecordPosition,
  pseudo: Pseudonymiser,
  ingestedAt: number,
) {
  const p = event.principal;
  const key = principalKey(event);
  return {
    day: day(event.ts),
    ts: event.ts,
    request_id: event.request_id,
    gateway: event.gateway,
    method: event.method,
    route: event.route,
    path: event.path,
    status: event.status,
    latency_ms: event.latency_ms ?? 0,
    bytes_in: event.bytes_in ?? 0,
    bytes_out: event.bytes_out ?? 0,
    client_ip: pseudo(event.client_ip),
    principal_key: principalColumn(key, pseudo),
    sub: p.sub ?? '',
    jti: p.jti ?? '',
    token_fingerprint: p.token_fingerprint ?? '',
    client_id: p.client_id ?? '',
    username: pseudo(p.username ?? ''),
    user_agent: event.user_agent ?? '',
    service: event.service ?? '',
    tx_amount: event.tx?.amount ?? null,
    tx_currency: event.tx?.currency ?? '',
    tx_payee: event.tx?.payee_id ?? '',
    tx_account: event.tx?.account_id ?? '',
    ...sourceColumns(position, ingestedAt),
  };
}
export type AccessEventRow = ReturnType<typeof accessEventRow>;

/** A feature record as the feature stage writes it (structural: the warehouse does not depend on @vigil/features). */
export interface FeatureRecordLike {
  ts: number;
  request_id: string;
  principal: string;
  schema: string;
  v: number[];
}

export function featureRow(f: FeatureRecordLike, position: RecordPosition, pseudo: Pseudonymiser, ingestedAt: number) {
  return {
    day: day(f.ts),
    ts: f.ts,
    request_id: f.request_id,
    principal_key: principalColumn(f.principal, pseudo),
    schema: f.schema,
    v: f.v,
    ...sourceColumns(position, ingestedAt),
  };
}

/** A decision record as a row of the decisions table; `shadow` marks a shadow bundle's verdict. */
export function decisionRow(
  d: Decision,
  principalKeyValue: string,
  shadow: boolean,
  position: RecordPosition,
  pseudo: Pseudonymiser,
  ingestedAt: number,
) {
  return {
    day: day(d.ts),
    ts: d.ts,
    decided_at: d.decided_at,
    request_id: d.request_id,
    action: d.action,
    entity: d.entity,
    score: d.score,
    score_iforest: d.scores.iforest,
    score_autoencoder: d.scores.autoencoder,
    score_rules: d.scores.rules ?? null,
    principal_key: principalColumn(principalKeyValue, pseudo),
    principal: JSON.stringify(d.principal),
    reasons: JSON.stringify(d.reasons),
    bundle: d.bundle,
    dry_run: d.dry_run ? 1 : 0,
    shadow: shadow ? 1 : 0,
    context: d.context ? JSON.stringify(d.context) : '',
    ...sourceColumns(position, ingestedAt),
  };
}

/** A stored decision row back as a decision record (what `vigil explain` shows). */
export function decisionFromRow(r: Record<string, unknown>): Decision {
  const rules = r.score_rules;
  return {
    ts: Number(r.ts),
    decided_at: Number(r.decided_at),
    request_id: String(r.request_id),
    action: r.action as Decision['action'],
    entity: r.entity as Decision['entity'],
    score: Number(r.score),
    scores: {
      iforest: Number(r.score_iforest),
      autoencoder: Number(r.score_autoencoder),
      ...(rules !== null && rules !== undefined ? { rules: Number(rules) } : {}),
    },
    principal: JSON.parse(String(r.principal)),
    reasons: JSON.parse(String(r.reasons)),
    bundle: String(r.bundle),
    dry_run: Number(r.dry_run) === 1,
    ...(r.context ? { context: JSON.parse(String(r.context)) } : {}),
  };
}
