// `vigil parse`: the detector's adapters offline over a log file, streaming (bounded memory).
import { adapterFor } from '@vigil/adapters';
import { JsonlFileSink, JsonlFileSource } from '@vigil/connectors';
import { type AccessEvent, type DeadLetter, GATEWAY_FORMATS, type GatewayFormat } from '@vigil/events';
import { parseBatch } from '@vigil/ingest';
import { pepperFromEnv } from './pepper.js';

export async function parse(args: { format?: string; input?: string; out?: string; deadLetters?: string; pepperEnv?: string }): Promise<number> {
  if (!args.format || !GATEWAY_FORMATS.includes(args.format as GatewayFormat) || !args.input) {
    process.stderr.write(`usage: vigil parse --format ${GATEWAY_FORMATS.join('|')} --input FILE [--out FILE] [--dead-letters FILE]\n`);
    return 2;
  }
  const envName = args.pepperEnv ?? 'VIGIL_PEPPER__SECRET';
  const pepper = pepperFromEnv(envName);
  if (!pepper) {
    process.stderr.write(`vigil parse: set ${envName} to the fingerprint pepper (at least 32 characters; e.g. openssl rand -hex 32)\n`);
    return 2;
  }
  const adapter = adapterFor(args.format as GatewayFormat, { pepper });
  const events = new JsonlFileSink<AccessEvent>(args.out ?? '/dev/stdout');
  const dead = args.deadLetters ? new JsonlFileSink<DeadLetter>(args.deadLetters) : undefined;
  const reasons = new Map<string, number>();
  let parsed = 0;
  await new JsonlFileSource(args.input).run(async (batch) => {
    const result = parseBatch(batch, { adapterFor: () => adapter, maxOriginalBytes: 64 * 1024, traceOneIn: Number.MAX_SAFE_INTEGER });
    parsed += result.events.length;
    for (const d of result.deadLetters) reasons.set(d.value.reason, (reasons.get(d.value.reason) ?? 0) + 1);
    await events.write(result.events);
    await dead?.write(result.deadLetters);
  });
  await events.close();
  await dead?.close();
  const summary = [...reasons].map(([r, n]) => `${r}=${n}`).join(' ');
  process.stderr.write(`events: ${parsed}; dead letters: ${[...reasons.values()].reduce((a, b) => a + b, 0)}${summary ? ` (${summary})` : ''}\n`);
  return 0;
}
