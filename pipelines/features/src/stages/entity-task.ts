// The entity stage, one partition of vigil.access.by-entity: each record is an access event in the role of one
// entity (its client IP, the username it tried, the tenant). Events pass the partition's reorder buffer, run through
// their role's feature families, and leave as entity parts keyed by the event's principal, back onto the
// principal-keyed topic, where the principal stage joins them onto the request (by the event's time and request id,
// and by the gateway log record it came from, which each part carries in ingest's source header). Checkpointed like the principal
// stage (see @vigil/connectors' KafkaStatefulProcessor).
import { type SinkRecord, SOURCE_HEADER, type SourceRecord } from '@vigil/connectors';
import { principalKey } from '@vigil/events';
import { pipelineCounters } from '@vigil/telemetry';
import type { FeatureExtractor } from '../extractor.js';
import { ENTITY_ROLES, type EntityRole } from '../features/roles.js';
import type { FeatureRow } from '../stream.js';
import {
  type EntityPart,
  KIND_HEADER,
  PART_KIND,
  ROLE_HEADER,
  SCHEMA_HEADER,
  schemaTag,
  traceHeaders,
} from './records.js';
import { StreamTask, type StreamTaskOptions } from './stream-task.js';

interface Delivery {
  role: EntityRole;
  headers: Record<string, string>;
  /** The gateway log record the event came from (ingest's source header): the principal stage joins by it. */
  src?: string;
}

export class EntityFeatureTask extends StreamTask<Delivery, EntityPart> {
  private readonly positions: Map<EntityRole, number[]>;
  /** The schema its parts are computed in (SCHEMA_HEADER: what the principal stage checks before it joins them). */
  private readonly schema: string;
  private readonly counters = pipelineCounters();
  /** Records without a valid role header (not written by vigil's ingest): skipped and counted. */
  unknownRole = 0;

  constructor(extractor: FeatureExtractor, boundMs: number, options: StreamTaskOptions = {}) {
    super(extractor, boundMs, (d) => d.role, 'entity_features', options);
    this.positions = new Map(ENTITY_ROLES.map((r) => [r, extractor.positions(r)]));
    this.schema = schemaTag(extractor.schema.hash);
  }

  process(records: SourceRecord[]): SinkRecord<EntityPart>[] {
    this.counters.recordsIn('entity_features', records.length);
    const out: SinkRecord<EntityPart>[] = [];
    for (const record of records) {
      const role = record.headers[ROLE_HEADER] as EntityRole | undefined;
      if (role === undefined || !this.positions.has(role)) {
        this.unknownRole++;
        this.counters.skipped('entity_features', 'unknown_role');
        continue;
      }
      const event = this.decode(record, this.decodeEvent);
      if (!event || this.dedup.isDuplicate(record.headers, role)) continue;
      const src = record.headers[SOURCE_HEADER];
      this.push(event, { role, headers: traceHeaders(record.headers), ...(src !== undefined ? { src } : {}) }, out);
    }
    this.counters.recordsOut('entity_features', out.length);
    return out;
  }

  protected emit(rows: FeatureRow<Delivery>[], out: SinkRecord<EntityPart>[]): void {
    for (const row of rows) {
      const { role: r, headers, src } = row.payload;
      out.push({
        key: principalKey(row.event),
        headers: {
          ...headers,
          [KIND_HEADER]: PART_KIND,
          [ROLE_HEADER]: r,
          [SCHEMA_HEADER]: this.schema,
          ...(src !== undefined ? { [SOURCE_HEADER]: src } : {}),
        },
        value: {
          ts: row.event.ts,
          request_id: row.event.request_id,
          role: r,
          v: (this.positions.get(r) as number[]).map((i) => row.vector[i] as number),
        },
      });
    }
  }
}
