// How every command that takes --config loads it: the schema with environment overrides and the service's lint; a
// bad config prints what to fix under the command's name and becomes exit status 2.
import { ConfigError, type Lint, loadConfig } from '@vigil/runtime';
import type { z } from 'zod';

export function configOrExit<S extends z.ZodType>(
  command: string,
  schema: S,
  file: string | undefined,
  lint: Lint<z.output<S>>,
): Readonly<z.output<S>> | number {
  try {
    return loadConfig(schema, file, process.env, lint);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vigil ${command}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
