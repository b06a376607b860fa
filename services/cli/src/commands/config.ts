// `vigil config check FILE` and `vigil config schema`.
import { detectorConfigSchema, lintDetectorConfig } from '@vigil/detector';
import { ConfigError, loadConfig } from '@vigil/runtime';
import { z } from 'zod';

export function configCheck(file: string | undefined): number {
  if (file === undefined) {
    process.stderr.write('usage: vigil config check FILE\n');
    return 2;
  }
  try {
    loadConfig(detectorConfigSchema, file, process.env, lintDetectorConfig);
    process.stdout.write(`${file}: valid\n`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${file}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

export function configSchema(): number {
  process.stdout.write(`${JSON.stringify(z.toJSONSchema(detectorConfigSchema, { io: 'input' }), null, 2)}\n`);
  return 0;
}
