// The partition Kafka's default partitioner gives a key: murmur2 of the key's bytes (UTF-8 for a string), its sign
// bit cleared, modulo the partition count — Java's Utils.murmur2 / toPositive, and kafkajs' DefaultPartitioner.
//
// Why vigil computes it itself: kafkajs' murmur2 works in its 64-bit Long class and makes a Buffer of every string
// key, several objects per four bytes of key; a profile of `bench:pipeline -- --events 300000` put that partitioner
// at ~4 % of the detector's CPU (ingest packs every event by it, and the transactional producer partitions every
// feature and decision record by it). 32-bit integer arithmetic (Math.imul) gives the same low 32 bits, which are
// all the hash keeps; a string is encoded into one reused buffer. Equality with kafkajs' function is a property test.

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 of bytes [0, length) of `data`, as a signed 32-bit integer. */
export function murmur2(data: Uint8Array, length = data.length): number {
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The last one to three bytes, each in turn (murmur2's fall-through switch).
  const rest = length & 3;
  if (rest === 3) h ^= (data[whole + 2] as number) << 16;
  if (rest >= 2) h ^= (data[whole + 1] as number) << 8;
  if (rest >= 1) h = Math.imul(h ^ (data[whole] as number), M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Reused for string keys: one allocation while keys stay within it. */
let scratch = Buffer.allocUnsafe(256);

/** The partition of `key` among `partitions` (a key's UTF-8 bytes, as kafkajs encodes a string key). */
export function partitionOfKey(key: string | Uint8Array, partitions: number): number {
  let hash: number;
  if (typeof key === 'string') {
    // At most three bytes per UTF-16 unit (a surrogate pair is four bytes for two units).
    if (3 * key.length > scratch.length) scratch = Buffer.allocUnsafe(Math.max(3 * key.length, 2 * scratch.length));
    hash = murmur2(scratch, scratch.write(key, 0, 'utf8'));
  } else {
    hash = murmur2(key);
  }
  return (hash & 0x7fffffff) % partitions;
}
