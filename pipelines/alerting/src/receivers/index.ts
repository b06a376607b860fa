// Every kind of alert receiver, registered in one place: what its body is, and whether it needs a secret. A
// new kind is a folder here (its rendering and its tests) and one line below; the alerter's config accepts it as a
// receiver's `format`, and the receivers' suite (receivers.test.ts) judges it.
import type { AlertMessage } from '../incidents.js';
import { genericAlert } from './generic/generic.js';
import { ocsfDetectionFinding } from './ocsf/ocsf.js';
import { slackText } from './slack/slack.js';

export interface ReceiverKind {
  /** The body a receiver of this kind gets for a message (serialised as JSON). */
  render(m: AlertMessage): unknown;
  /**
   * Whether a receiver of this kind must be given a secret: its receivers verify Standard Webhooks signatures. A Slack
   * incoming webhook verifies nothing (its URL is the secret); a secret given to one anyway still signs.
   */
  needsSecret: boolean;
}

export const RECEIVER_KINDS = {
  ocsf: { render: (m) => ocsfDetectionFinding(m), needsSecret: true },
  generic: { render: genericAlert, needsSecret: true },
  slack: { render: slackText, needsSecret: false },
} as const satisfies Record<string, ReceiverKind>;

export type PayloadFormat = keyof typeof RECEIVER_KINDS;
export const PAYLOAD_FORMATS = Object.keys(RECEIVER_KINDS) as [PayloadFormat, ...PayloadFormat[]];

/** The body a receiver of `format` gets for a message. */
export function payload(format: PayloadFormat, m: AlertMessage): string {
  return JSON.stringify(RECEIVER_KINDS[format].render(m));
}

export { genericAlert, ocsfDetectionFinding, slackText };
