// A distributed attack's shape against the feature stages: steady traffic, then a wave of new client IPs and new
// tokens (1,000,000 by default) within minutes of event time, each one a principal and an IP the stages have never
// seen. Both stages run as the detector runs them — Kong lines parsed, fingerprinted and re-keyed by ingest's own code,
// the entity task, its parts joined by the principal task, the changelog drained every CHECKPOINT events — in one
// process with one state budget, without the broker (bench:pipeline measures the Kafka path; its cost per record does
// not depend on how many keys the stages hold). The peer is the same process on steady traffic: the wave should keep at
// least half its rate, and the state must stay within the budget (keys seen once evicted first, and counted).
// Then the compacted changelog (appended to files, the latest record per key read back) is restored into fresh tasks.
// Run: npm run bench:cardinality [-- --wave N --steady N --budget-mb MB --restores N --profile-restore FILE]   (budget
// 0: the keys caps only; the restore's figure is the median of --restores runs, 3 by default; --profile-restore writes
// a V8 CPU profile of the principal stage's first restore alone, for DevTools)
import { appendFileSync, closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adapterFor } from '@vigil/adapters';
import { ChangelogSegments, type SinkRecord, type SourceRecord, type StatefulTask } from '@vigil/connectors';
import { type AccessEvent, accessEventCodec } from '@vigil/events';
import {
  ENTITY_ROLES,
  EntityFeatureTask,
  type EntityPart,
  entityPartCodec,
  FeatureExtractor,
  KIND_HEADER,
  MmdbGeoLookup,
  PART_KIND,
  PrincipalFeatureTask,
  StateBudget,
} from '@vigil/features';
import { entityRecords, parseBatch, REDACTED_DEAD_LETTERS } from '@vigil/ingest';
import { generateTraffic, issueToken, renderRecord, type SimRequest, seeded } from '@vigil/simulator';

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const WAVE = flag('--wave', 1_000_000);
const STEADY = flag('--steady', 200_000);
const BUDGET_MB = flag('--budget-mb', 512);
/** Events between changelog drains: about the detector's 200 ms commit interval at this rate. */
const CHECKPOINT = 2000;
/** The wave's span in event time: a million new addresses within minutes. */
const WAVE_SPAN_MS = 5 * 60_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:cardinality does)');
const geo = MmdbGeoLookup.bundled();
const adapter = adapterFor('kong', { pepper: { version: 1, secret: 'bench-pepper-0123456789abcdef0123456789' } });
/** The detector's ingest settings: its adapter, redacted dead letters, one record in 100 traced (the default). */
const ingestOptions = { adapterFor: () => adapter, deadLetters: REDACTED_DEAD_LETTERS, traceOneIn: 100 };
const budget = BUDGET_MB > 0 ? new StateBudget(BUDGET_MB * 2 ** 20) : undefined;
const makeEntity = () => new EntityFeatureTask(FeatureExtractor.standard(geo, { budget }), 2000);
const makePrincipal = () => new PrincipalFeatureTask(FeatureExtractor.standard(geo, { budget }), 2000);

