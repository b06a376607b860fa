// Public surface of @vigil/alerting.
export type { AlertAudit, AlerterOptions, CaepReceiver, DeadLetter, WebhookReceiver } from './alerter.js';
export { Alerter } from './alerter.js';
export type { CaepOptions, RevokedSubject } from './caep.js';
export { SESSION_REVOKED, sessionRevokedSet } from './caep.js';
export type { DeliveryResult, ReceiverTarget } from './delivery.js';
export { deliver } from './delivery.js';
export type { AlertActivity, AlertMessage, Evidence, Incident, Severity } from './incidents.js';
export { entityKey, IncidentBook, SEVERITIES, severityOf } from './incidents.js';
export type { Label } from './labels.js';
export { labelRow, labelSchema, VERDICTS } from './labels.js';
export type { PayloadFormat, ReceiverKind } from './receivers/index.js';
export {
  genericAlert,
  ocsfDetectionFinding,
  PAYLOAD_FORMATS,
  payload,
  RECEIVER_KINDS,
  slackText,
} from './receivers/index.js';
export type { RetryItem, RetryOptions as AlertRetryOptions } from './retry-queue.js';
export { decodeRetryItem, deliverQueued } from './retry-queue.js';
export type { SignedHeaders } from './signing.js';
export { secretKey, sign, signedHeaders, verify } from './signing.js';
