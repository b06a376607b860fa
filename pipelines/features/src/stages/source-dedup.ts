// Drops the duplicates an at-least-once writer (ingest) produces when it re-reads its input after a crash: per source
// partition (and role, since one source record becomes several entity records), positions only grow except across
// such a replay, so a record at or before the newest position seen is one already counted. Checkpointed with the
// task that uses it.
import { parseSource, SOURCE_HEADER } from '@vigil/connectors';
import { pipelineCounters } from '@vigil/telemetry';

export class SourceDedup {
  private newest = new Map<string, [number, number]>();
  private changed = false;
  duplicates = 0;

  constructor(private readonly stage: string) {}

  isDuplicate(headers: Record<string, string>, role = ''): boolean {
    const at = parseSource(headers[SOURCE_HEADER]);
    if (!at) return false;
    const stream = role === '' ? at.stream : `${at.stream}#${role}`;
    const seen = this.newest.get(stream);
    if (seen && (at.offset < seen[0] || (at.offset === seen[0] && at.index <= seen[1]))) {
      this.duplicates++;
      pipelineCounters().skipped(this.stage, 'duplicate');
      return true;
    }
    this.newest.set(stream, [at.offset, at.index]);
    this.changed = true;
    return false;
  }

  /** The checkpoint record, when anything changed. */
  drain(): Buffer | undefined {
    if (!this.changed) return undefined;
    this.changed = false;
    return Buffer.from(JSON.stringify([...this.newest]));
  }

  restore(value: Buffer): void {
    this.newest = new Map(JSON.parse(value.toString('utf8')) as [string, [number, number]][]);
  }
}
