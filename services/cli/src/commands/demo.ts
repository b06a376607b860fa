// `vigil demo`: the embedded default. Simulated traffic (with a share of malformed records) flows through the same
// ingest stage the detector runs, on the in-memory bus, with no external service. It reports what each stage did.
// Feature extraction, scoring and enforcement join this pipeline as they are built (see the README's roadmap).
import { adapterFor } from '@vigil/adapters';
import { MemoryBus, MemorySink, MemorySource } from '@vigil/connectors';
import { type AccessEvent, type DeadLetter, GATEWAY_FORMATS, type GatewayFormat } from '@vigil/events';
import { FeatureExtractor, MmdbGeoLookup } from '@vigil/features';
import { createIngestHandler } from '@vigil/ingest';
import { generateTraffic, malformedRecords, renderRecord } from '@vigil/simulator';
import { DEMO_PEPPER } from './pepper.js';

export async function demo(args: { events?: string; seed?: string; format?: string }): Promise<number> {
  const total = Number(args.events ?? '200000');
  const format = (args.format ?? 'kong') as GatewayFormat;
  if (!Number.isInteger(total) || total <= 0 || !GATEWAY_FORMATS.includes(format)) {
    process.stderr.write('usage: vigil demo [--events N] [--seed N] [--format F]\n');
    return 2;
  }
  const seed = Number(args.seed ?? '1');
  const out = process.stdout;
  out.write(`vigil demo — ${total} simulated ${format} records, seed ${seed}, in-memory bus (no external services)\n`);

  const bus = new MemoryBus();
  const traffic = generateTraffic({ seed, customers: 2000, start: Date.UTC(2026, 10, 2, 8, 0, 0), meanGapMs: 40 });
  const input: { value: Buffer }[] = [];
  let malformed = 0;
  for (let i = 0; i < total; i++) {
    const r = traffic.next().value;
    if (!r) break;
    // One record in 500 is broken the ways real shippers break them, to show the dead-letter path.
    if (i % 500 === 499) {
      const bad = malformedRecords(format, r)[((i / 500) % 4) | 0];
      if (bad) {
        input.push({ value: Buffer.from(bad.line) });
        malformed++;
        continue;
      }
    }
    input.push({ value: Buffer.from(JSON.stringify(renderRecord(format, r))) });
  }
  bus.append('vigil.access', input);

  const demoAdapter = adapterFor(format, { pepper: DEMO_PEPPER });
  const source = new MemorySource(bus, 'vigil.access', { batchSize: 1000, stopWhenDrained: true });
  const handler = createIngestHandler({
    adapterFor: () => demoAdapter,
    sinks: { events: new MemorySink<AccessEvent>(bus, 'vigil.access.by-principal'), deadLetters: new MemorySink<DeadLetter>(bus, 'vigil.dlq') },
    maxOriginalBytes: 4096,
    traceOneIn: 1000,
  });
  const started = performance.now();
  const tty = out.isTTY === true;
  let lastProgress = 0;
  await source.run(async (batch) => {
    await handler(batch);
    const now = performance.now();
    if (tty && now - lastProgress > 100) {
      lastProgress = now;
      out.write(`\r  ingesting… ${source.acknowledged.toLocaleString('en')} / ${input.length.toLocaleString('en')}`);
    }
  });
  const seconds = (performance.now() - started) / 1000;
  if (tty) out.write('\r\x1b[K');

  const events = bus.topic<AccessEvent>('vigil.access.by-principal');

  // Features over the keyed stream, in event time (the next stage the detector gains).
  const extractor = FeatureExtractor.standard(MmdbGeoLookup.bundled());
  const featureStart = performance.now();
  const maxima = new Float64Array(extractor.names.length).fill(Number.NEGATIVE_INFINITY);
  for (const e of events) {
    const v = extractor.extract(e.value);
    for (let i = 0; i < v.length; i++) if ((v[i] as number) > (maxima[i] as number)) maxima[i] = v[i] as number;
  }
  const featureSeconds = (performance.now() - featureStart) / 1000;
  const dead = bus.topic<DeadLetter>('vigil.dlq');
  const principals = new Set(events.map((e) => e.key));
  const reasons = new Map<string, number>();
  for (const d of dead) reasons.set(d.value.reason, (reasons.get(d.value.reason) ?? 0) + 1);
  const leaked = events.some((e) => JSON.stringify(e.value).includes('Bearer '));

  out.write('\nReport\n');
  out.write(`  records in          ${input.length}\n`);
  out.write(`  events out          ${events.length} (keyed by principal: ${principals.size} principals)\n`);
  out.write(`  dead letters        ${dead.length} of ${malformed} malformed — ${[...reasons].map(([r, n]) => `${r}: ${n}`).join(', ')}\n`);
  out.write(`  raw tokens in output ${leaked ? 'FOUND (bug)' : 'none (fingerprinted at the edge)'}\n`);
  out.write(`  throughput          ${Math.round(input.length / seconds).toLocaleString('en')} records/s (parse + validate + re-key, one core)\n`);
  out.write(
    `  features            ${extractor.names.length} per event, ${Math.round(events.length / featureSeconds).toLocaleString('en')} events/s; state ${Math.round(extractor.stateBytes() / 1024 / 1024)} MiB\n`,
  );
  const show = ['req_1m_log', 'distinct_objects_10m_log', 'ip_failed_logins_10m_log', 'tx_amount_z', 'tx_new_payee'];
  out.write(`  feature maxima      ${show.map((n) => `${n}=${(maxima[extractor.names.indexOf(n)] ?? 0).toFixed(2)}`).join(' ')}\n`);
  out.write(
    '  detection           no default bundle ships yet: `vigil train` builds one, `vigil detect` scores with it (scoring.bundle) — see README "Status"\n',
  );
  return events.length + dead.length === input.length && !leaked ? 0 : 1;
}
