// Fingerprints and decoded claims of recently seen credentials. One token serves many requests, and an HMAC plus a
// JWT decode per request was the most expensive step of parsing; the cache is bounded and lives only in memory
// (it holds raw credentials as keys, exactly as long as parsing would, and is never serialised).
import { decodeJwtClaims, fingerprint, type Pepper, type TokenClaims } from '@vigil/events';

export interface CredentialFacts {
  fingerprint: string;
  claims: TokenClaims;
}

export class CredentialCache {
  private readonly entries = new Map<string, CredentialFacts>();

  constructor(
    private readonly pepper: Pepper,
    private readonly capacity = 50_000,
  ) {}

  facts(credential: string): CredentialFacts {
    const hit = this.entries.get(credential);
    if (hit) return hit;
    const facts = { fingerprint: fingerprint(this.pepper, credential), claims: decodeJwtClaims(credential) };
    // Map iteration order is insertion order: dropping the first key evicts the oldest entry.
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(credential, facts);
    return facts;
  }
}
