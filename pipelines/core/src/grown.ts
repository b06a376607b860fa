// Typed-array columns grow by copying into a larger one: one helper for every column store (the feature stores, the
// key tables, the changelog bookkeeping).

type Typed = Float64Array | Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array | Int8Array;

/** `a` grown to `n` elements (never shrunk), what it holds kept. */
export function grown<T extends Typed>(a: T, n: number): T {
  if (a.length >= n) return a;
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}
