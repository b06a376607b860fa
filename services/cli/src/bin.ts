#!/usr/bin/env node
// The vigil command line: one entry point that starts any service or job. It only dispatches: each command is one
// module in ./commands (its flags, help and code), listed in commands/index.ts.
import { readFileSync } from 'node:fs';
import { GATEWAY_FORMATS } from '@vigil/events';
import { overview, runCommand } from './command.js';
import { COMMANDS } from './commands/index.js';

const USAGE = `vigil — streaming detector for financial APIs (gateway access logs in, revocations and alerts out)

Usage: vigil <command> [options]

Commands:
${overview(COMMANDS)}

Formats: ${GATEWAY_FORMATS.join(', ')}. Run 'vigil <command> --help' for a command's options,
'vigil --version' for the version.
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`vigil ${pkg.version} (node ${process.versions.node})\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`vigil: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help);
    return 0;
  }
  return runCommand(command, rest);
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
