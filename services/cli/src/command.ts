// The contract of a vigil command: one module per command (services/cli/src/commands/<name>.ts) holds its flags, its
// help and its code; bin.ts only finds the command and runs it. Flags are declared as node:util parseArgs options
// (kebab-case on the command line) and reach `run` in camelCase (--pepper-env → pepperEnv), typed from the
// declaration, so no command spells the conversion out.
import { parseArgs } from 'node:util';

/** A command's flags, as node:util parseArgs takes them (the subset vigil uses). */
export type ParseArgsOptionsConfig = Record<string, { type: 'string' | 'boolean' }>;

/** 'pepper-env' → 'pepperEnv', at the type level. */
type Camel<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;

/**
 * The parsed flags of an options declaration, camelCased: strings, or booleans for boolean flags; absent when not
 * given.
 */
export type FlagValues<O extends ParseArgsOptionsConfig> = {
  [K in keyof O as Camel<K & string>]?: O[K] extends { type: 'boolean' } ? boolean : string;
};

export interface Command<O extends ParseArgsOptionsConfig = ParseArgsOptionsConfig> {
  name: string;
  /** Its entries in `vigil --help`: [synopsis, what it does] (a command with two forms has two). */
  overview: [string, string][];
  /** `vigil <name> --help`. Starts with "Usage: vigil <name>". */
  help: string;
  options: O;
  /** Whether it takes positional arguments (explain's request id, config's sub-command and file). */
  positionals?: boolean;
  run(flags: FlagValues<O>, positionals: string[]): Promise<number> | number;
}

/** Declares a command, keeping its options' literal types for `run`'s flags. */
export const defineCommand = <const O extends ParseArgsOptionsConfig>(command: Command<O>): Command<O> => command;

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Parses the command's flags and runs it; an unknown or malformed flag is a usage error (exit status 2). */
export async function runCommand(command: Command, args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: command.options,
      allowPositionals: command.positionals ?? false,
      strict: true,
    });
  } catch (err) {
    if (!String((err as { code?: string }).code).startsWith('ERR_PARSE_ARGS')) throw err;
    process.stderr.write(`vigil ${command.name}: ${(err as Error).message}\n${command.help.split('\n\n')[0]}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const flags = Object.fromEntries(Object.entries(values).map(([name, value]) => [camel(name), value]));
  return command.run(flags as FlagValues<ParseArgsOptionsConfig>, positionals);
}

/** `vigil --help`'s command list: each synopsis, and what it does in a column beside it (or below, when long). */
export function overview(commands: readonly Command[]): string {
  const column = 28;
  const lines: string[] = [];
  for (const command of commands) {
    for (const [synopsis, summary] of command.overview) {
      const [first, ...more] = summary.split('\n');
      if (synopsis.length + 4 <= column) lines.push(`  ${synopsis.padEnd(column - 2)}${first}`);
      else lines.push(`  ${synopsis}`, `${' '.repeat(column)}${first}`);
      for (const line of more) lines.push(`${' '.repeat(column)}${line}`);
    }
  }
  return lines.join('\n');
}
