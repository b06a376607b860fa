// Where a derived record came from, carried in a Kafka header: "<topic>/<partition>/<offset>/<index>". A consumer of
// a derived topic uses it to drop the duplicates an at-least-once writer produces when it re-reads its input after a
// crash: per source partition, positions only grow, except across such a replay. (Kafka topic names cannot
// contain "/".) A line of a file (replay, train, features) is "file:<path, URI-encoded>/0/<line>/<index>": each
// file a stream of its own, so that the principal stage joins two identical lines' entity parts each to its own
// request by where it came from, as it does on Kafka.
import type { RecordPosition } from './types.js';

export const SOURCE_HEADER = 'vigil-source';

export function formatSource(p: RecordPosition): string | undefined {
  if (p.topic !== undefined && p.partition !== undefined && p.offset !== undefined)
    return `${p.topic}/${p.partition}/${p.offset}/${p.index ?? 0}`;
  if (p.file !== undefined && p.line !== undefined) return `${fileStream(p.file)}/${p.line}/${p.index ?? 0}`;
  return undefined;
}

/** A file's stream name, encoded once per file rather than once per line (a replay formats every line's source). */
let lastFile: { path: string; stream: string } | undefined;
function fileStream(path: string): string {
  if (lastFile?.path !== path) lastFile = { path, stream: `${encodeURIComponent(`file:${path}`)}/0` };
  return lastFile.stream;
}

export interface SourcePoint {
  /** "<topic>/<partition>" */
  stream: string;
  offset: number;
  index: number;
}

export function parseSource(header: string | undefined): SourcePoint | undefined {
  if (header === undefined) return undefined;
  const parts = header.split('/');
  if (parts.length !== 4) return undefined;
  const offset = Number(parts[2]);
  const index = Number(parts[3]);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(index)) return undefined;
  return { stream: `${parts[0]}/${parts[1]}`, offset, index };
}
