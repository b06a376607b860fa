// Test helpers: a fixed pepper, JWT minting, and the path of the published gateway samples (copied into the repository
// with their sources, gateway-samples/SOURCES.md, so a clone's tests need nothing beside it).
import { fileURLToPath } from 'node:url';
import type { Pepper } from '@vigil/events';

export const TEST_PEPPER: Pepper = { version: 1, secret: 'test-pepper-not-for-production' };

export function mintJwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc(claims)}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk`;
}

export const SAMPLES_DIR = fileURLToPath(new URL('./gateway-samples/', import.meta.url));
