// `vigil simulate`: seeded demo-bank traffic written as a gateway log.

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { GATEWAY_FORMATS, type GatewayFormat } from '@vigil/events';
import { type CredentialMode, generateTraffic, renderRecord } from '@vigil/simulator';

export async function simulate(args: {
  format?: string;
  out?: string;
  events?: string;
  seed?: string;
  customers?: string;
  credentials?: string;
}): Promise<number> {
  if (!args.format || !GATEWAY_FORMATS.includes(args.format as GatewayFormat) || !args.out) {
    process.stderr.write(`usage: vigil simulate --format ${GATEWAY_FORMATS.join('|')} --out FILE [--events N] [--seed N]\n`);
    return 2;
  }
  const mode = (args.credentials ?? 'bearer') as CredentialMode;
  if (mode !== 'bearer' && mode !== 'claims') {
    process.stderr.write('vigil simulate: --credentials is bearer or claims\n');
    return 2;
  }
  const total = Number(args.events ?? '100000');
  const out = createWriteStream(args.out);
  const traffic = generateTraffic({
    seed: Number(args.seed ?? '1'),
    customers: Number(args.customers ?? '1000'),
    start: Date.UTC(2026, 10, 2, 8, 0, 0),
    meanGapMs: 50,
  });
  for (let i = 0; i < total; i++) {
    const r = traffic.next().value;
    if (!r) break;
    if (!out.write(`${JSON.stringify(renderRecord(args.format as GatewayFormat, r, mode))}\n`)) await once(out, 'drain');
  }
  await new Promise<void>((resolve) => out.end(resolve));
  process.stderr.write(`wrote ${total} ${args.format} records to ${args.out}\n`);
  return 0;
}
