// The fingerprint pepper is the one secret every deployment must choose. Published values — the examples' and the
// compose stack's placeholders, the demo's — protect nothing (anyone can compute their fingerprints), so they are
// refused wherever a pepper is configured; an operator's own value of 32 characters or more is theirs to choose.
import { z } from 'zod';

const PUBLISHED = new Set([
  'change-me-change-me-change-me-change-me',
  'set-by-VIGIL_PEPPER__SECRET',
  'compose-demo-pepper-replace-me-0123456789',
  'vigil-demo-pepper-public-do-not-use-in-production',
]);

/** Why a pepper cannot be used, or undefined when it can. */
export function pepperProblem(secret: string): string | undefined {
  if (secret.length < 32)
    return 'the pepper secret must be at least 32 characters — generate one with `openssl rand -hex 32`';
  if (PUBLISHED.has(secret) || /change-?me|replace-?me|placeholder/i.test(secret)) {
    return (
      'the pepper secret is a published placeholder ' +
      '— set VIGIL_PEPPER__SECRET to your own (`openssl rand -hex 32`)'
    );
  }
  return undefined;
}

/** The schema of a pepper secret, with pepperProblem's messages. */
export const pepperSecretSchema = z.string().superRefine((secret, ctx) => {
  const problem = pepperProblem(secret);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