const start = Date.UTC(2026, 10, 2);
const steady = generateTraffic({ seed: 5, customers: 20_000, start, meanGapMs: 20 });
const rng = seeded(9);
let waveSent = 0;
const waveStart = start + STEADY * 20;
/** One wave request: a new address, and a new token (three in four) or a login with a leaked username (one in four). */
function waveRequest(): SimRequest {
  const i = waveSent++;
  const ip = `${45 + (i >> 24)}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const ts = waveStart + Math.floor((i * WAVE_SPAN_MS) / WAVE);
  const base = {
    ts,
    requestId: `wave-${i}`,
    clientIp: ip,
    userAgent: 'python-requests/2.32',
    latencyMs: 4,
    bytesIn: 200,
    bytesOut: 120,
  };
  if (i % 4 === 3)
    return {
      ...base,
      method: 'POST',
      uri: '/oauth/token',
      status: 401,
      grantType: 'password',
      loginUsername: `${rng.hex(8)}@mail.example`,
    };
  const { token, claims } = issueToken(rng, `wave-${i}`, ts);
  return { ...base, method: 'GET', uri: `/v1/accounts/${40_000_000 + i}`, status: 401, token, claims };
}

let entity = makeEntity();
let principal = makePrincipal();
/** The changelogs' segment bookkeeping, as each stage's processor keeps it (counted with the tasks' memory). */
let segments = { entity: new ChangelogSegments(), principal: new ChangelogSegments() };
// Charged to the budget as the processor charges it (StatefulProcessorOptions.budget).
/**
 * Calls f with each stage's bookkeeping. A function, not a loop here: a loop variable at the module's top level stays
 * alive after the loop (an interpreter register), and kept the principal stage's bookkeeping — ~45 MiB after a wave —
 * out of the memory measured below.
 */
const eachBookkeeping = (f: (s: ChangelogSegments) => void) => {
  f(segments.entity);
  f(segments.principal);
};
if (budget) eachBookkeeping((s) => s.useBudget(budget));
/**
 * The changelogs, appended to files as the processor would send them to Kafka (so the bench's copy is not in the
 * process's memory), and compacted when they are read back for the restore.
 */
const changelogDir = mkdtempSync(join(tmpdir(), 'vigil-cardinality-'));
const changelogFile = { entity: join(changelogDir, 'entity'), principal: join(changelogDir, 'principal') };
let offset = 0;
let peakRss = 0;

/**
 * What a stage's Kafka sink writes and the next stage's source reads back: the value in its topic's codec (entity
 * parts and events: vigil's binary records, as the detector writes them), the key as bytes.
 */
const partCodec = entityPartCodec(new Set(ENTITY_ROLES));
const asSourceRecord = (r: SinkRecord<unknown>): SourceRecord => ({
  value: (r.headers?.[KIND_HEADER] === PART_KIND
    ? partCodec.encode(r.value as EntityPart)
    : accessEventCodec.encode(r.value as AccessEvent)) as Buffer,
  key: r.key === null || r.key === undefined ? null : Buffer.from(r.key),
  headers: r.headers ?? {},
  position: {},
});

/** Parses and re-keys one batch with ingest's own code, runs it through both tasks, drains their changelogs (timed). */
function processBatch(requests: SimRequest[]): number {
  const records = requests.map(
    (r): SourceRecord => ({
      value: Buffer.from(JSON.stringify(renderRecord('kong', r))),
      key: null,
      headers: {},
      position: { topic: 'raw', partition: 0, offset: String(offset++) },
    }),
  );
  const t0 = performance.now();
  const { events } = parseBatch({ records }, ingestOptions);
  const parts = entity.process(entityRecords(events).map(asSourceRecord)).map(asSourceRecord);
  principal.process([...events.map(asSourceRecord), ...parts]);
  drain('entity', entity);
  drain('principal', principal);
  const seconds = (performance.now() - t0) / 1000;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  return seconds;
}

function drain(which: 'entity' | 'principal', task: StatefulTask<unknown>) {
  const parts: Buffer[] = [];
  for (const [key, value] of segments[which].write(task.drainChanges(), task.packedState)) {
    const k = Buffer.from(key);
    const head = Buffer.alloc(8);
    head.writeUInt32LE(k.length, 0);
    head.writeInt32LE(value === null ? -1 : value.length, 4);
    parts.push(head, k);
    if (value) parts.push(value);
  }
  appendFileSync(changelogFile[which], Buffer.concat(parts));
}

/** The latest record per key, deleted keys gone: what a compacted changelog partition gives a restore. */
function compacted(which: 'entity' | 'principal'): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const fd = openSync(changelogFile[which], 'r');
  // Read in chunks (the log passes 2 GiB under a wave); values are copied so no chunk stays pinned.
  let pending = Buffer.alloc(0);
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 2 ** 20);
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    const log = Buffer.concat([pending, chunk.subarray(0, n)]);
    let at = 0;
    while (at + 8 <= log.length) {
      const keyLength = log.readUInt32LE(at);
      const valueLength = log.readInt32LE(at + 4);
      const end = at + 8 + keyLength + Math.max(0, valueLength);
      if (end > log.length) break;
      const key = log.toString('utf8', at + 8, at + 8 + keyLength);
      if (valueLength < 0) out.delete(key);
      else out.set(key, Buffer.from(log.subarray(at + 8 + keyLength, end)));
      at = end;
    }
    pending = Buffer.from(log.subarray(at));
  }
  closeSync(fd);
  return out;
}

/** Runs `n` requests from `next` in checkpoint-sized batches; returns events/s over the processing time alone. */
function phase(n: number, next: () => SimRequest): number {
  let seconds = 0;
  for (let done = 0; done < n; done += CHECKPOINT) {
    const batch: SimRequest[] = [];
    for (let i = 0; i < Math.min(CHECKPOINT, n - done); i++) batch.push(next());
    seconds += processBatch(batch);
  }
  return n / seconds;
}

const nextSteady = () => steady.next().value as SimRequest;
// Warm-up (JIT), then the steady rate on the warmed process.
phase(Math.min(50_000, STEADY / 4), nextSteady);
const steadyPerS = phase(STEADY, nextSteady);
// The wave, merged with the steady traffic in event time: mostly new addresses (about 30 a second of event time
// against the steady traffic's 50).
let pendingSteady = nextSteady();
const mixed = () => {
  if (waveSent < WAVE && waveStart + Math.floor((waveSent * WAVE_SPAN_MS) / WAVE) < pendingSteady.ts)
    return waveRequest();
  const r = pendingSteady;
  pendingSteady = nextSteady();
  return r;
};
while (pendingSteady.ts < waveStart) pendingSteady = nextSteady();
let waveEvents = 0;
let waveSeconds = 0;
while (waveSent < WAVE) {
  const rate = phase(CHECKPOINT * 50, mixed);
  waveEvents += CHECKPOINT * 50;
  waveSeconds += (CHECKPOINT * 50) / rate;
}
const wavePerS = waveEvents / waveSeconds;

// Memory held by the state after the wave, per principal the principal stage tracks.
const stats = { principal: principal.stateStats(), entity: entity.stateStats() };
const bookkeepingEstimate = segments.principal.bytes + segments.entity.bytes;
const estimated = budget?.used ?? stats.principal.bytes + stats.entity.bytes + bookkeepingEstimate;
// The rates first: what follows (memory, restore) takes a while on a million keys.
const fmt = (n: number) => Math.round(n).toLocaleString('en');
console.log(
  `steady: ${fmt(STEADY)} events from 20,000 customers; wave: ${fmt(WAVE)} new addresses and tokens over ` +
    `${WAVE_SPAN_MS / 60_000} min of event time (${fmt(waveEvents)} events with the steady traffic)`,
);
console.log(`peer (same process, steady traffic)   ${fmt(steadyPerS)} events/s`);
console.log(
  `during the wave                        ${fmt(wavePerS)} events/s  (ratio to steady ` +
    `${(wavePerS / steadyPerS).toFixed(2)})`,
);
console.log(
  `state budget ${BUDGET_MB > 0 ? `${BUDGET_MB} MiB` : 'none (per-store key caps only)'}; estimated state ` +
    `${fmt(estimated / 2 ** 20)} MiB; peak RSS ${fmt(peakRss / 2 ** 20)} MiB`,
);
for (const which of ['principal', 'entity'] as const) {
  const s = stats[which];
  console.log(
    `${which} stage: ${fmt(s.keys)} keys held, evicted by the budget ${fmt(s.evictedByBudget)}, by the key caps ` +
      `${fmt(s.evictedByCap)}, by TTL ${fmt(s.evictedByTtl)}; by store: ` +
      Object.entries(s.byStore)
        .filter(([, n]) => n > 0)
        .map(([store, n]) => `${store} ${fmt(n)}`)
        .join(', ') +
      (which === 'principal' ? `; principals with state in any store keyed by principal ${fmt(s.principals)}` : ''),
  );
}
// Typed arrays' backing stores live outside the JS heap: count them too. One gc() leaves garbage behind (Buffers
// freed by finalisers), so it runs until the heap stops shrinking.
const used = async () => {
  let last = Number.POSITIVE_INFINITY;
  for (;;) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    const m = process.memoryUsage();
    if (m.heapUsed + m.external >= last - 2 ** 20) return m.heapUsed + m.external;
    last = m.heapUsed + m.external;
  }
};
const withTasks = await used();
const segmentStats = { principal: segments.principal.stats, entity: segments.entity.stats };
eachBookkeeping((s) => s.release());
segments = { entity: new ChangelogSegments(), principal: new ChangelogSegments() };
// The changelogs' bookkeeping (which segment holds each key's newest entry), charged to the budget as well.
const bookkeeping = withTasks - (await used());
entity.close();
principal.close();
entity = makeEntity();
principal = makePrincipal();
// What the two tasks held: the heap with them, less the heap without them.
const stateHeld = withTasks - (await used());
const trackedPrincipals = stats.principal.keys;

// Restore: the compacted changelog (read from its file first; bench:restore measures the Kafka read) into fresh tasks.
const changelog = { principal: compacted('principal'), entity: compacted('entity') };
/** The state a compacted changelog holds, its segments expanded (timed with the restore: the detector does both). */
const expand = (log: Map<string, Buffer>, task: PrincipalFeatureTask | EntityFeatureTask) =>
  ChangelogSegments.restore(log, task.packedState).state;
const profiling = process.argv.indexOf('--profile-restore');
// Several restores, each into a fresh task, and the median: one restore of a few seconds varies by ±20 % here.
const restoreRuns = Math.max(1, flag('--restores', 3));
const restoreTimes: number[] = [];
for (let run = 0; run < restoreRuns; run++) {
  if (run > 0) {
    principal.close();
    principal = makePrincipal();
  }
  const profiler = profiling > 0 && run === 0 ? await startProfile() : undefined;
  const t0 = performance.now();
  principal.restore(expand(changelog.principal, principal));
  restoreTimes.push((performance.now() - t0) / 1000);
  if (profiler) await profiler.stopInto(process.argv[profiling + 1] as string);
}
const restoreSeconds = [...restoreTimes].sort((a, b) => a - b)[restoreRuns >> 1] as number;
const t0 = performance.now();
entity.restore(expand(changelog.entity, entity));
const entityRestoreSeconds = (performance.now() - t0) / 1000;
rmSync(changelogDir, { recursive: true, force: true });
// What the restored tasks hold before any key is used again: each key's index entry and its record, kept encoded
// until the key's next use (keyed-state.ts), in the slabs the restore copied values into.
const withRestored = await used();
principal.close();
entity.close();
principal = makePrincipal();
entity = makeEntity();
const restoredHeld = withRestored - (await used());
/** Bytes of the compacted changelog's values (segments: the keys' records, packed). */
const logBytes = (log: Map<string, Buffer>) => [...log.values()].reduce((n, v) => n + v.length, 0);
const changelogBytes = logBytes(changelog.principal) + logBytes(changelog.entity);

console.log(
  `memory the two tasks hold after the wave (heap + external, after GC): ${fmt(stateHeld / 2 ** 20)} MiB → ` +
    `${fmt(stateHeld / Math.max(1, trackedPrincipals))} bytes per tracked principal (its entity state included); ` +
    `against the budget's estimate ${fmt(estimated / 2 ** 20)} MiB (${(stateHeld / estimated).toFixed(2)}); of it ` +
    `the changelogs' bookkeeping ${fmt(bookkeeping / 2 ** 20)} MiB (estimated ${fmt(bookkeepingEstimate / 2 ** 20)}), ` +
    `the tasks ${fmt((stateHeld - bookkeeping) / 2 ** 20)} MiB (estimated ` +
    `${fmt((estimated - bookkeepingEstimate) / 2 ** 20)})`,
);
for (const which of ['principal', 'entity'] as const) {
  const s = segmentStats[which];
  console.log(
    `${which} changelog: ${fmt(s.segments)} segments holding ${fmt(s.entries)} entries, ${fmt(s.live)} of them live; ` +
      `${fmt(s.copied)} copied forward by the cleaner`,
  );
}
console.log(
  `compacted changelogs: ${fmt(changelogBytes / 2 ** 20)} MiB (${fmt(changelogBytes / Math.max(1, trackedPrincipals))} ` +
    `bytes per tracked principal); the tasks restored from them hold ${fmt(restoredHeld / 2 ** 20)} MiB before any ` +
    `key is used (${fmt(restoredHeld / Math.max(1, trackedPrincipals))} bytes per tracked principal)`,
);
console.log(
  `restore from the compacted changelog: principal stage ${fmt(changelog.principal.size)} records in ` +
    `${restoreSeconds.toFixed(1)} s, the median of ${restoreRuns} (${fmt(trackedPrincipals / restoreSeconds)} ` +
    `principals/s; each: ${restoreTimes.map((t) => fmt(trackedPrincipals / t)).join(', ')}); entity stage ` +
    `${entityRestoreSeconds.toFixed(1)} s`,
);
console.log(
  JSON.stringify({
    steady_events_per_s: Math.round(steadyPerS),
    wave_events_per_s: Math.round(wavePerS),
    ratio_wave_to_steady: Number((wavePerS / steadyPerS).toFixed(2)),
    peak_rss_mb: Math.round(peakRss / 2 ** 20),
    state_budget_mb: BUDGET_MB > 0 ? BUDGET_MB : null,
    bytes_per_principal: Math.round(stateHeld / Math.max(1, trackedPrincipals)),
    held_per_estimated_byte: Number((stateHeld / estimated).toFixed(2)),
    bookkeeping_mb: Math.round(bookkeeping / 2 ** 20),
    bookkeeping_estimated_mb: Math.round(bookkeepingEstimate / 2 ** 20),
    tasks_mb: Math.round((stateHeld - bookkeeping) / 2 ** 20),
    estimated_mb: Math.round(estimated / 2 ** 20),
    restore_principals_per_s: Math.round(trackedPrincipals / restoreSeconds),
    changelog_bytes_per_principal: Math.round(changelogBytes / Math.max(1, trackedPrincipals)),
    restored_bytes_per_principal: Math.round(restoredHeld / Math.max(1, trackedPrincipals)),
    evicted_by_budget: stats.principal.evictedByBudget + stats.entity.evictedByBudget,
  }),
);

/** A V8 CPU profile of what runs until stopInto (node:inspector: the same profile `node --cpu-prof` writes). */
async function startProfile(): Promise<{ stopInto: (file: string) => Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    stopInto: async (file) => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
