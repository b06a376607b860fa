// Fingerprints and decoded claims of recently seen credentials. One token serves many requests, and an HMAC plus a
// JWT decode per request was the most expensive step of parsing; the cache is bounded and lives only in memory
// (it holds raw credentials as keys, exactly as long as parsing would, and is never serialised).
import { FifoCache } from '@vigil/core';
import { decodeJwtClaims, fingerprint, type Pepper, type TokenClaims } from '@vigil/events';

export interface CredentialFacts {
  fingerprint: string;
  claims: TokenClaims;
}

export class CredentialCache {
  private readonly entries: FifoCache<string, CredentialFacts>;

  constructor(
    private readonly pepper: Pepper,
    capacity = 50_000,
  ) {
    this.entries = new FifoCache(capacity);
  }

  facts(credential: string): CredentialFacts {
    const hit = this.entries.get(credential);
    if (hit) return hit;
    const facts = { fingerprint: fingerprint(this.pepper, credential), claims: decodeJwtClaims(credential) };
    this.entries.set(credential, facts);
    return facts;
  }
}
