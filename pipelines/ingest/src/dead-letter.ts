// Builds the dead-letter record for input that could not become an event, or that a later stage could not process:
// the reason code, where it came from, and what the operator's policy keeps of the original — by default the
// adapter's redaction (structure, allowed fields, route templates, fingerprints; see @vigil/adapters' redact.ts), so
// the DLQ never becomes a second copy of raw tokens; or nothing; or the bytes encrypted under the operator's key.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deadLetterSource, type RecordPosition } from '@vigil/connectors';
import type { DeadLetter, DeadLetterOriginalMode, ReasonCode, RedactedOriginal } from '@vigil/events';

export interface DeadLetterPolicy {
  original: DeadLetterOriginalMode;
  /** 32 bytes, for `encrypted` (AES-256-GCM). */
  encryptionKey?: Buffer;
}

export const REDACTED_DEAD_LETTERS: DeadLetterPolicy = { original: 'redacted' };

/** Reads an AES-256 key given as base64 or hex; undefined when it is not 32 bytes. */
export function parseEncryptionKey(text: string): Buffer | undefined {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  return key.length === 32 ? key : undefined;
}

const b64 = (b: Buffer) => b.toString('base64url');

export function encryptOriginal(value: Buffer, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(value), cipher.final()]);
  return `a256gcm.${b64(iv)}.${b64(cipher.getAuthTag())}.${b64(ciphertext)}`;
}

/** The original bytes of an `encrypted` dead letter; throws when the key is not the one it was written with. */
export function decryptOriginal(sealed: string, key: Buffer): Buffer {
  const [alg, iv, tag, ciphertext] = sealed.split('.');
  if (alg !== 'a256gcm' || iv === undefined || tag === undefined || ciphertext === undefined)
    throw new Error('not an a256gcm dead-letter original');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
}

export function deadLetter(
  value: Buffer,
  failure: { reason: ReasonCode; detail: string },
  format: string,
  position: RecordPosition,
  policy: DeadLetterPolicy,
  redact: (value: Buffer) => RedactedOriginal,
): DeadLetter {
  const source = deadLetterSource(position);
  const letter: DeadLetter = {
    reason: failure.reason,
    detail: failure.detail,
    format,
    source,
    original_mode: policy.original,
    original_bytes: value.length,
  };
  if (policy.original === 'redacted') letter.original = redact(value);
  else if (policy.original === 'encrypted') {
    if (policy.encryptionKey === undefined)
      throw new Error('dead letters: original "encrypted" needs an encryption key');
    letter.original_encrypted = encryptOriginal(value, policy.encryptionKey);
  }
  return letter;
}
