// Token fingerprints: the only form in which a credential leaves the adapter. Versioned so a pepper can be rotated.
import { createHmac } from 'node:crypto';

export interface Pepper {
  /** Version written into the fingerprint ("v1:…"); bump it when the pepper rotates. */
  readonly version: number;
  readonly secret: string;
}

export function fingerprint(pepper: Pepper, credential: string): string {
  return `v${pepper.version}:${createHmac('sha256', pepper.secret).update(credential).digest('hex')}`;
}
