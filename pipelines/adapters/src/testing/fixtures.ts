// Test helpers: a fixed pepper, JWT minting, and the path of the shared gateway samples.
import { fileURLToPath } from 'node:url';
import type { Pepper } from '../secrets/fingerprint.js';

export const TEST_PEPPER: Pepper = { version: 1, secret: 'test-pepper-not-for-production' };

export function mintJwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc(claims)}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk`;
}

export const SAMPLES_DIR = fileURLToPath(new URL('../../../../../shared/data/gateway-samples/', import.meta.url));
