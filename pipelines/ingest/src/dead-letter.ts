// Builds the dead-letter record for input that could not become an event: the reason code, where it came from,
// and the original bytes with credentials scrubbed (so the DLQ never becomes a second copy of raw tokens).
import { scrubText } from '@vigil/adapters';
import type { RecordPosition } from '@vigil/connectors';
import type { DeadLetter, ReasonCode } from '@vigil/events';

export function deadLetter(
  value: Buffer,
  failure: { reason: ReasonCode; detail: string },
  format: string,
  position: RecordPosition,
  maxOriginalBytes: number,
): DeadLetter {
  const truncated = value.length > maxOriginalBytes;
  // Lossy decoding on purpose: invalid UTF-8 is one of the reasons a record lands here.
  const original = scrubText(value.subarray(0, maxOriginalBytes).toString('utf8'));
  const source: DeadLetter['source'] = {};
  if (position.topic !== undefined) source.topic = position.topic;
  if (position.partition !== undefined) source.partition = position.partition;
  if (position.offset !== undefined) source.offset = position.offset;
  if (position.file !== undefined) source.file = position.file;
  if (position.line !== undefined) source.line = position.line;
  if (position.index !== undefined) source.index = position.index;
  return {
    reason: failure.reason,
    detail: failure.detail,
    format,
    source,
    original,
    original_truncated: truncated,
    original_bytes: value.length,
  };
}
