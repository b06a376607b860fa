// `vigil config check [--service S] FILE`, `vigil config schema [--service S]` and `vigil config topology [FILE]`: S
// is detector, revoker or alerter — each service's schema is data, so the first two come from it; the third prints
// the detector's topology (@vigil/topology) for a config. Without --service, check tells the service by the
// file's keys; it also checks that the files a config names (bundle, GeoIP database, OpenAPI document, keys) exist.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { alerterConfigSchema, lintAlerterConfig } from '@vigil/alerter';
import { detectorConfigSchema, lintDetectorConfig, topologyOf } from '@vigil/detector';
import { lintRevokerConfig, revokerConfigSchema } from '@vigil/revoker';
import { ConfigError, type Lint, loadConfig } from '@vigil/runtime';
import { describeTopology, TopologyError } from '@vigil/topology';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { defineCommand } from '../command.js';

// biome-ignore lint/suspicious/noExplicitAny: each service pairs its own schema with its own lint
const SERVICES: Record<string, { schema: z.ZodType<any>; lint: Lint<any> }> = {
  detector: { schema: detectorConfigSchema, lint: lintDetectorConfig },
  revoker: { schema: revokerConfigSchema, lint: lintRevokerConfig },
  alerter: { schema: alerterConfigSchema, lint: lintAlerterConfig },
};

function service(name: string | undefined) {
  const s = SERVICES[name ?? 'detector'];
  if (!s)
    process.stderr.write(`vigil config: unknown service '${name}' — one of ${Object.keys(SERVICES).join(', ')}\n`);
  return s;
}

/** Keys only one service's config has: how `config check` tells which schema a file is for. */
const REVOKER_KEYS = [
  'adapters',
  'enforce',
  'caps',
  'allowlist',
  'ttl',
  'check',
  'prune_interval_ms',
  'resync_check_ms',
];
const ALERTER_KEYS = ['receivers', 'caep', 'labels', 'incident_window_ms', 'retry'];

/** The service a config file is for, by its top-level keys (detector when nothing says otherwise). */
export function inferService(file: string): string {
  let keys: string[] = [];
  try {
    const raw = parseYaml(readFileSync(file, 'utf8')) as unknown;
    if (raw && typeof raw === 'object') keys = Object.keys(raw);
  } catch {
    return 'detector'; // loadConfig says what is wrong with the file
  }
  if (keys.some((k) => REVOKER_KEYS.includes(k))) return 'revoker';
  if (keys.some((k) => ALERTER_KEYS.includes(k))) return 'alerter';
  return 'detector';
}

/** Files a valid config names that are not there (checked where `config check` runs, like the service would). */
function missingFiles(name: string, config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const file = (key: string, path: unknown, what: string) => {
    if (typeof path === 'string' && !existsSync(path)) problems.push(`${key}: ${path} does not exist — ${what}`);
  };
  if (name === 'detector') {
    const scoring = config.scoring as { bundle?: string; shadow_bundle?: string };
    for (const [key, dir] of [
      ['scoring.bundle', scoring.bundle],
      ['scoring.shadow_bundle', scoring.shadow_bundle],
    ] as const) {
      if (dir === undefined) continue;
      if (!existsSync(dir) || !statSync(dir).isDirectory())
        problems.push(`${key}: ${dir} is not a directory — point it at one \`vigil train --out\` wrote`);
      else if (!existsSync(join(dir, 'manifest.json')))
        problems.push(`${key}: ${dir} has no manifest.json — is it a bundle written by \`vigil train\`?`);
    }
    file(
      'features.geoip',
      (config.features as { geoip?: string }).geoip,
      'the path of a MaxMind GeoIP2/GeoLite2 City .mmdb',
    );
    file(
      'adapter.openapi',
      (config.adapter as { openapi?: string }).openapi,
      "the path of your API's OpenAPI document",
    );
  }
  if (name === 'alerter') {
    for (const [i, c] of ((config.caep as { private_key_file?: string }[]) ?? []).entries()) {
      file(`caep.${i}.private_key_file`, c.private_key_file, 'the PEM key that signs the SETs');
    }
  }
  return problems;
}

export function configCheck(file: string | undefined, name?: string): number {
  if (file === undefined) {
    process.stderr.write('usage: vigil config check [--service detector|revoker|alerter] FILE\n');
    return 2;
  }
  const chosen = name ?? inferService(file);
  const s = service(chosen);
  if (!s) return 2;
  try {
    const config = loadConfig(s.schema, file, process.env, s.lint) as Record<string, unknown>;
    const missing = missingFiles(chosen, config);
    if (missing.length > 0) throw new ConfigError(missing);
    process.stdout.write(`${file}: valid ${chosen} config\n`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${file}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

/**
 * The stages and topics a detector config runs (its topology): each stage with its group, what it reads, runs and
 * writes, where its state and its poison records go; each topic with its key and codec.
 */
export function configTopology(file: string | undefined): number {
  if (file === undefined) {
    process.stderr.write('usage: vigil config topology FILE\n');
    return 2;
  }
  try {
    // The schema alone: the topology needs no secret, so a config whose pepper is still the example's prints too.
    const config = loadConfig(detectorConfigSchema, file, process.env);
    process.stdout.write(describeTopology(topologyOf(config)));
    return 0;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof TopologyError) {
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

export const command = defineCommand({
  name: 'config',
  overview: [
    [
      'config check [--service S] FILE',
      'Validate a config of the detector (default), revoker or alerter (YAML; VIGIL_* overrides apply)',
    ],
    ['config schema [--service S]', "Print a service config's JSON Schema"],
    ['config topology FILE', 'Print the stages and topics a detector config runs, with their groups and codecs'],
  ],
  help:
    'Usage: vigil config check [--service detector|revoker|alerter] FILE ' +
    `| vigil config schema [--service detector|revoker|alerter] | vigil config topology FILE

check: validates a service's config (default: the detector's) and prints what to fix; exit status 0 when valid, 2
when not. schema: prints the JSON Schema of that config (every key with its description and default). topology:
prints the stages and topics a detector with that config runs — each stage's consumer
group, what it reads, what runs in its task, what it writes, where its state and its poison records go; each
topic's key and codec.
`,
  options: { service: { type: 'string' } },
  positionals: true,
  run: (flags, [sub, file]) => {
    if (sub === 'check') return configCheck(file, flags.service);
    if (sub === 'schema') return configSchema(flags.service);
    if (sub === 'topology') return configTopology(file);
    process.stdout.write(command.help);
    return 2;
  },
});
