// The front half shared by every format (see adapter.ts): decoding, limits and JSON, then the format's mapper.
import { createHash } from 'node:crypto';
import type { GatewayFormat } from '@vigil/events';
import type { Adapter, AdapterOptions, FormatMapper, ParseContext, RecordOutcome } from './adapter.js';
import { hasForbiddenKey, jsonDepth } from './json-limits.js';
import { redactOriginal } from './secrets/redact.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** A key that could reach Object.prototype if some later code merged records carelessly. */
const FORBIDDEN_KEY = /"(?:__proto__|constructor|prototype)"\s*:/;
/** JSON escapes can spell a forbidden key ("\u005f_proto__"); only then is the walk over the parsed record needed. */
const ESCAPED_KEY_CHAR = /\\u00[0-9a-fA-F]{2}[^"]*"\s*:/;

export function createAdapter(format: GatewayFormat, mapper: FormatMapper, options: AdapterOptions): Adapter {
  const checkTime = (ts: number, context: ParseContext | undefined): string | undefined => {
    if (ts < options.minEventTime || ts > options.maxEventTime) return 'timestamp: outside the plausible range';
    const received = context?.receivedAt;
    if (received !== undefined) {
      if (ts < received - options.maxPastSkewMs) return 'timestamp: too far before the record reached Kafka';
      if (ts > received + options.maxFutureSkewMs)
        return 'timestamp: after the record reached Kafka by more than the allowed skew';
    }
    return undefined;
  };

  return {
    format,
    redact: (input) => redactOriginal(input, options),
    // biome-ignore lint/complexity/noExcessiveCognitiveComplexity: written before the rule; to split (issue 19)
    parse(input, context) {
      const size = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength;
      if (size > options.maxRecordBytes) {
        return [
          {
            ok: false,
            reason: 'too_large',
            detail: `record: ${size} bytes exceeds the ${options.maxRecordBytes}-byte limit`,
          },
        ];
      }
      let text: string;
      if (typeof input === 'string') {
        text = input;
      } else {
        try {
          text = utf8.decode(input);
        } catch {
          return [{ ok: false, reason: 'invalid_utf8', detail: 'record: not valid UTF-8' }];
        }
      }
      if (text.trim() === '') return [{ ok: false, reason: 'empty', detail: 'record: empty' }];
      // Before anything parses or walks it: the depth, measured iteratively on the text (see json-limits.ts).
      if (jsonDepth(text, options.maxDepth) > options.maxDepth) {
        return [{ ok: false, reason: 'too_deep', detail: `record: nested deeper than ${options.maxDepth} levels` }];
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return [{ ok: false, reason: 'invalid_json', detail: 'record: not valid JSON' }];
      }
      if (FORBIDDEN_KEY.test(text) || (ESCAPED_KEY_CHAR.test(text) && hasForbiddenKey(parsed))) {
        return [
          { ok: false, reason: 'forbidden_key', detail: 'record: uses __proto__, constructor or prototype as a key' },
        ];
      }
      const batch = Array.isArray(parsed);
      const records: unknown[] = batch ? (parsed as unknown[]) : [parsed];
      if (batch && records.length === 0) return [{ ok: false, reason: 'empty', detail: 'record: empty batch array' }];
      if (records.length > options.maxBatch) {
        return [
          {
            ok: false,
            reason: 'batch_too_large',
            detail: `record: batch of ${records.length} exceeds ${options.maxBatch}`,
          },
        ];
      }
      let digest: string | undefined;
      const outcomes: RecordOutcome[] = [];
      for (let i = 0; i < records.length; i++) {
        const record = records[i];
        const index = batch ? i : undefined;
        if (typeof record !== 'object' || record === null || Array.isArray(record)) {
          outcomes.push({
            ok: false,
            reason: 'not_an_object',
            detail: 'record: not a JSON object',
            ...(batch ? { index: i } : {}),
          });
          continue;
        }
        // Without a gateway request id, a digest of the record keeps the id stable across replays.
        const fallbackId = () => {
          digest ??= createHash('sha256').update(text).digest('hex').slice(0, 32);
          return index === undefined ? `${format}-${digest}` : `${format}-${digest}-${index}`;
        };
        const result = mapper(record as Record<string, unknown>, options, fallbackId);
        if (!result.ok) {
          outcomes.push(batch ? { ...result, index: i } : result);
          continue;
        }
        const timeProblem = checkTime(result.event.ts, context);
        if (timeProblem !== undefined) {
          outcomes.push({
            ok: false,
            reason: 'timestamp_out_of_range',
            detail: timeProblem,
            ...(batch ? { index: i } : {}),
          });
          continue;
        }
        outcomes.push(batch ? { ok: true, event: result.event, index: i } : { ok: true, event: result.event });
      }
      return outcomes;
    },
  };
}
