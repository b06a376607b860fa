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
    parse(input, context) {
      const decoded = decodeRecord(input, options);
      if ('reason' in decoded) return [decoded];
      const { text, records, batch } = decoded;
      let digest: string | undefined;
      const outcomes: RecordOutcome[] = [];
      for (let i = 0; i < records.length; i++) {
        const record = records[i];
        const index = batch ? i : undefined;
        if (typeof record !== 'object' || record === null || Array.isArray(record)) {
          outcomes.push({ ok: false, reason: 'not_an_object', detail: 'record: not a JSON object', ...indexed(index) });
          continue;
        }
        // Without a gateway request id, a digest of the record keeps the id stable across replays.
        const fallbackId = () => {
          digest ??= createHash('sha256').update(text).digest('hex').slice(0, 32);
          return index === undefined ? `${format}-${digest}` : `${format}-${digest}-${index}`;
        };
        const result = mapper(record as Record<string, unknown>, options, fallbackId);
        if (!result.ok) {
          outcomes.push({ ...result, ...indexed(index) });
          continue;
        }
        const timeProblem = checkTime(result.event.ts, context);
        if (timeProblem !== undefined) {
          outcomes.push({ ok: false, reason: 'timestamp_out_of_range', detail: timeProblem, ...indexed(index) });
          continue;
        }
        // The common case, without a spread: this is the per-record hot path (npm run bench:parse).
        outcomes.push(batch ? { ok: true, event: result.event, index: i } : { ok: true, event: result.event });
      }
      return outcomes;
    },
  };
}

type Failure = Extract<RecordOutcome, { ok: false }>;

/**
 * A record's bytes to the JSON records it holds (one, or a gateway's batch array), each limit checked before the
 * work it protects: size before decoding, UTF-8, depth before parsing, forbidden keys, batch size.
 */
function decodeRecord(
  input: Uint8Array | string,
  options: AdapterOptions,
): Failure | { text: string; records: unknown[]; batch: boolean } {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength;
  if (size > options.maxRecordBytes)
    return fail('too_large', `record: ${size} bytes exceeds the ${options.maxRecordBytes}-byte limit`);
  let text: string;
  try {
    text = typeof input === 'string' ? input : utf8.decode(input);
  } catch {
    return fail('invalid_utf8', 'record: not valid UTF-8');
  }
  if (text.trim() === '') return fail('empty', 'record: empty');
  // Before anything parses or walks it: the depth, measured iteratively on the text (see json-limits.ts).
  if (jsonDepth(text, options.maxDepth) > options.maxDepth)
    return fail('too_deep', `record: nested deeper than ${options.maxDepth} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail('invalid_json', 'record: not valid JSON');
  }
  if (FORBIDDEN_KEY.test(text) || (ESCAPED_KEY_CHAR.test(text) && hasForbiddenKey(parsed)))
    return fail('forbidden_key', 'record: uses __proto__, constructor or prototype as a key');
  // A lone surrogate in a record's bytes comes from a JSON escape (the UTF-8 decoder refuses invalid bytes, and a
  // lone surrogate cannot be encoded): replaced here, as UTF-8 must replace it, so an event reads the same from
  // vigil's binary topics as it was parsed. After the key check, and wellFormed defines keys rather than assigning.
  if (SURROGATE_ESCAPE.test(text)) parsed = wellFormed(parsed);
  const batch = Array.isArray(parsed);
  const records: unknown[] = batch ? (parsed as unknown[]) : [parsed];
  if (batch && records.length === 0) return fail('empty', 'record: empty batch array');
  if (records.length > options.maxBatch)
    return fail('batch_too_large', `record: batch of ${records.length} exceeds ${options.maxBatch}`);
  return { text, records, batch };
}

const fail = (reason: Failure['reason'], detail: string): Failure => ({ ok: false, reason, detail });

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/** The value with every string well-formed UTF-16 (a lone surrogate becomes U+FFFD); the depth was bounded above. */
function wellFormed(v: unknown): unknown {
  if (typeof v === 'string') return (v as unknown as { toWellFormed(): string }).toWellFormed();
  if (Array.isArray(v)) return v.map(wellFormed);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v))
    Object.defineProperty(out, k, { value: wellFormed(x), enumerable: true, writable: true, configurable: true });
  return out;
}
const indexed = (index: number | undefined) => (index === undefined ? {} : { index });
