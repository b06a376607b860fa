// Public surface of @vigil/events: the schemas every stage agrees on.

export type { AccessEvent, GatewayFormat, Login, Principal, PrincipalKeyKind, Transaction } from './access-event.js';
export {
  accessEventSchema,
  GATEWAY_FORMATS,
  loginSchema,
  principalKey,
  principalSchema,
  transactionSchema,
} from './access-event.js';
export { accessEventCodec } from './access-event-codec.js';
export {
  decodeAccessEvent,
  decodeDecision,
  decodeJson,
  expectArray,
  expectNumber,
  expectObject,
  expectString,
  InvalidRecordError,
  primeDecisionCheck,
  schemaCheck,
} from './codec.js';
export type { DeadLetter, DeadLetterOriginalMode, RedactedOriginal, RedactedValue } from './dead-letter.js';
export { DEAD_LETTER_ORIGINAL_MODES, deadLetterSchema, redactedOriginalSchema } from './dead-letter.js';
export type { Action, Decision, Entity } from './decision.js';
export { ACTIONS, decisionSchema, ENTITIES, reasonSchema } from './decision.js';
export { FORGIVEN_LOGIN_FAILURES, recordedFailures } from './login-failures.js';
export type { ReasonCode } from './reasons.js';
export { REASON_CODE_LIST, REASON_CODES } from './reasons.js';
export type { Pepper, TokenClaims } from './token.js';
export { decodeJwtClaims, fingerprint } from './token.js';
export type { TopicCodec } from './topic-codec.js';
export {
  BINARY_MAGIC,
  BinaryKind,
  binaryVersion,
  deadLetterCodec,
  decisionCodec,
  jsonCodec,
  readBinary,
  startBinary,
  writtenAsJson,
} from './topic-codec.js';
export { unitHash } from './unit-hash.js';
