// A string's deterministic position in [0, 1): FNV-1a followed by MurmurHash3's 32-bit finaliser. The finaliser
// matters — plain FNV-1a leaves its top bits poorly mixed for short, similar strings ("sub:cust-0001", …), so
// "hash < 0.2" picked 7 % of such keys instead of 20 %. Used wherever a share of keys is chosen by hash (held-out
// principals, sampling by request id), so replays choose the same ones.
export function unitHash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}
