// Feature extraction alone, one core: events/s of FeatureExtractor.standard over simulated traffic, against the
// peer of parsing the same events (the adapter), and bytes of state per tracked principal with many principals.
// Run: npm run bench:features [-- --events N --principals N]
import { adapterFor } from '@vigil/adapters';
import type { AccessEvent } from '@vigil/events';
import { FeatureExtractor, MmdbGeoLookup } from '@vigil/features';
import { generateTraffic, renderRecord } from '@vigil/simulator';

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = flag('--events', 300_000);
const PRINCIPALS = flag('--principals', 1_000_000);
const geo = MmdbGeoLookup.bundled();
const adapter = adapterFor('canonical', { pepper: { version: 1, secret: 'bench-pepper-0123456789abcdef0123456789' } });

const traffic = generateTraffic({ seed: 11, customers: 20_000, start: Date.UTC(2026, 10, 2), meanGapMs: 5 });
const lines: Buffer[] = [];
for (let i = 0; i < N; i++)
  lines.push(Buffer.from(JSON.stringify(renderRecord('canonical', traffic.next().value as never, 'claims'))));

let t0 = performance.now();
const events: AccessEvent[] = [];
for (const l of lines) for (const o of adapter.parse(l)) if (o.ok) events.push(o.event);
const parseSeconds = (performance.now() - t0) / 1000;

const extractor = FeatureExtractor.standard(geo);
for (let i = 0; i < Math.min(20_000, N); i++) extractor.extract(events[i] as AccessEvent);
const measured = FeatureExtractor.standard(geo);
t0 = performance.now();
let checksum = 0;
for (const e of events) checksum += measured.extract(e)[0] as number;
const featureSeconds = (performance.now() - t0) / 1000;

// State size: one event each for many distinct principals, heap measured after a forced GC.
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const sized = FeatureExtractor.standard(geo);
const template = events[0] as AccessEvent;
gc();
// Typed arrays' backing stores live outside the JS heap: count them too.
const used = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
const before = used();
for (let i = 0; i < PRINCIPALS; i++) {
  const ip = `81.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  sized.extract({
    ...template,
    ts: template.ts + i,
    client_ip: ip,
    principal: { sub: `p-${i}`, token_fingerprint: `v1:${i.toString(16).padStart(64, '0')}`, client_ip: ip },
  });
}
gc();
const bytesPerPrincipal = (used() - before) / PRINCIPALS;
const tracked = sized.stateBytes() / PRINCIPALS;

console.log(
  `events: ${events.length} (canonical, claims), ${measured.names.length} features, checksum ${checksum.toFixed(3)}`,
);
console.log(
  `peer: parse + validate (adapter)      ${Math.round(events.length / parseSeconds).toLocaleString('en')} events/s`,
);
console.log(
  `feature extraction (standard)         ${Math.round(events.length / featureSeconds).toLocaleString('en')} events/s`,
);
console.log(`ratio extraction / parse: ${(parseSeconds / featureSeconds).toFixed(2)}`);
console.log(
  `state: ${PRINCIPALS.toLocaleString('en')} principals (one request each, ` +
    `each with its own IP and token) → ${Math.round(bytesPerPrincipal)} bytes of memory per principal ` +
    `(heap + external; the families' own estimate: ${Math.round(tracked)})`,
);
