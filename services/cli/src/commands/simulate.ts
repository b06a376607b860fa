// `vigil simulate`: seeded demo-bank traffic written as a gateway log. The default profile is the bank simulator
// (homes, diurnal sessions, travel, carriers, payroll; starts at midnight); `--profile steady` is a fixed-rate load
// of the same API calls for load tests, from addresses GeoIP does not place.

import { createWriteStream } from 'node:fs';
import { JsonlFileSink } from '@vigil/connectors';
import { GATEWAY_FORMATS, type GatewayFormat } from '@vigil/events';
import { MmdbGeoLookup } from '@vigil/features';
import {
  type AttackLabel,
  attackWindow,
  bankDurationMs,
  type CredentialMode,
  drive,
  generateBank,
  generateTraffic,
  renderRecord,
  withAttacks,
} from '@vigil/simulator';
import { defineCommand } from '../command.js';
import { reportOutputProblems, writeOutputs } from '../support/input-file.js';

type SimulateArgs = {
  format?: string;
  out?: string;
  events?: string;
  seed?: string;
  customers?: string;
  credentials?: string;
  attacks?: string;
  labels?: string;
  profile?: string;
  target?: string;
  speed?: string;
};

/** The flags of a file simulation, checked. */
interface FileRun {
  format: GatewayFormat;
  out: string;
  labels: string | undefined;
  mode: CredentialMode;
  total: number;
  perFamily: number;
  profile: 'bank' | 'steady';
  seed: number;
  customers: number;
}

export async function simulate(args: SimulateArgs): Promise<number> {
  if (args.target !== undefined) return simulateOverHttp(args);
  const run = fileRun(args);
  if (typeof run === 'string') {
    process.stderr.write(`${run}\n`);
    return 2;
  }
  const { seed, customers, profile, total, perFamily } = run;
  const start = profile === 'bank' ? Date.UTC(2026, 10, 2) : Date.UTC(2026, 10, 2, 8);
  const benign =
    profile === 'bank'
      ? generateBank({ seed, customers, start, geo: MmdbGeoLookup.bundled() })
      : generateTraffic({ seed, customers, start, meanGapMs: 50 });
  // How long the log will last, roughly: the attacks' window depends on it.
  const durationMs = profile === 'bank' ? bankDurationMs(total, customers) : total * 50;
  if (reportOutputProblems('simulate', [run.out, run.labels])) return 2;
  const out = new JsonlFileSink<unknown>(run.out);
  const labelsOut = run.labels ? new JsonlFileSink<AttackLabel>(run.labels) : undefined;
  const pendingLabels: AttackLabel[] = [];
  const traffic =
    perFamily > 0
      ? withAttacks(benign, { seed, perFamily, ...attackWindow(start, durationMs) }, (l) => pendingLabels.push(l))
      : benign;
  let written = 0;
  const ok = await writeOutputs(
    'simulate',
    [out, labelsOut],
    async () => {
      const chunk: { value: unknown }[] = [];
      for (let i = 0; i < total; i++) {
        const r = traffic.next().value;
        if (!r) break;
        chunk.push({ value: renderRecord(run.format, r, run.mode) });
        if (chunk.length >= 1000) {
          await out.write(chunk.splice(0));
          await labelsOut?.write(pendingLabels.splice(0).map((value) => ({ value })));
        }
        written++;
      }
      await out.write(chunk);
      await labelsOut?.write(pendingLabels.splice(0).map((value) => ({ value })));
    },
    () => `${written} records`,
  );
  if (!ok) return 1;
  process.stderr.write(`wrote ${written} ${run.format} records to ${run.out}\n`);
  return 0;
}

/**
 * The flags of a file simulation, each checked before the output is touched (a typo must not cost the user an
 * existing file), or the message that says which is wrong.
 */
function fileRun(args: SimulateArgs): FileRun | string {
  if (!args.format || !GATEWAY_FORMATS.includes(args.format as GatewayFormat) || !args.out)
    return (
      `usage: vigil simulate --format ${GATEWAY_FORMATS.join('|')} --out FILE [--events ` +
      'N] [--seed N] [--customers N] [--profile bank|steady] [--attacks N --labels FILE]'
    );
  const mode = (args.credentials ?? 'bearer') as CredentialMode;
  if (mode !== 'bearer' && mode !== 'claims') return 'vigil simulate: --credentials is bearer or claims';
  const total = wholeNumber(args.events ?? '100000');
  if (total === undefined || total < 1) return 'vigil simulate: --events is a whole number of records, at least 1';
  const perFamily = Number(args.attacks ?? '0');
  if (!Number.isInteger(perFamily) || perFamily < 0 || (perFamily > 0 && !args.labels))
    return 'vigil simulate: --attacks N (per family) needs --labels FILE for the attack labels';
  const profile = args.profile ?? 'bank';
  if (profile !== 'bank' && profile !== 'steady')
    return 'vigil simulate: --profile is bank (realistic customers, the default) or steady (a fixed-rate load)';
  const seed = wholeNumber(args.seed ?? '1');
  const customers = wholeNumber(args.customers ?? (profile === 'bank' ? '5000' : '1000'));
  if (seed === undefined || customers === undefined || customers < 1)
    return 'vigil simulate: --seed is a whole number and --customers a whole number of at least 1';
  const format = args.format as GatewayFormat;
  return { format, out: args.out, labels: args.labels, mode, total, perFamily, profile, seed, customers };
}

