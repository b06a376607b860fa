// Public surface of @vigil/core: what every part of the live path needs and none of it owns — errors with stable
// codes, bytes in and out of vigil's binary formats, retry with backoff, work one piece at a time, writes settled in
// the background, a min-heap, a bounded cache, great-circle distance, what state takes on V8's heap. No
// dependencies: the models and the connectors alike can stand on it.

export { BackgroundWrites } from './background-writes.js';
export { ByteReader, ByteWriter, StringInterner } from './bytes.js';
export { isRetriable, nonRetriable, retriable, VigilError } from './errors.js';
export { FifoCache } from './fifo-cache.js';
export { haversineKm } from './geo-distance.js';
export { grown } from './grown.js';
export {
  arrayBytes,
  BOXED_NUMBER,
  hashMapBytes,
  ID_BYTES,
  idMapBytes,
  mapBytes,
  objectBytes,
  stringBytes,
  typedArrayBytes,
} from './heap-size.js';
export { KeyTable, NOT_ASCII } from './key-table.js';
export { MinHeap } from './min-heap.js';
export type { RetryOptions } from './retry.js';
export { backoffDelay, DEFAULT_RETRY, withRetry } from './retry.js';
export { Serial } from './serial.js';
