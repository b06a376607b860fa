// The dead-letter record: one per input record that could not become an event. The original bytes are kept with
// secrets removed so an operator can see what the gateway sent and replay it once the cause is fixed.
import { z } from 'zod';
import { REASON_CODE_LIST } from './reasons.js';

export const deadLetterSchema = z.strictObject({
  reason: z.enum(REASON_CODE_LIST as [string, ...string[]]),
  detail: z.string().describe('Field path and expectation; never a value from the record.'),
  format: z.string(),
  source: z.strictObject({
    topic: z.string().optional(),
    partition: z.number().int().optional(),
    offset: z.string().optional(),
    file: z.string().optional(),
    line: z.number().int().optional(),
    index: z.number().int().optional().describe('Position inside a batch array.'),
  }),
  original: z.string().describe('The input record, secrets removed; truncated when very large.'),
  original_truncated: z.boolean(),
  original_bytes: z.number().int().nonnegative(),
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;
