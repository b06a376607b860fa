// The detector's topology built on the in-memory bus (MemoryRun: what `vigil demo`, `replay`, `features` and `train`
// run): ingest's own handler and the feature stages' own tasks, records in their topics' codecs between them. Every request must come out once, with the
// vector the offline path (FeatureStream: one extractor, the log in order) computes.
import { adapterFor } from '@vigil/adapters';
import { memoryRecord } from '@vigil/connectors';
import { FeatureExtractor, type FeatureRecord, FeatureStream, MmdbGeoLookup } from '@vigil/features';
import { generateTraffic, renderRecord } from '@vigil/simulator';
import { describe, expect, it } from 'vitest';
import { memoryTopology } from './detector-topology.js';
import { featureStageTasks } from './feature-tasks.js';
import { MemoryRun } from './memory-run.js';

const geo = MmdbGeoLookup.bundled();
const pepper = { version: 1, secret: 'memory-stages-test-pepper-0123456789' };
const BOUND = 2000;

const topology = memoryTopology({ group: 'test', input: 'in', format: 'kong', decisions: 'none' });

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

/** The topology on the bus (MemoryRun), fed `batchSize` lines at a time; what the bus held after each step. */
async function online(
  lines: Buffer[],
  batchSize: number,
  checkpointed: boolean,
  retain = false,
  from: 'topic' | 'file' = 'topic',
): Promise<{ features: FeatureRecord[]; held: number[]; bus: MemoryRun['bus'] }> {
  const tasks = featureStageTasks(topology, {
    extractor: () => FeatureExtractor.standard(geo),
    reorderBoundMs: BOUND,
    idleRelease: false,
    checkpointed,
  });
  const features: FeatureRecord[] = [];
  const held: number[] = [];
  const names = [...topology.topics.values()].map((t) => t.name);
  const run = new MemoryRun({
    topology,
    tasks: { ...tasks },
    adapter: adapterFor('kong', { pepper }),
    traceOneIn: 1_000_000,
    stageBatch: 1 + (batchSize % 97),
    retain,
    onStep: (take) => {
      features.push(...take<FeatureRecord>('features'));
    },
  });
  const holding = () => names.reduce((n, name) => n + run.bus.topic(name).length, 0);
  for (let i = 0; i < lines.length; i += batchSize) {
    const batch = lines.slice(i, i + batchSize);
    await run.push(
      from === 'topic'
        ? batch.map((value, j) => memoryRecord('in', i + j, { value }))
        : batch.map((value, j) => ({
            value,
            key: null,
            headers: {},
            position: { file: 'logs/gw.jsonl', line: i + j },
          })),
    );
    held.push(holding());
  }
  await run.finish();
  held.push(holding());
  return { features, held, bus: run.bus };
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
      const { features: got, held } = await online(lines, batch, checkpointed);
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
      // A long run keeps only what is in flight: after each step, every topic's records were read and dropped.
      expect(held.length).toBeGreaterThan(1);
      expect(Math.max(...held)).toBe(0);
    },
  );

  it.each([
    [64, 5, 'topic'],
    [1000, 6, 'topic'],
    [64, 5, 'file'],
    [1000, 6, 'file'],
  ] as const)(
    'gives a line shipped twice two records, each with the offline vector (batches of %i, seed %i, from a %s)',
    async (batch, seed, from) => {
      // Every 25th line again right after it, every 40th again 30 lines later: the same time and request id twice;
      // and each of the last 20 twice (the end of the log: the stages are flushed, entity stage first).
      const base = log(2000, seed);
      const lines: Buffer[] = [];
      base.forEach((line, i) => {
        lines.push(line);
        if (i % 25 === 0 || i >= base.length - 20) lines.push(line);
        if (i % 40 === 0 && i >= 30) lines.push(base[i - 30] as Buffer);
      });
      const adapter = adapterFor('kong', { pepper });
      const stream = new FeatureStream(FeatureExtractor.standard(geo), BOUND);
      const want: string[] = [];
      const keep = (rows: ReturnType<typeof stream.flush>) => {
        for (const r of rows) want.push(JSON.stringify([r.event.request_id, Array.from(r.vector)]));
      };
      for (const line of lines) for (const o of adapter.parse(line)) if (o.ok) keep(stream.push(o.event));
      keep(stream.flush());
      const { features } = await online(lines, batch, false, false, from);
      expect(features.length).toBe(lines.length);
      expect(features.map((f) => JSON.stringify([f.request_id, f.v])).sort()).toEqual(want.sort());
    },
  );

  it('keeps every record when asked to retain them (the demo reports from the bus), the outputs handed out too', async () => {
    const lines = log(1500, 4);
    const { features, bus } = await online(lines, 256, false, true);
    expect(features.length).toBe(offline(lines).size);
    expect(bus.topic(topology.topic('features').name).length).toBe(features.length);
    expect(bus.topic(topology.topic('keyed').name).length).toBeGreaterThan(features.length);
  });
});
