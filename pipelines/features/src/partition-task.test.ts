// Checkpoint and restore of the online feature stage: a partition task stopped at any point, rebuilt from its
// changelog (latest record per key, as compaction keeps it) and fed the input from where the checkpoint left off,
// produces exactly the feature records of a task that never stopped — and drops records an at-least-once ingest
// wrote twice.
import { adapterFor } from '@vigil/adapters';
import { SOURCE_HEADER, type SourceRecord } from '@vigil/connectors';
import { type AccessEvent, principalKey } from '@vigil/events';
import { generateTraffic, renderRecord } from '@vigil/simulator';
import { describe, expect, it } from 'vitest';
import { FeatureExtractor } from './extractor.js';
import { MmdbGeoLookup } from './geo/lookup.js';
import { FeaturePartitionTask } from './partition-task.js';
import { KeyedState } from './state/keyed-state.js';

const geo = MmdbGeoLookup.bundled();

function events(n: number): AccessEvent[] {
  const traffic = generateTraffic({ seed: 7, customers: 30, start: Date.UTC(2026, 10, 1), meanGapMs: 400 });
  const adapter = adapterFor('kong', { pepper: { version: 1, secret: 'partition-task-test-pepper-0123456789' } });
  const out: AccessEvent[] = [];
  for (let i = 0; i < n; i++) {
    const line = JSON.stringify(renderRecord('kong', traffic.next().value as never, i % 2 ? 'claims' : 'bearer'));
    for (const o of adapter.parse(line)) if (o.ok) out.push(o.event as AccessEvent);
  }
  return out;
}

/** Keyed-topic records as ingest writes them, with some arriving out of event-time order. */
function records(evs: AccessEvent[]): SourceRecord[] {
  const shuffled = evs.map((e, i) => ({ e, i, at: e.ts + ((i * 7919) % 5) * 700 })).sort((a, b) => a.at - b.at);
  return shuffled.map(({ e }, offset) => ({
    value: Buffer.from(JSON.stringify(e)),
    key: Buffer.from(principalKey(e)),
    headers: { [SOURCE_HEADER]: `raw/0/${offset}/0` },
    position: { topic: 'keyed', partition: 0, offset: String(offset) },
  }));
}

const task = () => new FeaturePartitionTask(FeatureExtractor.standard(geo), 3000);

/** Applies changes to a compacted view: the latest record per key, deletions removing the key. */
function compact(log: Map<string, Buffer>, changes: [string, Buffer | null][]) {
  for (const [k, v] of changes) {
    log.delete(k);
    if (v) log.set(k, v);
  }
}

describe('feature partition task checkpoints', () => {
  const input = records(events(3000));
  const reference = task().process(input);

  it('restored at any checkpoint, continues with exactly the records of an uninterrupted run', () => {
    expect(reference.length).toBeGreaterThan(2900);
    for (const cuts of [[1], [250, 251, 1200], [17, 900, 901, 2000, 2999]]) {
      const log = new Map<string, Buffer>();
      const out = [];
      let current = task();
      let from = 0;
      for (const cut of [...cuts, input.length]) {
        out.push(...current.process(input.slice(from, cut)));
        compact(log, current.drainChanges());
        from = cut;
        // A crash right after the checkpoint: a new task is rebuilt from the changelog alone.
        current = task();
        current.restore(log.entries());
      }
      expect(current.held).toBeGreaterThan(0);
      expect(out.map((r) => [r.key, r.value.request_id, r.value.v])).toEqual(reference.map((r) => [r.key, r.value.request_id, r.value.v]));
    }
  });

  it('skips records an at-least-once writer repeated after its own restart', () => {
    const t = task();
    const replayed = [...input.slice(0, 1500), ...input.slice(1000, 1500), ...input.slice(1500)];
    const out = t.process(replayed);
    expect(t.duplicates).toBe(500);
    expect(out.map((r) => r.value.v)).toEqual(reference.map((r) => r.value.v));
  });

  it('writes only what changed since the previous checkpoint', () => {
    const t = task();
    t.process(input.slice(0, 1000));
    const first = t.drainChanges();
    t.process(input.slice(1000, 1010));
    const second = t.drainChanges();
    expect(first.length).toBeGreaterThan(100);
    // Ten events: at most ten held events added and ten released, each event's keys in the nine stores, the
    // buffer's clock and the source positions.
    expect(second.length).toBeLessThanOrEqual(10 + 10 + 10 * 9 + 2);
    expect(second.filter(([k]) => k.startsWith('stream/state/')).length).toBeLessThan(first.filter(([k]) => k.startsWith('stream/state/')).length / 3);
    expect(t.drainChanges()).toEqual([]);
  });
});

describe('keyed state restore', () => {
  it('keeps values, expiry clocks and LRU order, so evictions after a restore match', () => {
    const make = () => new KeyedState<{ n: number }>({ ttlMs: 1000, maxKeys: 3 });
    const a = make();
    a.trackChanges();
    const log = new Map<string, Buffer>();
    for (const [k, t] of [
      ['x', 0],
      ['y', 10],
      ['z', 20],
      ['x', 30],
    ] as const)
      a.get(k, t, () => ({ n: 0 })).n++;
    a.peek('y', 35);
    compact(log, a.drainChanges());
    const b = make();
    for (const [k, v] of log) b.restoreEntry(k, v);
    b.finishRestore();
    expect([...b.keys()]).toEqual(['y', 'z', 'x']);
    for (const s of [a, b]) s.get('w', 40, () => ({ n: 0 }));
    expect([...b.keys()]).toEqual([...a.keys()]);
    expect(b.peek('x', 40)).toEqual({ n: 2 });
    expect(b.get('z', 1021, () => ({ n: 99 }))).toEqual({ n: 99 });
  });
});
