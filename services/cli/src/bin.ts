#!/usr/bin/env node
// The vigil command line: one entry point that starts any service or job.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { alert, label } from './commands/alert.js';
import { bankApi } from './commands/bank-api.js';
import { configCheck, configSchema } from './commands/config.js';
import { demo } from './commands/demo.js';
import { detect } from './commands/detect.js';
import { docs } from './commands/docs.js';
import { doctor } from './commands/doctor.js';
import { explain } from './commands/explain.js';
import { features } from './commands/features.js';
import { HELP, USAGE } from './commands/help.js';
import { parse } from './commands/parse.js';
import { replay } from './commands/replay.js';
import { revoke } from './commands/revoke.js';
import { simulate } from './commands/simulate.js';
import { train } from './commands/train.js';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`vigil ${pkg.version} (node ${process.versions.node})\n`);
    return 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const help = HELP[command];
    process.stdout.write(help ?? USAGE);
    return help ? 0 : 2;
  }
  const flags = (options: Record<string, { type: 'string' }>) => parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  switch (command) {
    case 'demo': {
      const { values } = flags({ events: { type: 'string' }, seed: { type: 'string' }, format: { type: 'string' }, attacks: { type: 'string' } });
      return demo(values);
    }
    case 'detect': {
      const { values } = flags({ config: { type: 'string' } });
      return detect(values.config);
    }
    case 'alert': {
      const { values } = flags({ config: { type: 'string' } });
      return alert(values);
    }
    case 'label': {
      const { values } = flags({
        config: { type: 'string' },
        verdict: { type: 'string' },
        'request-id': { type: 'string' },
        'alert-id': { type: 'string' },
        analyst: { type: 'string' },
        note: { type: 'string' },
      });
      return label({ ...values, requestId: values['request-id'], alertId: values['alert-id'] });
    }
    case 'explain': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { decisions: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' } },
        allowPositionals: true,
        strict: true,
      });
      return explain(positionals[0], values);
    }
    case 'replay': {
      const { values } = parseArgs({
        args: rest,
        options: {
          format: { type: 'string' },
          input: { type: 'string' },
          bundle: { type: 'string' },
          out: { type: 'string' },
          compare: { type: 'string' },
          diff: { type: 'string' },
          config: { type: 'string' },
          all: { type: 'boolean' },
          'bound-ms': { type: 'string' },
          'pepper-env': { type: 'string' },
        },
        strict: true,
      });
      return replay({ ...values, boundMs: values['bound-ms'], pepperEnv: values['pepper-env'] });
    }
    case 'revoke': {
      const { values } = flags({ config: { type: 'string' }, undo: { type: 'string' } });
      return revoke(values);
    }
    case 'parse': {
      const { values } = flags({
        format: { type: 'string' },
        input: { type: 'string' },
        out: { type: 'string' },
        'dead-letters': { type: 'string' },
        'pepper-env': { type: 'string' },
      });
      return parse({ ...values, deadLetters: values['dead-letters'], pepperEnv: values['pepper-env'] });
    }
    case 'features': {
      const { values } = flags({
        format: { type: 'string' },
        input: { type: 'string' },
        out: { type: 'string' },
        'bound-ms': { type: 'string' },
        'pepper-env': { type: 'string' },
      });
      return features({ ...values, boundMs: values['bound-ms'], pepperEnv: values['pepper-env'] });
    }
    case 'train': {
      const { values } = flags({
        format: { type: 'string' },
        input: { type: 'string' },
        out: { type: 'string' },
        'max-rows': { type: 'string' },
        seed: { type: 'string' },
        'bound-ms': { type: 'string' },
        'pepper-env': { type: 'string' },
        labels: { type: 'string' },
      });
      return train({ ...values, maxRows: values['max-rows'], boundMs: values['bound-ms'], pepperEnv: values['pepper-env'] });
    }
    case 'simulate': {
      const { values } = flags({
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
      });
      return simulate(values);
    }
    case 'bank-api': {
      const { values } = flags({ port: { type: 'string' }, host: { type: 'string' }, customers: { type: 'string' } });
      return bankApi(values);
    }
    case 'doctor': {
      const { values } = parseArgs({
        args: rest,
        options: { config: { type: 'string' }, service: { type: 'string' }, 'timeout-ms': { type: 'string' }, json: { type: 'boolean' } },
        strict: true,
      });
      const code = await doctor({ ...values, timeoutMs: values['timeout-ms'] });
      // A probe cut off by its timeout can leave a client retrying in the background (kafkajs, node-redis); the report
      // is written, so the doctor does not wait for them.
      setTimeout(() => process.exit(code), 200).unref();
      return code;
    }
    case 'config': {
      const [sub, ...args] = rest;
      const { values, positionals } = parseArgs({ args, options: { service: { type: 'string' } }, allowPositionals: true, strict: true });
      if (sub === 'check') return configCheck(positionals[0], values.service);
      if (sub === 'schema') return configSchema(values.service);
      process.stdout.write(HELP.config ?? '');
      return 2;
    }
    case 'docs': {
      const { values } = flags({ out: { type: 'string' } });
      return docs(values);
    }
    default:
      process.stderr.write(`vigil: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

// --debug (anywhere on the line) shows the stack of a failure; without it the terminal gets the message only.
const debug = process.argv.includes('--debug');
main(process.argv.slice(2).filter((a) => a !== '--debug')).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // No stack traces or internals on the terminal of a service; the code says what kind of failure it was. The
    // message is vigil's own and may list several problems (an invalid configuration's, one per line): all of it.
    const message = (err as Error).message?.split('\n').slice(0, 40).join('\n') || 'unexpected failure';
    process.stderr.write(`vigil: ${(err as { code?: string }).code ?? 'error'}: ${message}\n`);
    if (debug && (err as Error).stack) process.stderr.write(`${(err as Error).stack}\n`);
    else process.stderr.write('(run again with --debug for the stack)\n');
    process.exitCode = 1;
    // A service that failed while starting may hold sockets or timers open (a Kafka client retrying): it must stop.
    setTimeout(() => process.exit(1), 500).unref();
  },
);
