// Hashes of what a client chooses (its user agent, the object ids it asks for), where state keeps a hash instead of
// the string (issue 17: bytes per principal). A 32-bit FNV-1a of them can be matched on purpose: a thief holding a
// stolen token and the victim's user agent and TLS fingerprint can pad its own user agent until it hashes as the
// victim's client (~2^32 cheap tries), and a BOLA walker on an API that accepts many spellings of one id (leading
// zeros) can spell each new account's id to hash as one it already read — evading the very features that compare
// them. 53 bits of SHA-1 (a double holds them exactly) take ~2^53 tries to match one hash, ~2^45 to match any of a
// principal's 256 remembered ids: days and an hour of a GPU for each request, where the attacker has minutes. Not
// keyed, so the same request gives the same hash in every process, live or replayed; ~1.5 µs a call.

import { hash } from 'node:crypto';

/** The first 53 bits of SHA-1 over `s` (UTF-8): an integer below 2^53. */
export function chosenHash(s: string): number {
  const d = hash('sha1', s, 'buffer');
  return d.readUIntBE(0, 6) * 32 + ((d[6] as number) >> 3);
}

/** chosenHash of a client: its user agent and TLS client fingerprint, NUL between them. */
export const clientChosenHash = (userAgent: string, tls: string) => chosenHash(`${userAgent}\u0000${tls}`);
