// What each feature family's state really takes on the heap, against what its stores estimate and charge to the
// state budget (the KeyIndex's part of each key + the family's sizeOf). The budget is only as good as that
// estimate: a store that takes twice what it charges lets the process hold twice its budget. Each family runs alone
// (a fresh FeatureExtractor of one family) over the same events — simulator traffic, then new addresses and tokens as
// in bench:cardinality's wave — and its heap + external memory after a forced GC is compared with its estimate. The
// peer is the estimate itself: the ratio is what a budget of N bytes really holds, per byte.
// Run: npm run bench:state-size [-- --steady N --wave N]
import { adapterFor } from '@vigil/adapters';
import type { SourceRecord } from '@vigil/connectors';
import { objectBytes } from '@vigil/core';
import { type AccessEvent, accessEventCodec, principalKey } from '@vigil/events';
import {
  FeatureExtractor,
  type FeatureFamily,
  KeyedState,
  MmdbGeoLookup,
  PrincipalFeatureTask,
  StateBudget,
} from '@vigil/features';
import { parseBatch, REDACTED_DEAD_LETTERS } from '@vigil/ingest';
import { generateTraffic, issueToken, renderRecord, type SimRequest, seeded } from '@vigil/simulator';

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const STEADY = flag('--steady', 100_000);
const WAVE = flag('--wave', 100_000);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:state-size does)');
const geo = MmdbGeoLookup.bundled();
const adapter = adapterFor('kong', { pepper: { version: 1, secret: 'bench-pepper-0123456789abcdef0123456789' } });
const ingest = { adapterFor: () => adapter, deadLetters: REDACTED_DEAD_LETTERS, traceOneIn: 0 };

