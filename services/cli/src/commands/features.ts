// `vigil features`: the feature vectors of a gateway log, offline and streaming, by the detector's own stages on the
// in-memory bus (bounded memory: the reorder buffers hold only `--bound-ms` of event time). Writes one JSON line per event and the schema beside it.
import { writeFileSync } from 'node:fs';
import { adapterFor } from '@vigil/adapters';
import { JsonlFileSink } from '@vigil/connectors';
import { GATEWAY_FORMATS, type GatewayFormat } from '@vigil/events';
import { runLog } from '@vigil/train';
import { defineCommand } from '../command.js';
import { inputFileProblem, readStatus, reportOutputProblems, writeOutputs } from '../support/input-file.js';
import { pepperFromEnv } from '../support/pepper.js';

interface Line {
  ts: number;
  request_id: string;
  principal: string;
  v: number[];
}

export async function features(args: {
  format?: string;
  input?: string;
  out?: string;
  boundMs?: string;
  pepperEnv?: string;
}): Promise<number> {
  if (!args.format || !GATEWAY_FORMATS.includes(args.format as GatewayFormat) || !args.input || !args.out) {
    process.stderr.write(
      `usage: vigil features --format ${GATEWAY_FORMATS.join('|')} --input FILE --out FILE [--bound-ms N]\n`,
    );
    return 2;
  }
  const problem = inputFileProblem(args.input);
  if (problem) {
    process.stderr.write(`vigil features: ${problem}\n`);
    return 2;
  }
  const envName = args.pepperEnv ?? 'VIGIL_PEPPER__SECRET';
  const pepper = pepperFromEnv(envName);
  if (!pepper) {
    process.stderr.write(`vigil features: set ${envName} to the fingerprint pepper (at least 32 characters)\n`);
    return 2;
  }
  const bound = Number(args.boundMs ?? '2000');
  if (!Number.isInteger(bound) || bound < 0) {
    process.stderr.write('vigil features: --bound-ms is a whole number of milliseconds\n');
    return 2;
  }
  if (reportOutputProblems('features', [args.out, `${args.out}.schema.json`])) return 2;
  const input = args.input;
  const out = args.out;
  const sink = new JsonlFileSink<Line>(out);
  let written = 0;
  let result: Awaited<ReturnType<typeof runLog>> | undefined;
  const ok = await writeOutputs(
    'features',
    [sink],
    async () => {
      result = await runLog({
        adapter: adapterFor(args.format as GatewayFormat, { pepper }),
        input,
        boundMs: bound,
        onFeatures: (records) => {
          written += records.length;
          return sink.write(
            records.map((f) => ({ value: { ts: f.ts, request_id: f.request_id, principal: f.principal, v: f.v } })),
          );
        },
      });
    },
    () => `${written} feature rows`,
  );
  if (!ok || !result) return 1;
  writeFileSync(`${out}.schema.json`, `${JSON.stringify(result.schema, null, 2)}\n`);
  process.stderr.write(
    `features: ${result.events} events (${result.late} later than ${bound} ms), ` +
      `${result.deadLetters} dead letters; schema ${result.schema.hash}\n`,
  );
  return readStatus('features', input, args.format, result.events, result.deadLetters, result.reasons);
}

export const command = defineCommand({
  name: 'features',
  overview: [
    [
      'features --format F --input FILE --out FILE [--bound-ms N]',
      'Feature vectors of a gateway log, in event time (JSON Lines + FILE.schema.json)',
    ],
  ],
  help: `Usage: vigil features --format F --input FILE --out FILE [--bound-ms N] [--pepper-env NAME]

Computes the detector's feature vectors for every event of a gateway log (any size; streaming). Events are put in
event-time order through a reorder buffer of --bound-ms (default 2000) so the vectors do not depend on the order
the log's lines arrived in. Writes {ts, request_id, principal, v} per line to FILE and the feature schema (names,
parameters, hash) to FILE.schema.json. The pepper comes from VIGIL_PEPPER__SECRET (or --pepper-env).
`,
  options: {
    format: { type: 'string' },
    input: { type: 'string' },
    out: { type: 'string' },
    'bound-ms': { type: 'string' },
    'pepper-env': { type: 'string' },
  },
  run: (flags) => features(flags),
});
