// `vigil parse`: the detector's adapters offline over a log file, streaming (bounded memory). Outputs are written
// atomically; if the run fails part-way, every good record read until then is kept and the reason is said.
import { adapterFor } from '@vigil/adapters';
import { JsonlFileSink, JsonlFileSource } from '@vigil/connectors';
import { type AccessEvent, type DeadLetter, GATEWAY_FORMATS, type GatewayFormat } from '@vigil/events';
import { parseBatch, REDACTED_DEAD_LETTERS } from '@vigil/ingest';
import { defineCommand } from '../command.js';
import { inputFileProblem, readStatus, reportOutputProblems, writeOutputs } from '../support/input-file.js';
import { pepperFromEnv } from '../support/pepper.js';

export async function parse(args: {
  format?: string;
  input?: string;
  out?: string;
  deadLetters?: string;
  pepperEnv?: string;
}): Promise<number> {
  if (!args.format || !GATEWAY_FORMATS.includes(args.format as GatewayFormat) || !args.input) {
    process.stderr.write(
      `usage: vigil parse --format ${GATEWAY_FORMATS.join('|')} --input FILE [--out FILE] [--dead-letters FILE]\n`,
    );
    return 2;
  }
  const problem = inputFileProblem(args.input);
  if (problem) {
    process.stderr.write(`vigil parse: ${problem}\n`);
    return 2;
  }
  const envName = args.pepperEnv ?? 'VIGIL_PEPPER__SECRET';
  const pepper = pepperFromEnv(envName);
  if (!pepper) {
    process.stderr.write(
      `vigil parse: set ${envName} to the fingerprint pepper (at least 32 characters; e.g. openssl rand -hex 32)\n`,
    );
    return 2;
  }
  if (reportOutputProblems('parse', [args.out, args.deadLetters])) return 2;
  const input = args.input;
  const adapter = adapterFor(args.format as GatewayFormat, { pepper });
  const events = new JsonlFileSink<AccessEvent>(args.out ?? '/dev/stdout');
  const dead = args.deadLetters ? new JsonlFileSink<DeadLetter>(args.deadLetters) : undefined;
  const reasons = new Map<string, number>();
  let parsed = 0;
  let deadLetters = 0;
  const summary = () => {
    const why = [...reasons].map(([r, n]) => `${r}=${n}`).join(' ');
    return `events: ${parsed}; dead letters: ${deadLetters}${why ? ` (${why})` : ''}`;
  };
  const ok = await writeOutputs(
    'parse',
    [events, dead],
    () =>
      new JsonlFileSource(input).run(async (batch) => {
        const result = parseBatch(batch, {
          adapterFor: () => adapter,
          deadLetters: REDACTED_DEAD_LETTERS,
          traceOneIn: Number.MAX_SAFE_INTEGER,
        });
        parsed += result.events.length;
        deadLetters += result.deadLetters.length;
        for (const d of result.deadLetters) reasons.set(d.value.reason, (reasons.get(d.value.reason) ?? 0) + 1);
        await events.write(result.events);
        await dead?.write(result.deadLetters);
      }),
    summary,
  );
  if (!ok) return 1;
  process.stderr.write(`${summary()}\n`);
  return readStatus('parse', input, args.format, parsed, deadLetters, [...reasons.keys()]);
}

export const command = defineCommand({
  name: 'parse',
  overview: [
    [
      'parse --format F --input FILE [--out FILE] [--dead-letters FILE]',
      'Parse a gateway log offline: canonical events and dead letters as JSON Lines',
    ],
  ],
  help: `Usage: vigil parse --format F --input FILE [--out FILE] [--dead-letters FILE] [--pepper-env NAME]

Parses a gateway log (JSON Lines, any size) offline with the detector's adapters. Writes canonical events to
--out (default: stdout) and dead letters to --dead-letters, and prints counts by reason code on stderr. The pepper
comes from the environment variable named by --pepper-env (default VIGIL_PEPPER__SECRET).
`,
  options: {
    format: { type: 'string' },
    input: { type: 'string' },
    out: { type: 'string' },
    'dead-letters': { type: 'string' },
    'pepper-env': { type: 'string' },
  },
  run: (flags) => parse(flags),
});