/** A flag's whole number, or undefined ("abc", "1.5", ""). */
function wholeNumber(text: string): number | undefined {
  if (!/^-?\d+$/.test(text.trim())) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * `--target URL`: the bank simulation sent as HTTP requests to a gateway in front of `vigil bank-api`, starting now,
 * `--speed` times real time; the gateway writes the access log. Attacks (`--attacks N`) start after the first
 * simulated hour, when victims have a history. Runs until --events requests are sent, or SIGTERM / SIGINT.
 */
async function simulateOverHttp(args: {
  target?: string;
  events?: string;
  seed?: string;
  customers?: string;
  attacks?: string;
  labels?: string;
  speed?: string;
}) {
  const speed = Number(args.speed ?? '1');
  const total = Number(args.events ?? String(Number.MAX_SAFE_INTEGER));
  const perFamily = Number(args.attacks ?? '0');
  const customers = Number(args.customers ?? '5000');
  if (
    !/^https?:\/\//.test(args.target ?? '') ||
    !(speed > 0) ||
    !(total > 0) ||
    !Number.isInteger(perFamily) ||
    perFamily < 0 ||
    !(customers >= 1)
  ) {
    process.stderr.write(
      'usage: vigil simulate --target http://GATEWAY [--speed X (default 1)] ' +
        '[--events N] [--seed N] [--customers N] [--attacks N [--labels FILE]]\n',
    );
    return 2;
  }
  const seed = Number(args.seed ?? '1');
  const start = Date.now();
  const benign = generateBank({ seed, customers, start, geo: MmdbGeoLookup.bundled() });
  const labelsOut = args.labels ? createWriteStream(args.labels) : undefined;
  // A day of attacks unless --events says how long the run is.
  const durationMs =
    Number.isFinite(total) && total < Number.MAX_SAFE_INTEGER ? bankDurationMs(total, customers) : 86_400_000;
  const traffic =
    perFamily > 0
      ? withAttacks(benign, { seed, perFamily, ...attackWindow(start, durationMs) }, (l) =>
          labelsOut?.write(`${JSON.stringify(l)}\n`),
        )
      : benign;
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  function* limited() {
    for (let i = 0; i < total; i++) {
      const r = traffic.next().value;
      if (!r) return;
      yield r;
    }
  }
  process.stderr.write(
    `vigil simulate: ${customers} customers of the demo bank → ${args.target} at ${speed}× real time\n`,
  );
  const report = await drive(limited(), { target: args.target as string, speed, signal: stop.signal });
  if (labelsOut) await new Promise<void>((resolve) => labelsOut.end(resolve));
  process.stderr.write(
    `sent ${report.sent} requests; answers ${JSON.stringify(report.statuses)}; ` +
      `${report.asSimulated} as simulated; at worst ${Math.round(report.maxLagMs)} ms behind\n`,
  );
  return 0;
}

export const command = defineCommand({
  name: 'simulate',
  overview: [
    [
      'simulate --format F --out FILE [--events N] [--seed N] [--profile bank|steady] [--attacks N --labels FILE]',
      'Write seeded demo-bank traffic as a gateway log, with labelled attacks if asked',
    ],
    [
      'simulate --target URL [--speed X] [--attacks N]',
      "Send the demo bank's traffic over HTTP to a gateway in front of vigil bank-api",
    ],
  ],
  help: `Usage: vigil simulate --format F --out FILE [--events N] [--seed N] [--customers N] [--profile bank|steady]
       [--credentials bearer|claims] [--attacks N --labels FILE]

Writes seeded demo-bank traffic as the given gateway's JSON access log, from midnight of 2 November 2026. The bank
profile (the default; 5,000 customers, about 25 requests each a day) has homes in real UK cities (addresses the
bundled GeoIP database places there), mobile carriers, sessions following the local day with logins and token
refreshes, habitual payments, travellers, VPN users and business payroll batches. --profile steady is a fixed-rate
load of the same API calls (1,000 customers, one request every 50 ms) for load tests.
--credentials bearer logs raw Authorization headers (as Kong's default serializer did); claims logs decoded claims
and a fingerprint computed by the gateway (the recommended set-up).
--attacks N weaves N attacks of each family (token theft, impossible-travel login, credential stuffing concentrated
and distributed, BOLA fast and slow, scraping fast and slow, payment fraud) into the traffic and writes one label per
attack request to --labels (request_id, attack_id, family, principal); npm run bench:quality scores a bundle
against them.
--target URL sends the traffic as HTTP requests instead, starting now at --speed times real time (default 1), to a
gateway in front of 'vigil bank-api' (client addresses in X-Forwarded-For, bearer tokens signed with the demo IdP's
key, logins with the right password or a wrong one): the gateway writes the log. Attacks start after the first
simulated hour. Runs until --events requests are sent, or until stopped.
`,
  options: {
    format: { type: 'string' },
    out: { type: 'string' },
    events: { type: 'string' },
    seed: { type: 'string' },
    customers: { type: 'string' },
    credentials: { type: 'string' },
    attacks: { type: 'string' },
    labels: { type: 'string' },
    profile: { type: 'string' },
    target: { type: 'string' },
    speed: { type: 'string' },
  },
  run: (flags) => simulate(flags),
});
