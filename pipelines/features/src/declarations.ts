// Every declared feature of the standard families, by name: what the policy's rules name (FeatureName: a rule naming
// a feature no family declares does not compile), what `npm run docs` describes, and how a reader undoes a value's
// encoding. Its own entry point (`@vigil/features/declarations`) so that a reader of names and encodings (the policy)
// does not load the extractor and its changelog codec.
import { TENANT_LOGIN_FEATURES, USER_LOGIN_FEATURES } from './features/auth.js';
import { decodeValue, type FeatureDeclaration } from './features/declare.js';
import { DEVICE_FEATURES } from './features/device.js';
import { ENUMERATION_FEATURES } from './features/enumeration.js';
import { GEO_FEATURES } from './features/geo.js';
import { IP_FEATURES } from './features/ip.js';
import { TOKEN_FEATURES } from './features/token.js';
import { TRANSACTION_FEATURES } from './features/transaction.js';
import { VELOCITY_FEATURES } from './features/velocity.js';

const FAMILIES = [
  VELOCITY_FEATURES,
  ENUMERATION_FEATURES,
  GEO_FEATURES,
  TOKEN_FEATURES,
  DEVICE_FEATURES,
  TRANSACTION_FEATURES,
  IP_FEATURES,
  USER_LOGIN_FEATURES,
  TENANT_LOGIN_FEATURES,
] as const;

/** The name of a feature some standard family declares. */
export type FeatureName = (typeof FAMILIES)[number]['names'][number];

/** Every standard feature's declaration, by name. */
export const FEATURE_DECLARATIONS: ReadonlyMap<string, FeatureDeclaration> = new Map(
  FAMILIES.flatMap((f) => f.list.map((d): [string, FeatureDeclaration] => [d.name, d])),
);

/** A feature's value before its encoding (declare.ts): a count from log1p, a ratio from log2; else as stored. */
export function decodeFeature(name: FeatureName, value: number): number {
  const declared = FEATURE_DECLARATIONS.get(name);
  return declared ? decodeValue(declared.encoding, value) : value;
}

export type { DeclaredFeatures, Encoding, FeatureDeclaration } from './features/declare.js';
export { declareFeatures, decodeValue } from './features/declare.js';
