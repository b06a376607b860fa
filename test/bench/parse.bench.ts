// Parse + validate throughput per gateway format, stated as a ratio to a plain JSON.parse pass over the same lines
// (the peer measured in the same run). Run: npm run bench:parse [-- --events N]
import { adapterFor } from '@vigil/adapters';
import { GATEWAY_FORMATS } from '@vigil/events';
import { generateTraffic, renderRecord } from '@vigil/simulator';

const arg = process.argv.indexOf('--events');
const N = arg > 0 ? Number(process.argv[arg + 1]) : 100_000;
const pepper = { version: 1, secret: 'bench-pepper-0123456789abcdef0123456789' };

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

const rows: string[][] = [['format', 'credentials', 'records', 'JSON.parse rec/s', 'vigil rec/s', 'ratio']];
for (const format of GATEWAY_FORMATS) {
  for (const mode of ['bearer', 'claims'] as const) {
    const traffic = generateTraffic({ seed: 7, customers: 5000, start: Date.UTC(2026, 10, 2), meanGapMs: 20 });
    const lines: Buffer[] = [];
    for (let i = 0; i < N; i++)
      lines.push(Buffer.from(JSON.stringify(renderRecord(format, traffic.next().value as never, mode))));
    const adapter = adapterFor(format, { pepper });
    // Warm-up so both sides run optimised code.
    for (let i = 0; i < Math.min(N, 20_000); i++) {
      JSON.parse(lines[i]?.toString('utf8') ?? '{}');
      adapter.parse(lines[i] as Buffer);
    }
    let sink = 0;
    const peer = time(() => {
      for (const l of lines) sink += JSON.parse(l.toString('utf8')) ? 1 : 0;
    });
    let ok = 0;
    const ours = time(() => {
      for (const l of lines) for (const o of adapter.parse(l)) if (o.ok) ok++;
    });
    if (ok !== N || sink !== N) throw new Error(`${format}: ${ok} of ${N} parsed`);
    rows.push([
      format,
      mode,
      String(N),
      Math.round(N / peer).toLocaleString('en'),
      Math.round(N / ours).toLocaleString('en'),
      (peer / ours).toFixed(2),
    ]);
  }
}
const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
console.log(`node ${process.version}; one core; ratio = vigil throughput / JSON.parse throughput`);
