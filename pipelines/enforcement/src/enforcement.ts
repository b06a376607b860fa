// What the revoker does at a gateway: one Enforcement per identifier. Its id ("kind:value") is the key on the
// compacted vigil.revocations topic and in every gateway list, so enforcing the same identifier twice updates one
// entry instead of adding a second.
import {
  decodeJson,
  expectNumber,
  expectObject,
  expectString,
  InvalidRecordError,
  type Principal,
} from '@vigil/events';

/** The identifier a gateway refuses. */
export const TARGET_KINDS = ['sub', 'jti', 'fingerprint', 'ip', 'username', 'credential', 'session'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];
export type EnforcedAction = 'revoke' | 'throttle' | 'step_up';

export interface Enforcement {
  /** `${kind}:${value}` — unique per identifier. */
  id: string;
  kind: TargetKind;
  value: string;
  action: EnforcedAction;
  /**
   * sub (revoke and step_up): tokens issued before this time (epoch seconds, compared with the token's iat) are
   * refused, so the subject's next login gets a token that works.
   */
  not_before?: number;
  /** When the entry lapses and is pruned (epoch ms, wall clock). */
  expires_at: number;
  /** The decision that asked for it. */
  request_id: string;
  decision_ts: number;
  tenant?: string;
  /** What HTTP and IdP adapters may need to name the thing to revoke (never a raw token: there is none past ingest). */
  principal: Pick<Principal, 'sub' | 'sid' | 'jti' | 'client_id' | 'consumer_id' | 'credential_id' | 'username'>;
  /** Reasons of the decision, for audit and the revocation record. */
  reasons: string[];
  /** When it was enforced (epoch ms); set by the revoker. */
  enforced_at?: number;
}

export const enforcementId = (kind: TargetKind, value: string) => `${kind}:${value}`;

const KINDS: ReadonlySet<string> = new Set(TARGET_KINDS);
const ACTIONS: ReadonlySet<string> = new Set(['revoke', 'throttle', 'step_up']);

/** An enforcement from vigil.revocations; throws InvalidRecordError (a field path, no value) when it is not one. */
export function decodeEnforcement(value: Buffer): Enforcement {
  const o = expectObject(decodeJson(value), 'enforcement');
  for (const key of ['id', 'value', 'request_id']) expectString(o, key);
  if (!KINDS.has(o.kind as string)) throw new InvalidRecordError('kind: not a target kind');
  if (!ACTIONS.has(o.action as string)) throw new InvalidRecordError('action: not an enforced action');
  expectNumber(o, 'expires_at');
  expectObject(o.principal, 'principal');
  if (!Array.isArray(o.reasons)) throw new InvalidRecordError('reasons: not an array');
  return o as unknown as Enforcement;
}
