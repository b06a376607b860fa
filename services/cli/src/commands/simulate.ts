// `vigil simulate`: seeded demo-bank traffic written as a gateway log.

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { GATEWAY_FORMATS, type GatewayFormat } from '@vigil/events';
import { type AttackLabel, type CredentialMode, generateTraffic, renderRecord, withAttacks } from '@vigil/simulator';

export async function simulate(args: {
  format?: string;
  out?: string;
  events?: string;
  seed?: string;
  customers?: string;
  credentials?: string;
  attacks?: string;
  labels?: string;
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
  const perFamily = Number(args.attacks ?? '0');
  if (!Number.isInteger(perFamily) || perFamily < 0 || (perFamily > 0 && !args.labels)) {
    process.stderr.write('vigil simulate: --attacks N (per family) needs --labels FILE for the attack labels\n');
    return 2;
  }
  const start = Date.UTC(2026, 10, 2, 8, 0, 0);
  const seed = Number(args.seed ?? '1');
  const benign = generateTraffic({ seed, customers: Number(args.customers ?? '1000'), start, meanGapMs: 50 });
  const labelsOut = args.labels ? createWriteStream(args.labels) : undefined;
  const pendingLabels: AttackLabel[] = [];
  // Attacks start after ten minutes and end an hour before the log does, so each has history before and after it.
  const traffic =
    perFamily > 0
      ? withAttacks(benign, { seed, perFamily, start: start + 600_000, spanMs: Math.max(60_000, Number(args.events ?? '100000') * 50 - 4_200_000) }, (l) =>
          pendingLabels.push(l),
        )
      : benign;
  for (let i = 0; i < total; i++) {
    const r = traffic.next().value;
    if (!r) break;
    if (!out.write(`${JSON.stringify(renderRecord(args.format as GatewayFormat, r, mode))}\n`)) await once(out, 'drain');
    for (const l of pendingLabels.splice(0)) if (labelsOut && !labelsOut.write(`${JSON.stringify(l)}\n`)) await once(labelsOut, 'drain');
  }
  await new Promise<void>((resolve) => out.end(resolve));
  if (labelsOut) await new Promise<void>((resolve) => labelsOut.end(resolve));
  process.stderr.write(`wrote ${total} ${args.format} records to ${args.out}\n`);
  return 0;
}
