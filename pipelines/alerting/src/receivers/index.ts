// Every kind of alert receiver, registered in one place: what its body is, and whether its deliveries are signed. A
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
   * Whether deliveries carry Standard Webhooks signatures (a secret is then required). A Slack incoming webhook
   * verifies nothing: its URL is the secret.
   */
  signed: boolean;
}

export const RECEIVER_KINDS = {
  ocsf: { render: (m) => ocsfDetectionFinding(m), signed: true },
  generic: { render: genericAlert, signed: true },
  slack: { render: slackText, signed: false },
} as const satisfies Record<string, ReceiverKind>;

export type PayloadFormat = keyof typeof RECEIVER_KINDS;
export const PAYLOAD_FORMATS = Object.keys(RECEIVER_KINDS) as [PayloadFormat, ...PayloadFormat[]];

/** The body a receiver of `format` gets for a message. */
export function payload(format: PayloadFormat, m: AlertMessage): string {
  return JSON.stringify(RECEIVER_KINDS[format].render(m));
}

export { genericAlert, ocsfDetectionFinding, slackText };
