// The adapter contract and the shared front half of every format: bytes → UTF-8 → size and key checks → JSON →
// one or many records (gateways batch into arrays) → the format's mapping. Nothing here throws on bad input: each
// failure becomes a reason code, and the record goes to the dead-letter sink.
import type { AccessEvent, GatewayFormat, Pepper, ReasonCode, RedactedOriginal } from '@vigil/events';
import type { RouteTemplater } from './route/template.js';
import type { CredentialCache } from './secrets/credential-cache.js';

export interface AdapterOptions {
  pepper: Pepper;
  /** Fingerprints and claims of recent credentials, made with `pepper`. */
  credentials: CredentialCache;
  routes: RouteTemplater;
  /** Records larger than this are dead-lettered unparsed (bytes). */
  maxRecordBytes: number;
  /** Most elements of one batch array. */
  maxBatch: number;
  /** Deeper nesting of objects and arrays is dead-lettered unparsed (no gateway logs more than a few levels). */
  maxDepth: number;
  /** Event times outside [min, max] are implausible whatever the context (epoch ms). */
  minEventTime: number;
  maxEventTime: number;
  /**
   * With a reception time (the Kafka record's timestamp), event times more than this far before it, or
   * maxFutureSkewMs after it, are dead-lettered. Both are properties of the log, so replay decides the same.
   */
  maxPastSkewMs: number;
  maxFutureSkewMs: number;
  /** Name of the Kong custom field that carries transaction data. */
  txField: string;
}

export interface ParseContext {
  /** When the record reached vigil's input (Kafka record timestamp), epoch ms; absent for files. */
  receivedAt?: number;
}

export type RecordOutcome =
  | { ok: true; event: AccessEvent; index?: number }
  | { ok: false; reason: ReasonCode; detail: string; index?: number };

/** Maps one parsed JSON object of a format to an event. */
export type FormatMapper = (
  record: Record<string, unknown>,
  options: AdapterOptions,
  fallbackId: () => string,
) => MapResult;
export type MapResult = { ok: true; event: AccessEvent } | { ok: false; reason: ReasonCode; detail: string };

export interface Adapter {
  readonly format: GatewayFormat;
  /** Parses one input record (one log line / one Kafka message); a batch array yields one outcome per element. */
  parse(input: Uint8Array | string, context?: ParseContext): RecordOutcome[];
  /**
   * What a dead letter may keep of an input record: its structure, the fields vigil allows by name and shape, the
   * route template, and every other value as type, length and HMAC fingerprint (secrets/redact.ts).
   */
  redact(input: Uint8Array | string): RedactedOriginal;
}