/** The bench's events, parsed once by ingest's own code (the baseline every family's measurement starts from). */
function events(): AccessEvent[] {
  const start = Date.UTC(2026, 10, 2);
  const steady = generateTraffic({ seed: 5, customers: 20_000, start, meanGapMs: 20 });
  const rng = seeded(9);
  const requests: SimRequest[] = [];
  for (let i = 0; i < STEADY; i++) requests.push(steady.next().value as SimRequest);
  const waveStart = start + STEADY * 20;
  for (let i = 0; i < WAVE; i++) {
    const ts = waveStart + i * 3;
    const ip = `${45 + (i >> 24)}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const base = { ts, requestId: `wave-${i}`, clientIp: ip, userAgent: 'python-requests/2.32', latencyMs: 4 };
    const sized = { ...base, bytesIn: 200, bytesOut: 120 };
    if (i % 4 === 3) {
      requests.push({
        ...sized,
        method: 'POST',
        uri: '/oauth/token',
        status: 401,
        grantType: 'password',
        loginUsername: `${rng.hex(8)}@mail.example`,
      });
      continue;
    }
    const { token, claims } = issueToken(rng, `wave-${i}`, ts);
    requests.push({ ...sized, method: 'GET', uri: `/v1/accounts/${40_000_000 + i}`, status: 401, token, claims });
  }
  const out: AccessEvent[] = [];
  for (let i = 0; i < requests.length; i += 5000) {
    const records = requests.slice(i, i + 5000).map(
      (r, j): SourceRecord => ({
        value: Buffer.from(JSON.stringify(renderRecord('kong', r))),
        key: null,
        headers: {},
        position: { topic: 'raw', partition: 0, offset: String(i + j) },
      }),
    );
    out.push(...parseBatch({ records }, ingest).events.map((r) => r.value));
  }
  return out;
}

/** Heap and array buffers after full collections; array buffers' memory is freed after the GC that finds them dead. */
async function heap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    (gc as () => void)();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const all = events();
const standardFamilies = FeatureExtractor.standard(geo).families;
const families = standardFamilies.map((f) => f.id);
const principalIds = standardFamilies.filter((f) => f.role === 'principal').map((f) => f.id);
const rows: { family: string; keys: number; actual: number; estimated: number; byStore: string[] }[] = [];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
// The principal stage's families together: one extractor, whose stores keyed by principal share one key index (a
// principal's key, Map entry and slot once for all of them), against the sum of their rows alone.
const TOGETHER = 'the principal families together';
const runs: { family: string; make: () => FeatureExtractor }[] = [
  ...families.map((family, i) => ({
    family,
    make: () => new FeatureExtractor([FeatureExtractor.standard(geo).families[i] as FeatureFamily]),
  })),
  {
    family: TOGETHER,
    make: () => new FeatureExtractor(FeatureExtractor.standard(geo).families.filter((f) => f.role === 'principal')),
  },
];
for (const run of runs) {
  let x: FeatureExtractor | undefined = run.make();
  // A copy of the events for this pass, dropped after it: the strings the stores keep (addresses, ids) are then theirs
  // alone, as in the detector, where each event is decoded, used and dropped.
  let copy: AccessEvent[] | undefined = structuredClone(all);
  for (const e of copy) x.extract(e);
  copy = undefined;
  const multi = x.families.length > 1;
  const named = x.families.flatMap((f) =>
    Object.entries(f.stores)
      .filter((e): e is [string, KeyedState<unknown>] => e[1] instanceof KeyedState)
      .map(([name, s]): [string, KeyedState<unknown>] => [multi ? `${f.id}/${name}` : name, s]),
  );
  const stores = named.map(([, s]) => s);
  const keys = stores.reduce((n, s) => n + s.size, 0);
  const byStore = named.map(
    ([name, s]) =>
      `${name} ${fmt(s.size)} entries, estimated ${fmt(s.bytes / Math.max(1, s.size))} B each beside ` +
      `${fmt(s.slotBytes)} B of columns a slot`,
  );
  const estimated = x.stateBytes();
  // The state's memory is what dropping it frees: measured with and without it, after the pass (which may itself
  // change what the events hold: strings flattened, caches filled), so only the state differs.
  const held = await heap();
  x = undefined;
  stores.length = 0;
  named.length = 0;
  const actual = held - (await heap());
  rows.push({ family: run.family, keys, actual, estimated, byStore });
}

// A bare entry: a store of two-field states under 22-character keys, what KeyedState's own overhead is checked by.
// Twice: a flat key (one string, as a decoded record's), and a joined one built as principalKey builds its keys (a
// prefix joined to an id: a two-part string over the id's own) — most of vigil's stores are keyed so.
const BARE = ['bare entry, flat key', 'bare entry, joined key'];
for (const family of BARE) {
  let store: KeyedState<{ a: number; b: number }> | undefined = new KeyedState({
    ttlMs: Number.MAX_SAFE_INTEGER,
    maxKeys: Number.MAX_SAFE_INTEGER,
    sizeOf: () => objectBytes(2),
  });
  // 91,000 keys: the store's columns (grown by an eighth: 91,644 slots) are then at their fullest, 1.007 slots a key,
  // where the estimate charges 1.125 — these rows measure an entry's own bytes, not the growth's slack.
  const n = 91_000;
  const flat = (s: string) => Buffer.from(s).toString('latin1');
  const key =
    family === BARE[0]
      ? (i: number) => flat(`bare:${String(i).padStart(17, '0')}`)
      : (i: number) => `bare:${flat(String(i).padStart(17, '0'))}`;
  for (let i = 0; i < n; i++) store.get(key(i), i, () => ({ a: 1, b: 2 }));
  const estimated = store.bytes;
  const held = await heap();
  store = undefined;
  rows.push({ family, keys: n, actual: held - (await heap()), estimated, byStore: [] });
}

// A request waiting for its entity parts (the principal stage's join, with its entity stage down: no part comes), what
// the budget is charged for each (joinBytes, which counts every part it could come to hold).
const WAITING = 'a waiting request (no parts yet)';
{
  const budget = new StateBudget(2 ** 40);
  // Not checkpointed: a checkpointed task would also keep each changed join's key for its next drain.
  const task = new PrincipalFeatureTask(FeatureExtractor.standard(geo, { budget }), 0, { checkpointed: false });
  const n = Math.min(50_000, all.length);
  // Each record with a trace context of its own, as a decoded Kafka record's headers are, made batch by batch so that
  // what a waiting request keeps of its record is its own (the batch's records are gone when it is measured).
  const batch = (from: number): SourceRecord[] =>
    all.slice(from, Math.min(n, from + 500)).map((e, i) => ({
      value: accessEventCodec.encode(e) as Buffer,
      key: Buffer.from(principalKey(e)),
      headers: { traceparent: `00-${String(from + i).padStart(32, '0')}-b7ad6b7169203331-01` },
      position: {},
    }));
  for (let i = 0; i < n; i += 500) task.process(batch(i));
  const waiting = task.pendingJoins;
  const estimated = budget.pending;
  const held = await heap();
  // Every waiting request leaves (incomplete); the families' state stays, so only the joins differ.
  task.flush();
  rows.push({ family: WAITING, keys: waiting, actual: held - (await heap()), estimated, byStore: [] });
}

console.log(`${fmt(all.length)} events (${fmt(STEADY)} steady, ${fmt(WAVE)} wave); each family alone:`);
console.log('family | entries | heap bytes | estimated | heap / estimate | heap bytes per entry | stores');
for (const r of rows)
  console.log(
    `${r.family} | ${fmt(r.keys)} | ${fmt(r.actual)} | ${fmt(r.estimated)} | ${(r.actual / r.estimated).toFixed(2)} | ` +
      `${fmt(r.actual / Math.max(1, r.keys))} | ${r.byStore.join('; ')}`,
  );
const familyRows = rows.filter((r) => families.includes(r.family));
const together = rows.find((r) => r.family === TOGETHER) as (typeof rows)[number];
const alone = rows.filter((r) => principalIds.includes(r.family)).reduce((n, r) => n + r.actual, 0);
const total = familyRows.reduce((a, r) => ({ actual: a.actual + r.actual, estimated: a.estimated + r.estimated }), {
  actual: 0,
  estimated: 0,
});
console.log(
  JSON.stringify({
    events: all.length,
    heap_bytes: total.actual,
    estimated_bytes: total.estimated,
    heap_per_estimated_byte: Number((total.actual / total.estimated).toFixed(3)),
    families: Object.fromEntries(familyRows.map((r) => [r.family, Number((r.actual / r.estimated).toFixed(3))])),
    bare_entry: Object.fromEntries(
      rows
        .filter((r) => BARE.includes(r.family))
        .map((r) => [r.family, { bytes: Math.round(r.actual / r.keys), estimate: Math.round(r.estimated / r.keys) }]),
    ),
    principal_families: {
      together_bytes: together.actual,
      alone_bytes: alone,
      together_per_alone: Number((together.actual / alone).toFixed(3)),
      together_per_estimate: Number((together.actual / together.estimated).toFixed(3)),
    },
    waiting_request: rows
      .filter((r) => r.family === WAITING)
      .map((r) => ({ bytes: Math.round(r.actual / r.keys), estimate: Math.round(r.estimated / r.keys) }))[0],
  }),
);
