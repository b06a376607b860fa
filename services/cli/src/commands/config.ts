// `vigil config check [--service S] FILE` and `vigil config schema [--service S]`: S is detector (the default),
// revoker or alerter — each service's schema is data, so both commands come from it.
import { alerterConfigSchema, lintAlerterConfig } from '@vigil/alerter';
import { detectorConfigSchema, lintDetectorConfig } from '@vigil/detector';
import { lintRevokerConfig, revokerConfigSchema } from '@vigil/revoker';
import { ConfigError, type Lint, loadConfig } from '@vigil/runtime';
import { z } from 'zod';

// biome-ignore lint/suspicious/noExplicitAny: each service pairs its own schema with its own lint
const SERVICES: Record<string, { schema: z.ZodType<any>; lint: Lint<any> }> = {
  detector: { schema: detectorConfigSchema, lint: lintDetectorConfig },
  revoker: { schema: revokerConfigSchema, lint: lintRevokerConfig },
  alerter: { schema: alerterConfigSchema, lint: lintAlerterConfig },
};

function service(name: string | undefined) {
  const s = SERVICES[name ?? 'detector'];
  if (!s) process.stderr.write(`vigil config: unknown service '${name}' — one of ${Object.keys(SERVICES).join(', ')}\n`);
  return s;
}

export function configCheck(file: string | undefined, name?: string): number {
  const s = service(name);
  if (!s) return 2;
  if (file === undefined) {
    process.stderr.write('usage: vigil config check [--service detector|revoker|alerter] FILE\n');
    return 2;
  }
  try {
    loadConfig(s.schema, file, process.env, s.lint);
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

export function configSchema(name?: string): number {
  const s = service(name);
  if (!s) return 2;
  process.stdout.write(`${JSON.stringify(z.toJSONSchema(s.schema, { io: 'input' }), null, 2)}\n`);
  return 0;
}
