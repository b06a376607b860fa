// Public surface of @vigil/ingest: the parse / dead-letter / re-key stage, online (handler) and offline (parseBatch).
export type { DeadLetterPolicy } from './dead-letter.js';
export {
  deadLetter,
  decryptOriginal,
  encryptOriginal,
  parseEncryptionKey,
  REDACTED_DEAD_LETTERS,
} from './dead-letter.js';
export { type EntityLag, EntityPacer, type EntityPacerOptions } from './entity-pacer.js';
export type { IngestOptions, IngestResult, IngestSinks } from './ingest.js';
export { createIngestHandler, entityRecords, parseBatch } from './ingest.js';
