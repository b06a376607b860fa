// Rows of features as one row-major Float64Array: what the forest trains and scores on. Callers with number[][]
// convert once; the detector's micro-batches are built this way directly.

export interface Matrix {
  data: Float64Array;
  rows: number;
  cols: number;
}

export function toMatrix(rows: ArrayLike<ArrayLike<number>>): Matrix {
  const n = rows.length;
  const d = n > 0 ? (rows[0] as ArrayLike<number>).length : 0;
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const r = rows[i] as ArrayLike<number>;
    if (r.length !== d) throw new Error(`row ${i} has ${r.length} features, the first row has ${d}`);
    for (let j = 0; j < d; j++) data[i * d + j] = r[j] as number;
  }
  return { data, rows: n, cols: d };
}

export function isMatrix(x: unknown): x is Matrix {
  return typeof x === 'object' && x !== null && (x as Matrix).data instanceof Float64Array;
}
