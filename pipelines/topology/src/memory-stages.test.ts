// The detector's topology built on the in-memory bus (what `vigil demo` runs): ingest's own handler and the feature
// stages' own tasks, records in their topics' codecs between them. Every request must come out once, with the
// vector the offline path (FeatureStream: one extractor, the log in order) computes.
import { adapterFor } from '@vigil/adapters';
import { MemoryBus, MemorySink, MemorySource } from '@vigil/connectors';
import type { AccessEvent, DeadLetter } from '@vigil/events';
import {
  FeatureExtractor,
  type FeatureRecord,
  FeatureStream,
  featureRecordCodec,
  MmdbGeoLookup,
} from '@vigil/features';
import { createIngestHandler, REDACTED_DEAD_LETTERS } from '@vigil/ingest';
import { generateTraffic, renderRecord } from '@vigil/simulator';
import { describe, expect, it } from 'vitest';
import { changelogNames, codecOf, DEFAULT_TOPIC_NAMES, detectorTopology } from './detector-topology.js';
import { featureStageTasks } from './feature-tasks.js';
import { MemoryStages } from './memory-stages.js';

const geo = MmdbGeoLookup.bundled();
const pepper = { version: 1, secret: 'memory-stages-test-pepper-0123456789' };
const BOUND = 2000;

const topology = detectorTopology({
  group: 'test',
  inputs: [{ topic: 'in', format: 'kong' }],
  names: { ...DEFAULT_TOPIC_NAMES, ...changelogNames('test') },
  features: true,
  decisions: 'none',
  guarantee: 'at_least_once',
  packed: false,
  clickhouse: false,
});

function log(n: number, seed: number): Buffer[] {
  const traffic = generateTraffic({ seed, customers: 40, start: Date.UTC(2026, 10, 1), meanGapMs: 300 });
  return Array.from({ length: n }, (_, i) =>
    Buffer.from(JSON.stringify(renderRecord('kong', traffic.next().value as never, i % 2 ? 'claims' : 'bearer'))),
  );
}

/** The offline path's vector per request id. */
function offline(lines: Buffer[]): Map<string, number[]> {
  const adapter = adapterFor('kong', { pepper });
  const stream = new FeatureStream(FeatureExtractor.standard(geo), BOUND);
  const out = new Map<string, number[]>();
  const keep = (rows: ReturnType<typeof stream.flush>) => {
    for (const r of rows) out.set(r.event.request_id, Array.from(r.vector));
  };
  for (const line of lines) for (const o of adapter.parse(line)) if (o.ok) keep(stream.push(o.event));
  keep(stream.flush());
  return out;
}

async function online(lines: Buffer[], batchSize: number, checkpointed: boolean): Promise<FeatureRecord[]> {
  const bus = new MemoryBus();
  bus.append(
    'in',
    lines.map((value) => ({ value })),
  );
  const name = (id: string) => topology.topic(id).name;
  const tasks = featureStageTasks(topology, {
    extractor: () => FeatureExtractor.standard(geo),
    reorderBoundMs: BOUND,
    idleRelease: false,
    checkpointed,
  });
  const stages = new MemoryStages(topology, bus, { ...tasks });
  const adapter = adapterFor('kong', { pepper });
  const encode = codecOf<AccessEvent>(topology, 'keyed', 'access event').encode;
  const handler = createIngestHandler({
    adapterFor: () => adapter,
    sinks: {
      events: new MemorySink<AccessEvent>(bus, name('keyed'), encode),
      entities: new MemorySink<AccessEvent>(bus, name('entities'), encode),
      deadLetters: new MemorySink<DeadLetter>(bus, name('dead_letters')),
    },
    deadLetters: REDACTED_DEAD_LETTERS,
    traceOneIn: 1_000_000,
  });
  const source = new MemorySource(bus, 'in', { batchSize, stopWhenDrained: true });
  await source.run(async (batch) => {
    await handler(batch);
    stages.drain(1 + (batchSize % 97));
  });
  stages.finish();
  return bus.topic<string>(name('features')).map((r) => featureRecordCodec.decode(Buffer.from(r.value)));
}

describe("the detector's topology on the in-memory bus", () => {
  it.each([
    [500, 1, true],
    [37, 2, false],
    [4096, 3, false],
  ])(
    'gives every request once, with the offline vector (batches of %i, seed %i, checkpointed %s)',
    async (batch, seed, checkpointed) => {
      const lines = log(3000, seed);
      const want = offline(lines);
      const got = await online(lines, batch, checkpointed);
      expect(got.length).toBe(want.size);
      expect(new Set(got.map((f) => f.request_id)).size).toBe(got.length);
      // The client address's features come from the entity stage, joined on: they must be there, not zeros.
      const ipAt = FeatureExtractor.standard(geo).positions('ip');
      let joined = 0;
      for (const f of got) {
        expect(f.v, f.request_id).toEqual(want.get(f.request_id));
        if (ipAt.some((i) => f.v[i] !== 0)) joined++;
      }
      expect(joined).toBeGreaterThan(got.length / 2);
    },
  );
});
