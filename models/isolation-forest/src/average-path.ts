// c(n): the average path length of an unsuccessful search in a binary search tree of n points (Liu, Ting & Zhou
// 2008, eq. 1) — the expected depth still to go below a leaf that holds n training points, and the normaliser of
// the anomaly score.
const EULER_GAMMA = 0.5772156649015329;

export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}
