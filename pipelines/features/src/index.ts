// Public surface of @vigil/features: feature families over event-time keyed state, and their composition.

export type { FeatureName } from './declarations.js';
export { decodeFeature, FEATURE_DECLARATIONS } from './declarations.js';
export type { FeatureSchema, StateStats } from './extractor.js';
export { FeatureExtractor } from './extractor.js';
export { TenantLogins, UserLogins } from './features/auth.js';
export type { DeclaredFeatures, Encoding, FeatureDeclaration } from './features/declare.js';
export { declareFeatures, decodeValue } from './features/declare.js';
export { clientHash, KnownDevices } from './features/device.js';
export { Enumeration } from './features/enumeration.js';
export type { FeatureFamily } from './features/feature.js';
export { GeoJump } from './features/geo.js';
export { IpActivity } from './features/ip.js';
export { loginOutcome } from './features/login.js';
export type { EntityRole, Role } from './features/roles.js';
export { ENTITY_ROLES, entityKeys } from './features/roles.js';
export { networkOf, TokenConsistency } from './features/token.js';
export { TransactionDeviation } from './features/transaction.js';
export { Velocity } from './features/velocity.js';
export type { GeoLookup, GeoPoint } from './geo/lookup.js';
export { MmdbGeoLookup } from './geo/lookup.js';
export { EntityFeatureTask } from './stages/entity-task.js';
export type { PrincipalTaskOptions } from './stages/principal-task.js';
export { PrincipalFeatureTask, waitingRequestBytes } from './stages/principal-task.js';
export type { EntityPart, FeatureRecord, RequestContext } from './stages/records.js';
export {
  decodeFeatureRecord,
  entityPartCodec,
  featureRecordCodec,
  KIND_HEADER,
  PART_KIND,
  ROLE_HEADER,
  requestContext,
  vectorValues,
} from './stages/records.js';
export type { StreamTaskOptions } from './stages/stream-task.js';
export { Cell, type Checkpointable, decodeState, encodeState } from './state/checkpoint.js';
export { KeyedState } from './state/keyed-state.js';
export { ReorderBuffer } from './state/reorder-buffer.js';
export { SlidingCounts } from './state/sliding-count.js';
export { StateBudget } from './state/state-budget.js';
export type { FeatureRow } from './stream.js';
export { FeatureStream } from './stream.js';
