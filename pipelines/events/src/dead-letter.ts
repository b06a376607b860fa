// The dead-letter record: one per input record that could not become an event (or that a later stage could not
// process). It says why (a stable reason code), where the record came from, and what may safely be kept of it: by
// default its structure with every value an operator could misuse replaced by type, length and HMAC fingerprint
// (`redacted`); optionally nothing (`dropped`) or the original bytes encrypted with the operator's key (`encrypted`).
// A raw token, password or Authorization header never reaches a dead letter in any mode.
import { z } from 'zod';
import { REASON_CODE_LIST } from './reasons.js';

export const redactedValueSchema = z
  .strictObject({
    redacted: z.enum(['string', 'number']),
    length: z.number().int().nonnegative(),
    hmac: z.string().describe('"v<pepper version>:" + HMAC-SHA256(pepper, value) in hex, like token fingerprints.'),
  })
  .describe('A value of the record that is not kept: its type, length and keyed fingerprint.');
export type RedactedValue = z.infer<typeof redactedValueSchema>;

export const redactedOriginalSchema = z.union([
  z
    .strictObject({ redacted: z.literal('json'), value: z.unknown() })
    .describe(
      "The record's JSON structure: keys as written (a key that looks like a credential is fingerprinted " +
        'as ~<16 hex>), methods, statuses, sizes, times, addresses and protocols kept where the ' +
        'value has that shape, URIs as route templates, every other string or number a RedactedValue.',
    ),
  z
    .strictObject({
      redacted: z.literal('text'),
      length: z.number().int().nonnegative(),
      hmac: z.string(),
      truncated: z.boolean().optional().describe('The record parsed but held more values than a dead letter keeps.'),
    })
    .describe(
      'A record with no usable structure (not UTF-8, not JSON, ' +
        'too large or too deep): its byte length and the HMAC of its bytes.',
    ),
]);
export type RedactedOriginal = z.infer<typeof redactedOriginalSchema>;

export const DEAD_LETTER_ORIGINAL_MODES = ['redacted', 'dropped', 'encrypted'] as const;
export type DeadLetterOriginalMode = (typeof DEAD_LETTER_ORIGINAL_MODES)[number];

export const deadLetterSchema = z.strictObject({
  reason: z.enum(REASON_CODE_LIST as [string, ...string[]]),
  detail: z.string().describe('Field path and expectation; never a value from the record.'),
  format: z.string().describe('The gateway format the record was read as, or the stage that could not process it.'),
  source: z.strictObject({
    topic: z.string().optional(),
    partition: z.number().int().optional(),
    offset: z.string().optional(),
    file: z.string().optional(),
    line: z.number().int().optional(),
    index: z.number().int().optional().describe('Position inside a batch array.'),
  }),
  original_mode: z.enum(DEAD_LETTER_ORIGINAL_MODES),
  original: redactedOriginalSchema.optional().describe('With original_mode "redacted".'),
  original_encrypted: z
    .string()
    .optional()
    .describe(
      'With original_mode "encrypted": "a256gcm.<iv>.<tag>.<ciphertext>" ' +
        "(base64url), the original bytes under the operator's key.",
    ),
  original_bytes: z.number().int().nonnegative(),
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;
