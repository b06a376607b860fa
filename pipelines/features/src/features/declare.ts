// A feature is declared once, beside the family that computes it: its name, how its value is encoded, the window of
// event time it covers, the key its state sits under and what it means. Everything else reads the declaration: the
// family writes the value at the position its declaration gives (never a bare number), the extractor builds the schema
// (and its hash) from the declared names, `npm run docs` builds the feature table from the words, and the policy
// names features by a type that only declared names satisfy (a rule naming a missing feature fails the build) and
// undoes an encoding by the declaration rather than by hand.
//
// The name is the feature's identity: it is what a model bundle's schema, its hash and a rule name. Renaming a
// feature is a new schema (bundles retrain); its position in the vector follows from the declaration order.

/**
 * How a value is stored in the vector, so that a reader can undo it (`decodeFeature`):
 * - `log1p`: log1p of a count or magnitude (heavy benign tails compressed);
 * - `log2`: log2 of a ratio;
 * - `flag`: 0 or 1;
 * - `share`: a fraction in [0, 1];
 * - `plain`: the value itself (a z-score, nats, a count of minutes).
 */
export type Encoding = 'log1p' | 'log2' | 'flag' | 'share' | 'plain';

export interface FeatureDeclaration<N extends string = string> {
  readonly name: N;
  readonly encoding: Encoding;
  /** The window or horizon of event time the value covers. */
  readonly window: string;
  /** The key the family's state sits under, where it is finer than the role (a token, an account). */
  readonly key?: string;
  /** The definition, then what a high value means. */
  readonly means: string;
}

/** A family's declared features: the declarations in vector order, their names, and each one's position. */
export interface DeclaredFeatures<N extends string = string> {
  readonly list: readonly FeatureDeclaration<N>[];
  readonly names: readonly N[];
  /** Each feature's position within its family's part of the vector: write `out[offset + position.name]`. */
  readonly position: { readonly [K in N]: number };
}

/** Declares a family's features, in vector order; a name declared twice is an error at load. */
export function declareFeatures<const N extends string>(list: readonly FeatureDeclaration<N>[]): DeclaredFeatures<N> {
  const position = {} as Record<N, number>;
  list.forEach((d, i) => {
    if (d.name in position) throw new Error(`feature '${d.name}' is declared twice`);
    position[d.name] = i;
  });
  return { list, names: list.map((d) => d.name), position };
}

/** The value a feature encodes, before its encoding (a count from log1p, a ratio from log2). */
export function decodeValue(encoding: Encoding, value: number): number {
  if (encoding === 'log1p') return Math.expm1(value);
  if (encoding === 'log2') return 2 ** value;
  return value;
}
