// The online feature stages, driven in memory the way Kafka drives them: ingest's principal-keyed and entity-keyed
// records in partitions, entity tasks whose parts are delivered (at each checkpoint, as a transaction would) onto the
// principal partitions, principal tasks that join them — with tasks crashing between checkpoints and being rebuilt
// from their changelogs, their uncommitted outputs lost and their input re-read. Every request must leave exactly
// once with exactly the vector the offline path (one FeatureStream over the whole log) computes — or, at least once
// (outputs published as soon as computed), at least once, every copy with that vector.
import { adapterFor } from '@vigil/adapters';
import {
  ChangelogSegments,
  type SinkRecord,
  SOURCE_HEADER,
  type SourceRecord,
  type StatefulTask,
} from '@vigil/connectors';
import { type AccessEvent, accessEventCodec, principalKey } from '@vigil/events';
import { generateTraffic, renderRecord } from '@vigil/simulator';
import { describe, expect, it } from 'vitest';
import { FeatureExtractor } from '../extractor.js';
import { ENTITY_ROLES, entityKeys } from '../features/roles.js';
import { MmdbGeoLookup } from '../geo/lookup.js';
import { KeyedState } from '../state/keyed-state.js';
import { StateBudget } from '../state/state-budget.js';
import { FeatureStream } from '../stream.js';
import { EntityFeatureTask } from './entity-task.js';
import { ORPHAN_AFTER_MS, PrincipalFeatureTask, waitingRequestBytes } from './principal-task.js';
import {
  type EntityPart,
  entityPartCodec,
  type FeatureRecord,
  KIND_HEADER,
  ROLE_HEADER,
  SCHEMA_HEADER,
  schemaTag,
} from './records.js';

/** Parts travel between the stages as on Kafka: in their binary codec. */
const partCodec = entityPartCodec(new Set(ENTITY_ROLES));
const record = (value: Buffer, key: string, headers: Record<string, string> = {}): SourceRecord => ({
  value,
  key: Buffer.from(key),
  headers,
  position: {},
});

const geo = MmdbGeoLookup.bundled();
/** An event as the principal stage reads it from its partition (JSON, as an earlier vigil wrote it: still read). */
const principalRecord = (e: AccessEvent): SourceRecord => ({
  value: Buffer.from(JSON.stringify(e)),
  key: Buffer.from(principalKey(e)),
  headers: {},
  position: {},
});
const BOUND = 3000;

function events(n: number): AccessEvent[] {
  const traffic = generateTraffic({ seed: 7, customers: 30, start: Date.UTC(2026, 10, 1), meanGapMs: 400 });
  const adapter = adapterFor('kong', { pepper: { version: 1, secret: 'stages-test-pepper-0123456789abcdef' } });
  const out: AccessEvent[] = [];
  for (let i = 0; i < n; i++) {
    const line = JSON.stringify(renderRecord('kong', traffic.next().value as never, i % 2 ? 'claims' : 'bearer'));
    for (const o of adapter.parse(line)) if (o.ok) out.push(o.event as AccessEvent);
  }
  // The log arrives slightly out of event-time order, within the bound.
  return out
    .map((e, i) => ({ e, at: e.ts + ((i * 7919) % 5) * 500 }))
    .sort((a, b) => a.at - b.at)
    .map(({ e }) => e);
}

const hash = (key: string, n: number) => {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (h >>> 0) % n;
};

/** A partition's input, the task consuming it, its committed position and changelog, and outputs not yet committed. */
class Partition<T> {
  readonly input: SourceRecord[] = [];
  private task: StatefulTask<T>;
  private readonly log = new Map<string, Buffer>();
  /**
   * The changelog's segments, as the processor writes them; no slack, so the cleaner copies keys forward all the time
   * and restores read a changelog it has compacted.
   */
  private segments = new ChangelogSegments(0);
  /** Entries the cleaner copied forward, over every restart. */
  private copiedBefore = 0;
  private position = 0;
  private committed = 0;
  private pending: SinkRecord<T>[] = [];
  crashes = 0;

  /**
   * @param atLeastOnce outputs are published as soon as the task returns them (KafkaStatefulProcessor's at_least_once)
   */
  constructor(
    private readonly make: () => StatefulTask<T>,
    private readonly atLeastOnce = false,
  ) {
    this.task = make();
  }

  /** Processes up to n records; returns what it published (exactly once: nothing, outputs wait for the checkpoint). */
  step(n: number): SinkRecord<T>[] {
    const records = this.input.slice(this.position, this.position + n);
    this.position += records.length;
    const out = this.task.process(records);
    if (this.atLeastOnce) return out;
    this.pending.push(...out);
    return [];
  }

