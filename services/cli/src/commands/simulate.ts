// `vigil simulate`: seeded demo-bank traffic written as a gateway log. The default profile is the bank simulator
// (homes, diurnal sessions, travel, carriers, payroll; starts at midnight); `--profile steady` is a fixed-rate load
// of the same API calls for load tests, from addresses GeoIP does not place.

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { GATEWAY_FORMATS, type GatewayFormat } from '@vigil/events';
import { MmdbGeoLookup } from '@vigil/features';
import {
  type AttackLabel,
  attackWindow,
  bankDurationMs,
  type CredentialMode,
  generateBank,
  generateTraffic,
  renderRecord,
  withAttacks,
} from '@vigil/simulator';

export async function simulate(args: {
  format?: string;
  out?: string;
  events?: string;
  seed?: string;
  customers?: string;
  credentials?: string;
  attacks?: string;
  labels?: string;
  profile?: string;
}): Promise<number> {
  if (!args.format || !GATEWAY_FORMATS.includes(args.format as GatewayFormat) || !args.out) {
    process.stderr.write(
      `usage: vigil simulate --format ${GATEWAY_FORMATS.join('|')} --out FILE [--events N] [--seed N] [--customers N] [--profile bank|steady] [--attacks N --labels FILE]\n`,
    );
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
  const profile = args.profile ?? 'bank';
  if (profile !== 'bank' && profile !== 'steady') {
    process.stderr.write('vigil simulate: --profile is bank (realistic customers, the default) or steady (a fixed-rate load)\n');
    return 2;
  }
  const seed = Number(args.seed ?? '1');
  const customers = Number(args.customers ?? (profile === 'bank' ? '5000' : '1000'));
  const start = profile === 'bank' ? Date.UTC(2026, 10, 2) : Date.UTC(2026, 10, 2, 8);
  const benign =
    profile === 'bank' ? generateBank({ seed, customers, start, geo: MmdbGeoLookup.bundled() }) : generateTraffic({ seed, customers, start, meanGapMs: 50 });
  // How long the log will last, roughly: the attacks' window depends on it.
  const durationMs = profile === 'bank' ? bankDurationMs(total, customers) : total * 50;
  const labelsOut = args.labels ? createWriteStream(args.labels) : undefined;
  const pendingLabels: AttackLabel[] = [];
  const traffic = perFamily > 0 ? withAttacks(benign, { seed, perFamily, ...attackWindow(start, durationMs) }, (l) => pendingLabels.push(l)) : benign;
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
