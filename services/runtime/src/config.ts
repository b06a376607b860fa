// Loads a service's config: YAML file, then environment overrides, validated by the service's zod schema, then
// frozen. A bad config stops the process at start with messages that name the key and say how to fix it.
//
// Environment overrides: VIGIL_<KEY>__<SUBKEY>=value, e.g. VIGIL_KAFKA__BROKERS=k1:9092,k2:9092 or
// VIGIL_CLICKHOUSE__URL=http://ch:8123. Values are read as YAML scalars (numbers, booleans); a comma-separated
// value becomes a list where the schema expects one.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type Lint<T> = (config: T) => string[];

const ENV_PREFIX = 'VIGIL_';

function scalar(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return text;
  }
}

/** Applies VIGIL_A__B=v overrides onto a plain object, creating nested objects as needed. */
export function applyEnvOverrides(base: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = structuredClone(base);
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split('__');
    if (path.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype')) continue;
    let node: Record<string, unknown> = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    const leaf = path[path.length - 1] as string;
    const current = node[leaf];
    node[leaf] =
      Array.isArray(current) || raw.includes(',') ? raw.split(',').map((s) => scalar(s.trim())) : scalar(raw);
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.map(String).join('.') || '(top level)';
  switch (issue.code) {
    case 'unrecognized_keys':
      return (
        `${key}: unknown key(s) ${issue.keys.join(', ')} — remove ` +
        `them or check their spelling against \`vigil config schema\``
      );
    case 'invalid_type':
      return (
        `${key}: ${issue.message.replace(/^Invalid input: /, '')} — set ${key} in ` +
        `the config file or VIGIL_${issue.path.map(String).join('__').toUpperCase()}`
      );
    default:
      return `${key}: ${issue.message}`;
  }
}

export function parseConfig<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  lint?: Lint<z.output<S>>,
): Readonly<z.output<S>> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(result.error.issues.map(describeIssue));
  const problems = lint?.(result.data) ?? [];
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(result.data);
}

export function loadConfig<S extends z.ZodType>(
  schema: S,
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  lint?: Lint<z.output<S>>,
): Readonly<z.output<S>> {
  let base: unknown = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new ConfigError([`cannot read the config file ${file} — check the path and permissions`]);
    }
    try {
      base = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError([`${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
    }
    if (typeof base !== 'object' || Array.isArray(base))
      throw new ConfigError([`${file} must hold a YAML mapping at the top level`]);
  }
  return parseConfig(schema, applyEnvOverrides(base as Record<string, unknown>, env), lint);
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