  /** One transaction: outputs, state changes and position together. Returns the outputs it published. */
  checkpoint(): SinkRecord<T>[] {
    for (const [k, v] of this.segments.write(this.task.drainChanges(), this.task.packedState)) {
      this.log.delete(k);
      if (v) this.log.set(k, v);
    }
    this.committed = this.position;
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** SIGKILL: uncommitted outputs vanish with their transaction; a new task restores and re-reads. */
  crash() {
    this.crashes++;
    this.pending = [];
    this.position = this.committed;
    this.task = this.make();
    const restored = ChangelogSegments.restore(this.log, this.task.packedState, 0);
    this.copiedBefore += this.segments.stats.copied;
    this.segments = restored.segments;
    this.task.restore(restored.state);
  }

  get done() {
    return this.position >= this.input.length;
  }

  get copied() {
    return this.copiedBefore + this.segments.stats.copied;
  }
}

function runStages(log: AccessEvent[], seed: number, crashEvery: number, atLeastOnce = false) {
  // Every principal task ever made (a crash makes a new one), for their orphan counts.
  const made: PrincipalFeatureTask[] = [];
  const principals = Array.from(
    { length: 2 },
    () =>
      new Partition<FeatureRecord>(() => {
        const task = new PrincipalFeatureTask(FeatureExtractor.standard(geo), BOUND);
        made.push(task);
        return task;
      }, atLeastOnce),
  );
  const entities = Array.from(
    { length: 3 },
    () => new Partition<EntityPart>(() => new EntityFeatureTask(FeatureExtractor.standard(geo), BOUND), atLeastOnce),
  );
  // Ingest: each event to its principal's partition and, per role, to its entity's partition.
  log.forEach((e, i) => {
    const source = { [SOURCE_HEADER]: `raw/0/${i}/0` };
    const p = principals[hash(principalKey(e), principals.length)] as Partition<FeatureRecord>;
    p.input.push({
      value: accessEventCodec.encode(e) as Buffer,
      key: Buffer.from(principalKey(e)),
      headers: source,
      position: { offset: String(p.input.length) },
    });
    for (const [role, key] of entityKeys(e)) {
      const q = entities[hash(key, entities.length)] as Partition<EntityPart>;
      q.input.push({
        value: accessEventCodec.encode(e) as Buffer,
        key: Buffer.from(key),
        headers: { ...source, [ROLE_HEADER]: role },
        position: { offset: String(q.input.length) },
      });
    }
  });
  let rng = seed;
  const next = () => {
    rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
    return rng;
  };
  const out: FeatureRecord[] = [];
  let rounds = 0;
  const deliver = (parts: SinkRecord<EntityPart>[]) => {
    for (const part of parts) {
      const p = principals[hash(part.key as string, principals.length)] as Partition<FeatureRecord>;
      p.input.push({
        value: partCodec.encode(part.value) as Buffer,
        key: Buffer.from(part.key as string),
        headers: part.headers ?? {},
        position: { offset: String(p.input.length) },
      });
    }
  };
  while (!entities.every((q) => q.done) || !principals.every((p) => p.done)) {
    rounds++;
    for (const q of entities) {
      deliver(q.step(1 + (next() % 40)));
      if (next() % 3 === 0) deliver(q.checkpoint());
      if (next() % crashEvery === 0) q.crash();
    }
    for (const p of principals) {
      out.push(...p.step(1 + (next() % 40)).map((r) => r.value));
      if (next() % 3 === 0) out.push(...p.checkpoint().map((r) => r.value));
      if (next() % crashEvery === 0) p.crash();
    }
    if (rounds > 100_000) throw new Error('the stages did not drain');
  }
  for (const q of entities) expect(q.checkpoint()).toEqual([]);
  for (const p of principals) out.push(...p.checkpoint().map((r) => r.value));
  return {
    out,
    crashes: [...principals, ...entities].reduce((n, x) => n + x.crashes, 0),
    copied: [...principals, ...entities].reduce((n, x) => n + x.copied, 0),
    orphans: made.reduce((n, t) => n + t.orphans, 0),
  };
}

describe('online feature stages', () => {
  const log = events(2500);
  /** An event's entity parts as the entity stage writes them onto the principal-keyed topic (JSON records). */
  const partsOf = (e: AccessEvent): SourceRecord[] =>
    new EntityFeatureTask(FeatureExtractor.standard(geo), 0)
      .process(
        entityKeys(e).map(([role, key]) => ({
          value: Buffer.from(JSON.stringify(e)),
          key: Buffer.from(key),
          headers: { [ROLE_HEADER]: role },
          position: {},
        })),
      )
      .map((p) => ({
        value: Buffer.from(JSON.stringify(p.value)),
        key: Buffer.from(p.key as string),
        headers: p.headers ?? {},
        position: {},
      }));
  const offline = new Map<string, number[]>();
  const stream = new FeatureStream(FeatureExtractor.standard(geo), BOUND);
  for (const e of log) for (const row of stream.push(e)) offline.set(row.event.request_id, Array.from(row.vector));
  const extractor = FeatureExtractor.standard(geo);
  const entityPositions = [
    ...extractor.positions('ip'),
    ...extractor.positions('user'),
    ...extractor.positions('tenant'),
  ];

  it.each([
    { seed: 1, crashEvery: 1_000_000 },
    { seed: 2, crashEvery: 7 },
    { seed: 3, crashEvery: 3 },
  ])(
    'joined vectors equal the offline ones, each request exactly once (seed $seed, a crash 1 in $crashEvery steps)',
    ({ seed, crashEvery }) => {
      const { out, crashes, copied } = runStages(log, seed, crashEvery);
      if (crashEvery < 100) expect(crashes).toBeGreaterThan(10);
      // The changelogs were compacted by their cleaner as they went (restores read copied entries).
      expect(copied).toBeGreaterThan(0);
      const ids = out.map((r) => r.request_id);
      expect(new Set(ids).size).toBe(ids.length);
      // Every request the offline stream released (the last BOUND ms stay held in both) comes out online.
      expect(out.length).toBeGreaterThan(log.length - 50);
      let entityNonZero = 0;
      for (const r of out) {
        expect(r.v, r.request_id).toEqual(offline.get(r.request_id));
        entityNonZero += entityPositions.filter((i) => r.v[i] !== 0).length;
      }
      expect(entityNonZero).toBeGreaterThan(out.length);
    },
  );

  // A line shipped twice (or a reused request id): two requests with the same time and id, each its own record with
  // the vector the offline stream gives it (the second counts the first), through crashes and restores of the joins
  // waiting for their parts.
  it.each([
    { seed: 6, crashEvery: 1_000_000, atLeastOnce: false },
    { seed: 7, crashEvery: 4, atLeastOnce: false },
    { seed: 8, crashEvery: 4, atLeastOnce: true },
  ])(
    'a request logged twice leaves twice, each with its offline vector (seed $seed, a crash 1 in $crashEvery steps, ' +
      'at least once: $atLeastOnce)',
    ({ seed, crashEvery, atLeastOnce }) => {
      const twice = log.flatMap((e, i) => (i % 20 === 0 ? [e, e] : [e]));
      const want: string[] = [];
      const offlineTwice = new FeatureStream(FeatureExtractor.standard(geo), BOUND);
      for (const e of twice)
        for (const row of offlineTwice.push(e))
          want.push(JSON.stringify([row.event.request_id, Array.from(row.vector)]));
      const { out, crashes } = runStages(twice, seed, crashEvery, atLeastOnce);
      if (crashEvery < 100) expect(crashes).toBeGreaterThan(10);
      // Each record that came out is one the offline stream released, as many times as it released it (both hold the
      // last BOUND ms; a partition's watermark lags the log's, so online holds a few more). At least once, a crash
      // repeats records: each repeat is still one of the offline vectors of its request.
      const left = new Map<string, number>();
      for (const w of want) left.set(w, (left.get(w) ?? 0) + 1);
      const got = out.map((r) => JSON.stringify([r.request_id, r.v]));
      for (const g of got) {
        const n = left.get(g) ?? 0;
        expect(atLeastOnce ? want.includes(g) : n > 0, g.slice(0, 60)).toBe(true);
        left.set(g, n - 1);
      }
      if (atLeastOnce) return;
      // The requests logged twice came out twice.
      const ids = new Map<string, number>();
      for (const r of out) ids.set(r.request_id, (ids.get(r.request_id) ?? 0) + 1);
      expect([...ids.values()].filter((n) => n === 2).length).toBeGreaterThan(100);
      expect(got.length).toBeGreaterThan(twice.length - 50);
      expect(got.length).toBeLessThanOrEqual(twice.length);
    },
  );

  // At least once: outputs leave at once, so a crash repeats the ones since its last checkpoint — each repeat with the
  // same vector (the restored state is the one that computed it), and parts repeated to an already joined request are
  // swept as orphans rather than kept waiting.
  it.each([
    { seed: 4, crashEvery: 1_000_000 },
    { seed: 5, crashEvery: 7 },
  ])(
    'at least once: every request leaves, every copy with the offline vector (seed $seed, a crash 1 in $crashEvery ' +
      'steps)',
    ({ seed, crashEvery }) => {
      const { out, crashes, orphans } = runStages(log, seed, crashEvery, true);
      const ids = new Set(out.map((r) => r.request_id));
      expect(ids.size).toBeGreaterThan(log.length - 50);
      for (const r of out) expect(r.v, r.request_id).toEqual(offline.get(r.request_id));
      if (crashEvery < 100) {
        expect(crashes).toBeGreaterThan(10);
        expect(out.length).toBeGreaterThan(ids.size);
        expect(orphans).toBeGreaterThan(0);
      } else {
        expect(out.length).toBe(ids.size);
      }
    },
  );

  it('drops a part whose request never comes, once the watermark is ORPHAN_AFTER_MS past it', () => {
    const principal = new PrincipalFeatureTask(FeatureExtractor.standard(geo), 0);
    const [e, later] = [log[0] as AccessEvent, log[1] as AccessEvent];
    const entity = new EntityFeatureTask(FeatureExtractor.standard(geo), 0);
    const asRecords = (parts: SinkRecord<EntityPart>[]) =>
      parts.map((p) => ({
        value: Buffer.from(JSON.stringify(p.value)),
        key: Buffer.from(p.key as string),
        headers: p.headers ?? {},
        position: {},
      }));
    const parts = entity.process(
      entityKeys(e).map(([role, key]) => ({
        value: Buffer.from(JSON.stringify(e)),
        key: Buffer.from(key),
        headers: { [ROLE_HEADER]: role },
        position: {},
      })),
    );
    principal.process(asRecords(parts));
    expect(principal.pendingJoins).toBe(1);
    const at = (ts: number) => [
      {
        value: Buffer.from(JSON.stringify({ ...later, ts, request_id: `r${ts}` })),
        key: Buffer.from(principalKey(later)),
        headers: {},
        position: {},
      },
    ];
    // A request of another principal a little later: the part still waits.
    principal.process(at(e.ts + ORPHAN_AFTER_MS / 2));
    expect(principal.orphans).toBe(0);
    principal.process(at(e.ts + ORPHAN_AFTER_MS + 120_000));
    expect(principal.orphans).toBe(1);
    // Only the later requests (waiting for their own parts) remain.
    expect(principal.pendingJoins).toBe(2);
  });

  it('joins a part sent again (at least once, after a crash) to its own request, never to a duplicate line', () => {
    const principal = new PrincipalFeatureTask(FeatureExtractor.standard(geo), 0);
    const entity = new EntityFeatureTask(FeatureExtractor.standard(geo), 0);
    // A login: parts of two roles (its address and its username).
    const e = log.find((x) => entityKeys(x).length >= 2) as AccessEvent;
    const event = (position: number) => ({
      value: accessEventCodec.encode(e) as Buffer,
      key: Buffer.from(principalKey(e)),
      headers: { [SOURCE_HEADER]: `raw/0/${position}/0` },
      position: {},
    });
    const partsOf = (position: number) =>
      entity
        .process(
          entityKeys(e).map(([role, key]) => ({
            value: accessEventCodec.encode(e) as Buffer,
            key: Buffer.from(key),
            headers: { [ROLE_HEADER]: role, [SOURCE_HEADER]: `raw/0/${position}/0` },
            position: {},
          })),
        )
        .map((p) => ({
          value: partCodec.encode(p.value) as Buffer,
          key: Buffer.from(p.key as string),
          headers: p.headers ?? {},
          position: {},
        }));
    // The line twice (positions 0 and 1): two events, and the entity stage's two parts (the second counts the first).
    const [first, second] = [partsOf(0), partsOf(1)];
    expect(principal.process([event(0), event(1)])).toEqual([]);
    expect(principal.pendingJoins).toBe(2);
    // The first request's address part, the same again (a resend while its request still waits for its username
    // part), the rest of the first's parts, then the second's.
    const [address, ...rest] = first;
    const out = principal.process([address, address, ...rest, ...second] as never[]);
    expect(out.length).toBe(2);
    expect(principal.pendingJoins).toBe(0);
    const offline = new FeatureStream(FeatureExtractor.standard(geo), 0);
    const want = [...offline.push(e), ...offline.push(e)].map((r) => Array.from(r.vector));
    expect(out.map((r) => r.value.v)).toEqual(want);
    // Sent again once its request has left, the part waits as an orphan (swept later) and joins no other request.
    expect(principal.process([address] as never[])).toEqual([]);
    expect(principal.pendingJoins).toBe(1);
    expect(principal.process([event(2)])).toEqual([]);
    expect(principal.pendingJoins).toBe(2);
  });

  it('at the end of its input lets every request go: without the parts that never came, counted; orphans dropped', () => {
    const principal = new PrincipalFeatureTask(FeatureExtractor.standard(geo), BOUND);
    const entity = new EntityFeatureTask(FeatureExtractor.standard(geo), 0);
    const [e, other] = [log[0] as AccessEvent, log[1] as AccessEvent];
    // A part whose request never comes (its event went elsewhere), and a request whose parts never come.
    const parts = entity.process(
      entityKeys(other).map(([role, key]) =>
        record(accessEventCodec.encode(other) as Buffer, key, { [ROLE_HEADER]: role }),
      ),
    );
    const held = principal.process([
      ...parts.map((p) => record(partCodec.encode(p.value) as Buffer, p.key as string, p.headers)),
      record(accessEventCodec.encode(e) as Buffer, principalKey(e)),
    ]);
    expect(held).toEqual([]);
    const out = principal.flush();
    expect(out.map((r) => r.value.request_id)).toEqual([e.request_id]);
    expect(principal.incomplete).toBe(1);
    expect(principal.orphans).toBe(entityKeys(other).length > 0 ? 1 : 0);
    expect(principal.pendingJoins).toBe(0);
  });

  it('takes a part of another feature schema (a rolling upgrade) as 0s for its role, counted, and goes on', () => {
    const extractor = FeatureExtractor.standard(geo);
    const principal = new PrincipalFeatureTask(extractor, 0);
    const entity = new EntityFeatureTask(FeatureExtractor.standard(geo), 0);
    const e = log.find((x) => entityKeys(x).length > 0) as AccessEvent;
    const parts = entity.process(
      entityKeys(e).map(([role, key]) => record(accessEventCodec.encode(e) as Buffer, key, { [ROLE_HEADER]: role })),
    );
    expect(parts.length).toBeGreaterThan(0);
    // Every part one value longer than this schema's role has: written by an entity stage of another schema.
    const other = parts.map((p) => ({ ...p, value: { ...p.value, v: [...p.value.v.map(() => 7), 7] } }));
    // Or as many values, from a schema that names itself otherwise (a family's parameters changed).
    expect(parts.every((p) => p.headers?.[SCHEMA_HEADER] === schemaTag(extractor.schema.hash))).toBe(true);
    const renamed = parts.map((p) => ({
      ...p,
      headers: { ...p.headers, [SCHEMA_HEADER]: '0123456789ab' },
      value: { ...p.value, v: p.value.v.map(() => 7) },
    }));
    for (const [i, changed] of [other, renamed].entries()) {
      const task = new PrincipalFeatureTask(FeatureExtractor.standard(geo), 0);
      const out = task.process([
        record(accessEventCodec.encode(e) as Buffer, principalKey(e)),
        ...changed.map((p) => record(partCodec.encode(p.value) as Buffer, p.key as string, p.headers)),
      ]);
      expect(
        out.map((r) => r.value.request_id),
        `case ${i}`,
      ).toEqual([e.request_id]);
      const v = (out[0] as SinkRecord<FeatureRecord>).value.v;
      for (const part of parts)
        for (const at of extractor.positions(part.value.role)) expect(v[at], `case ${i}, position ${at}`).toBe(0);
    }
    // This schema's own parts are joined with their values.
    const own = principal.process([
      record(accessEventCodec.encode(e) as Buffer, principalKey(e)),
      ...parts.map((p) => record(partCodec.encode(p.value) as Buffer, p.key as string, p.headers)),
    ]);
    const v = (own[0] as SinkRecord<FeatureRecord>).value.v;
    for (const part of parts)
      extractor.positions(part.value.role).forEach((at, k) => {
        expect(v[at]).toBe(part.value.v[k]);
      });
  });

  it('sets records that are not what the topic carries aside as poison and goes on with the rest', () => {
    const principal = new PrincipalFeatureTask(FeatureExtractor.standard(geo), 0);
    const entity = new EntityFeatureTask(FeatureExtractor.standard(geo), 0);
    const e = log[0] as AccessEvent;
    const record = (value: string | Buffer, headers: Record<string, string> = {}): SourceRecord => ({
      value: Buffer.from(value),
      key: Buffer.from(principalKey(e)),
      headers,
      position: { topic: 't', partition: 0, offset: '7' },
    });
    const garbage = [
      '',
      'not json',
      '[1,2]',
      '{"ts":"yesterday"}',
      JSON.stringify({ ...e, principal: null }),
      JSON.stringify({ ...e, tx: { amount: 'x' } }),
      (accessEventCodec.encode(e) as Buffer).subarray(0, 40),
    ];
    const parts = entity.process([
      ...garbage.map((g) => record(g, { [ROLE_HEADER]: 'ip' })),
      ...entityKeys(e).map(([role, key]) => ({
        value: Buffer.from(JSON.stringify(e)),
        key: Buffer.from(key),
        headers: { [ROLE_HEADER]: role },
        position: {},
      })),
    ]);
    // The binary codec reads a record that does not open with `{`; JSON from an earlier vigil is checked as before.
    expect(entity.drainPoison().map((p) => p.detail)).toEqual([
      'access event: not a binary record',
      'access event: not a binary record',
      'access event: not a binary record',
      'ts: not a finite number',
      'principal: not an object',
      'amount: not a finite number',
      'access event: truncated',
    ]);
    expect(parts.length).toBe(entityKeys(e).length);
    const bogusPart = record(JSON.stringify({ ts: e.ts, request_id: e.request_id, role: 'planet', v: [] }), {
      [KIND_HEADER]: 'part',
    });
    const out = principal.process([
      ...garbage.map((g) => record(g)),
      bogusPart,
      ...parts.map((p) => record(JSON.stringify(p.value), p.headers)),
      record(JSON.stringify(e)),
    ]);
    const poisoned = principal.drainPoison();
    expect(poisoned).toHaveLength(garbage.length + 1);
    expect(poisoned.at(-1)?.detail).toBe('role: not an entity role');
    expect(poisoned[0]?.record.position.offset).toBe('7');
    // Nothing of a poison record's content is in its detail; the good request still leaves with its parts joined.
    for (const p of poisoned) expect(p.detail).not.toMatch(/yesterday|planet/);
    expect(out.map((r) => r.value.request_id)).toEqual([e.request_id]);
    expect(principal.drainPoison()).toEqual([]);
  });

  it('a crashed entity stage means waiting, not wrong vectors: nothing is emitted before its parts come', () => {
    const principal = new PrincipalFeatureTask(FeatureExtractor.standard(geo), 0);
    const e = log[0] as AccessEvent;
    const records = [
      { value: Buffer.from(JSON.stringify(e)), key: Buffer.from(principalKey(e)), headers: {}, position: {} },
    ];
    expect(principal.process(records)).toEqual([]);
    expect(principal.pendingJoins).toBe(1);
    const entity = new EntityFeatureTask(FeatureExtractor.standard(geo), 0);
    const parts = entity.process(
      entityKeys(e).map(([role, key]) => ({
        value: Buffer.from(JSON.stringify(e)),
        key: Buffer.from(key),
        headers: { [ROLE_HEADER]: role },
        position: {},
      })),
    );
    expect(parts.map((p) => p.headers?.[KIND_HEADER])).toEqual(entityKeys(e).map(() => 'part'));
    const joined = principal.process(
      parts.map((p) => ({
        value: Buffer.from(JSON.stringify(p.value)),
        key: Buffer.from(p.key as string),
        headers: p.headers ?? {},
        position: {},
      })),
    );
    expect(joined.map((r) => r.value.request_id)).toEqual([e.request_id]);
    expect(principal.pendingJoins).toBe(0);
    // Joined before any checkpoint: the changelog never held it, so it writes nothing for it (no tombstone either).
    expect(principal.drainChanges().filter(([k]) => k.startsWith('join/'))).toEqual([]);
    // A join still waiting at a checkpoint is written; once it completes, deleted.
    const second = log.find((x) => principalKey(x) !== principalKey(e)) as AccessEvent;
    principal.process([
      { value: Buffer.from(JSON.stringify(second)), key: Buffer.from(principalKey(second)), headers: {}, position: {} },
    ]);
    const waiting = principal.drainChanges().filter(([k]) => k.startsWith('join/'));
    expect(waiting.map(([k, v]) => [k, v === null])).toEqual([[`join/${second.ts}/${second.request_id}`, false]]);
    // A task restored from that changelog holds the waiting join as written: completing it deletes it there too.
    const restored = new PrincipalFeatureTask(FeatureExtractor.standard(geo), 0);
    restored.restore(waiting as [string, Buffer][]);
    expect(restored.pendingJoins).toBe(1);
    const secondParts = entity.process(
      entityKeys(second).map(([role, key]) => ({
        value: Buffer.from(JSON.stringify(second)),
        key: Buffer.from(key),
        headers: { [ROLE_HEADER]: role },
        position: {},
      })),
    );
    const partRecords = secondParts.map((p) => ({
      value: Buffer.from(JSON.stringify(p.value)),
      key: Buffer.from(p.key as string),
      headers: p.headers ?? {},
      position: {},
    }));
    for (const task of [principal, restored]) {
      expect(task.process(partRecords).map((r) => r.value.request_id)).toEqual([second.request_id]);
      expect(task.drainChanges().filter(([k]) => k.startsWith('join/'))).toEqual([
        [`join/${second.ts}/${second.request_id}`, null],
      ]);
    }
  });

  it('past maxPendingJoins emits the longest-waiting requests first, counted, also after a restore', () => {
    const record = principalRecord;
    const e = log.slice(0, 8);
    const ids = (records: SinkRecord<FeatureRecord>[]) => records.map((r) => r.value.request_id);
    const id = (i: number) => (e[i] as AccessEvent).request_id;
    const t = new PrincipalFeatureTask(FeatureExtractor.standard(geo), 0, { maxPendingJoins: 3 });
    expect(t.process([0, 1, 2].map((i) => record(e[i] as AccessEvent)))).toEqual([]);
    // The second request joins: a hole in the middle of the waiting ones.
    expect(ids(t.process(partsOf(e[1] as AccessEvent)))).toEqual([id(1)]);
    // Three more: five waiting, over the cap by two; the two oldest leave without their parts.
    expect(ids(t.process([3, 4, 5].map((i) => record(e[i] as AccessEvent))))).toEqual([id(0), id(2)]);
    expect([t.incomplete, t.pendingJoins]).toEqual([2, 3]);
    const restored = new PrincipalFeatureTask(FeatureExtractor.standard(geo), 0, { maxPendingJoins: 3 });
    restored.restore(t.drainChanges().filter((c): c is [string, Buffer] => c[1] !== null));
    for (const task of [t, restored]) {
      expect(ids(task.process([6, 7].map((i) => record(e[i] as AccessEvent))))).toEqual([id(3), id(4)]);
      expect(task.pendingJoins).toBe(3);
    }
    // Requests keep coming with their entity stage down: each leaves, in order, once three newer ones wait.
    const more = log.slice(8, 2508).map(record);
    for (let i = 0; i < more.length; i += 100) t.process(more.slice(i, i + 100));
    expect(more.length).toBeGreaterThan(2000);
    expect(t.incomplete).toBe(2 + 2 + more.length);
    expect(t.pendingJoins).toBe(3);
  });

  it('after a restore lets the longest-waiting go first, though a later part rewrote its join last', () => {
    // A request that waits for two parts or more, then two others.
    const first = log.findIndex((e) => entityKeys(e).length >= 2);
    expect(first).toBeGreaterThanOrEqual(0);
    const e = [first, ...[0, 1, 2, 3, 4].filter((i) => i !== first).slice(0, 3)].map((i) => log[i] as AccessEvent);
    const [a, b, c, d] = e as [AccessEvent, AccessEvent, AccessEvent, AccessEvent];
    const task = () => new PrincipalFeatureTask(FeatureExtractor.standard(geo), 0, { maxPendingJoins: 3 });
    const t = task();
    expect(t.process([a, b, c].map(principalRecord))).toEqual([]);
    const changelog = new Map<string, Buffer | null>();
    const checkpoint = () => {
      for (const [key, value] of t.drainChanges()) {
        changelog.delete(key);
        changelog.set(key, value);
      }
    };
    checkpoint();
    // One of the first request's parts: it still waits, and its join is now the changelog's newest record.
    expect(t.process(partsOf(a).slice(0, 1))).toEqual([]);
    checkpoint();
    const keys = [...changelog.keys()].filter((k) => k.startsWith('join/'));
    expect(keys.at(-1)).toContain(a.request_id);
    const restored = task();
    restored.restore([...changelog].filter((c): c is [string, Buffer] => c[1] !== null));
    for (const x of [t, restored]) {
      // Four waiting, over the cap: the first to wait leaves, with the part it got.
      const out = x.process([principalRecord(d)]);
      expect(out.map((r) => r.value.request_id)).toEqual([a.request_id]);
      expect(x.incomplete).toBe(1);
    }
  });

  it('charges waiting requests to the state budget; past its part of their share a task lets the longest-waiting go', () => {
    const record = principalRecord;
    const e = log.slice(0, 400);
    const extractor = FeatureExtractor.standard(geo);
    const perJoin = waitingRequestBytes(extractor);
    // Room for the stores and for five waiting requests (their share of the budget, all tasks together).
    const budget = new StateBudget(64 * 2 ** 20, (5.5 * perJoin) / (64 * 2 ** 20));
    extractor.useBudget(budget);
    const t = new PrincipalFeatureTask(extractor, 0);
    const stores = () => extractor.stateBytes();
    t.process(e.slice(0, 3).map(record));
    expect(t.pendingJoins).toBe(3);
    expect(budget.pending).toBe(3 * perJoin);
    expect(budget.used).toBe(stores() + 3 * perJoin);
    // Its entity stage down: requests keep coming, and only the five newest wait; the rest leave without their parts.
    const out = e.slice(3).flatMap((x) => t.process([record(x)]));
    expect(out.map((r) => r.value.request_id)).toEqual(e.slice(0, e.length - 5).map((x) => x.request_id));
    expect([t.pendingJoins, t.incomplete, budget.pending]).toEqual([5, e.length - 5, 5 * perJoin]);
    // A restored task is charged for the requests it restores as waiting. Two tasks now share the share: each keeps
    // two (2.75 requests' worth), and the restored one lets its four oldest go at its next batch.
    const again = FeatureExtractor.standard(geo);
    again.useBudget(budget);
    const restored = new PrincipalFeatureTask(again, 0);
    restored.restore(t.drainChanges().filter((c): c is [string, Buffer] => c[1] !== null));
    expect([restored.pendingJoins, budget.pending]).toEqual([5, 10 * perJoin]);
    const next = log[400] as AccessEvent;
    expect(restored.process([record(next)]).map((r) => r.value.request_id)).toEqual(
      e.slice(e.length - 5, e.length - 1).map((x) => x.request_id),
    );
    expect([restored.pendingJoins, budget.pending]).toEqual([2, 7 * perJoin]);
    // Both partitions move away: the budget is back to nothing, and its share whole for the tasks that come next.
    t.close();
    restored.close();
    restored.close();
    expect([budget.used, budget.pending, budget.pendingLimitPerTask]).toEqual([0, 0, budget.pendingLimitBytes]);

    // Idle release: held events released by the wall clock become waiting requests outside a batch; the tick keeps
    // them to the task's part and charges them as a batch's end does.
    let wall = 1_000_000;
    const idleExtractor = FeatureExtractor.standard(geo);
    idleExtractor.useBudget(budget);
    const idle = new PrincipalFeatureTask(idleExtractor, BOUND, { idleRelease: true, now: () => wall });
    const held = e.slice(0, 8).map((x) => ({ ...x, ts: (e[0] as AccessEvent).ts + 1 }));
    expect(idle.process(held.map(record))).toEqual([]);
    expect([idle.held, idle.pendingJoins, budget.pending]).toEqual([8, 0, 0]);
    wall += BOUND;
    const released = (idle.tick as (now: number) => SinkRecord<FeatureRecord>[])(wall);
    expect([released.length, idle.pendingJoins, budget.pending]).toEqual([3, 5, 5 * perJoin]);
    idle.close();
    expect([budget.used, budget.pending]).toEqual([0, 0]);
  });

  it('with idle release, a quiet partition lets its held events go a bound of wall time after the last arrival', () => {
    let wall = 1_000_000;
    const e = log[0] as AccessEvent;
    const records = entityKeys(e).map(([role, key]) => ({
      value: Buffer.from(JSON.stringify(e)),
      key: Buffer.from(key),
      headers: { [ROLE_HEADER]: role },
      position: {},
    }));
    // Off (the default): nothing leaves until newer traffic comes, and there is nothing to tick.
    const strict = new EntityFeatureTask(FeatureExtractor.standard(geo), BOUND);
    expect(strict.process(records)).toEqual([]);
    expect(strict.tick).toBeUndefined();
    const idle = new EntityFeatureTask(FeatureExtractor.standard(geo), BOUND, { idleRelease: true, now: () => wall });
    expect(idle.process(records)).toEqual([]);
    const tick = idle.tick as (now: number) => SinkRecord<EntityPart>[];
    expect(tick(wall + BOUND - 1)).toEqual([]);
    const parts = tick(wall + BOUND);
    expect(parts.map((p) => p.value.request_id)).toEqual(entityKeys(e).map(() => e.request_id));
    expect(idle.held).toBe(0);
    // The moved clock is checkpointed, so a restored task agrees on what is late.
    expect(idle.drainChanges().some(([k]) => k === 'stream/clock')).toBe(true);
    // A straggler older than the advanced watermark is late (released at once).
    wall += BOUND;
    const straggler = { ...(log[1] as AccessEvent), ts: e.ts - 1 };
    const late = idle.process(
      entityKeys(straggler).map(([role, key]) => ({
        value: Buffer.from(JSON.stringify(straggler)),
        key: Buffer.from(key),
        headers: { [ROLE_HEADER]: role },
        position: {},
      })),
    );
    expect(late.length).toBe(entityKeys(straggler).length);

    // Restored holding an event (a restart, a moved partition), a quiet partition still lets it go after the bound.
    const holding = new EntityFeatureTask(FeatureExtractor.standard(geo), BOUND, {
      idleRelease: true,
      now: () => wall,
    });
    expect(holding.process(records)).toEqual([]);
    const restored = new EntityFeatureTask(FeatureExtractor.standard(geo), BOUND, {
      idleRelease: true,
      now: () => wall,
    });
    restored.restore(holding.drainChanges().filter((r): r is [string, Buffer] => r[1] !== null));
    expect(restored.held).toBe(entityKeys(e).length);
    const tickRestored = restored.tick as (now: number) => SinkRecord<EntityPart>[];
    expect(tickRestored(wall + BOUND - 1)).toEqual([]);
    expect(tickRestored(wall + BOUND).map((p) => p.value.request_id)).toEqual(entityKeys(e).map(() => e.request_id));
  });

  it('skips records an at-least-once ingest repeated after its own restart', () => {
    const t = new PrincipalFeatureTask(FeatureExtractor.standard(geo), BOUND);
    const records = log.slice(0, 300).map((e, i) => ({
      value: Buffer.from(JSON.stringify(e)),
      key: Buffer.from(principalKey(e)),
      headers: { [SOURCE_HEADER]: `raw/0/${i}/0` },
      position: {},
    }));
    t.process([...records.slice(0, 200), ...records.slice(100, 300)]);
    expect(t.duplicates).toBe(100);
  });

  /** The log as the entity stage reads it: each event once per entity role, with its source position. */
  const entityRecords = (): SourceRecord[] =>
    log.flatMap((e, i) =>
      entityKeys(e).map(([role, key]) => ({
        value: Buffer.from(JSON.stringify(e)),
        key: Buffer.from(key),
        headers: { [SOURCE_HEADER]: `raw/0/${i}/0`, [ROLE_HEADER]: role },
        position: {},
      })),
    );

  it('checkpoints only what changed since the previous checkpoint', () => {
    const t = new EntityFeatureTask(FeatureExtractor.standard(geo), BOUND);
    const records = entityRecords();
    t.process(records.slice(0, 1000));
    const first = t.drainChanges();
    t.process(records.slice(1000, 1010));
    const second = t.drainChanges();
    expect(first.length).toBeGreaterThan(50);
    // Ten records: at most ten held events added and ten released, their keys in the entity stores, clock, sources.
    expect(second.length).toBeLessThanOrEqual(10 + 10 + 10 * 4 + 2);
    expect(t.drainChanges()).toEqual([]);
  });

  it('writes a key’s state in every store as one record, and held events as one record per checkpoint', () => {
    const t = new EntityFeatureTask(FeatureExtractor.standard(geo), BOUND);
    const records = entityRecords();
    let changes = 0;
    const keys = new Set<string>();
    for (let i = 0; i < records.length; i += 50) {
      t.process(records.slice(i, i + 50));
      for (const [key] of t.drainChanges()) {
        changes++;
        keys.add(key.replace(/\/[^/]*$/, '/…'));
      }
    }
    // One record per changed entity (all its stores), a held-event set and perhaps an emptied one per checkpoint, the
    // clock and the sources: well under two per record in (a record per store and per held event was over three).
    expect(changes / records.length).toBeLessThan(1.5);
    expect([...keys].some((k) => k.startsWith('stream/held/'))).toBe(false);
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
    for (const [k, v] of a.drainChanges()) if (v) log.set(k, v);
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
