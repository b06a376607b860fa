// Where offline commands get the fingerprint pepper: the environment, never a flag (flags end up in shell history).
import type { Pepper } from '@vigil/events';
import { pepperProblem } from '@vigil/runtime';

/** The demo's pepper: public, so fingerprints made with it protect nothing. Only for simulated traffic. */
export const DEMO_PEPPER: Pepper = { version: 1, secret: 'vigil-demo-pepper-public-do-not-use-in-production' };

export function pepperFromEnv(name: string): Pepper | undefined {
  const secret = process.env[name];
  if (secret === undefined || pepperProblem(secret) !== undefined) return undefined;
  const version = Number(process.env.VIGIL_PEPPER__VERSION ?? '1');
  return { version: Number.isInteger(version) && version > 0 ? version : 1, secret };
}
