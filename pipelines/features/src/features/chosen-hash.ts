// Hashes of what a client chooses (its user agent, the object ids it asks for), where state keeps a hash instead of
// the string (issue 17: bytes per principal). A 32-bit FNV-1a of them can be matched on purpose in a moment (FNV-1a's
// last steps can be solved for two characters): a stuffing tool could pad its user agent to hash as a popular
// browser's client, known to every principal who uses it; a thief could do the same for a victim's client. 53 bits of
// SHA-1 (a double holds them exactly) take ~2^53 tries to match one given hash — days of a rented GPU for each client
// matched. Not proof against a walker that chooses both ids of a pair (spellings of two ids that hash alike: ~2^27
// tries): each such pair hides one new id behind one it was counted for, so its novel count halves at most. A keyed
// hash (an HMAC with a deployment secret) would rule out matching offline altogether; the feature stages hold no
// such secret today. Not keyed, the same request gives the same hash in every process, live or replayed; ~1.5 µs a
// call, and the client's once per request for the families that read it.
//
// FNV-1a is here too, for what a client does not choose as freely (a token's network: token.ts) and for the clients
// KnownDevices kept before (device.ts).

import { hash } from 'node:crypto';

/** The first 53 bits of SHA-1 over `s` (UTF-8): an integer below 2^53. */
export function chosenHash(s: string): number {
  const d = hash('sha1', s, 'buffer');
  return d.readUIntBE(0, 6) * 32 + ((d[6] as number) >> 3);
}

/** The last client hashed: KnownDevices and TokenConsistency hash the same request's client one after the other. */
let lastAgent: string | undefined;
let lastTls: string | undefined;
let lastClient = 0;

/** chosenHash of a client: its user agent and TLS client fingerprint, NUL between them. */
export function clientChosenHash(userAgent: string, tls: string): number {
  if (userAgent !== lastAgent || tls !== lastTls) {
    lastClient = chosenHash(`${userAgent}\u0000${tls}`);
    lastAgent = userAgent;
    lastTls = tls;
  }
  return lastClient;
}

export const FNV_OFFSET = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;

/** FNV-1a's state after `s`'s UTF-16 code units, from `seed` (not yet made unsigned: `>>> 0`). */
export function fnv(seed: number, s: string): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
}

/** 32-bit FNV-1a over one string's UTF-16 code units (a token's network). */
export const fnv1a = (s: string) => fnv(FNV_OFFSET, s) >>> 0;
