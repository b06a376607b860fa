// The feature vectors of a gateway log file, streamed: the detector's adapter and feature code, bounded memory (the
// reorder buffer holds only `boundMs` of event time). Shared by `vigil features` and `vigil train`.
import { statSync } from 'node:fs';
import type { Adapter } from '@vigil/adapters';
import { JsonlFileSource } from '@vigil/connectors';
import { FeatureExtractor, type FeatureRow, FeatureStream, MmdbGeoLookup } from '@vigil/features';
import { parseBatch } from '@vigil/ingest';

export interface LogFeaturesOptions {
  adapter: Adapter;
  input: string;
  boundMs: number;
  /** The feature code (default: the standard families on the bundled GeoIP database). */
  extractor?: FeatureExtractor;
  /** Receives the vectors released so far, in event-time order. */
  onRows: (rows: FeatureRow[]) => Promise<void> | void;
  /** Bytes read of the file's total, for progress displays. */
  onProgress?: (read: number, total: number) => void;
}

export interface LogFeaturesResult {
  events: number;
  deadLetters: number;
  /** The reason codes of the dead letters (to tell a wrong --format from a few bad lines). */
  reasons: string[];
  late: number;
  schema: FeatureExtractor['schema'];
}

export async function logFeatures(o: LogFeaturesOptions): Promise<LogFeaturesResult> {
  const total = statSync(o.input).size;
  const stream = new FeatureStream(o.extractor ?? FeatureExtractor.standard(MmdbGeoLookup.bundled()), o.boundMs);
  let events = 0;
  let deadLetters = 0;
  const reasons = new Set<string>();
  let read = 0;
  await new JsonlFileSource(o.input).run(async (batch) => {
    const parsed = parseBatch(batch, {
      adapterFor: () => o.adapter,
      deadLetters: { original: 'dropped' },
      traceOneIn: Number.MAX_SAFE_INTEGER,
    });
    deadLetters += parsed.deadLetters.length;
    for (const d of parsed.deadLetters) reasons.add(d.value.reason);
    for (const r of batch.records) read += r.value.length + 1;
    for (const e of parsed.events) {
      events++;
      const rows = stream.push(e.value);
      if (rows.length > 0) await o.onRows(rows);
    }
    o.onProgress?.(Math.min(read, total), total);
  });
  await o.onRows(stream.flush());
  return { events, deadLetters, reasons: [...reasons], late: stream.late, schema: stream.extractor.schema };
}
