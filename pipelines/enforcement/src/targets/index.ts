// Every kind of enforcement target, registered once. Adding one is its folder (config schema, implementation) and its
// line in TARGETS; the revoker's `adapters` config section, its name checks and its start-up all come from here.
import { z } from 'zod';
import { haproxyTarget } from './haproxy/index.js';
import { httpTarget } from './http/index.js';
import { idpTarget } from './idp/index.js';
import { kongTarget } from './kong/index.js';
import { redisTarget } from './redis/index.js';
import type { GatewayAdapter, TargetType } from './target.js';

export const TARGETS = [haproxyTarget, redisTarget, httpTarget, kongTarget, idpTarget] as const;

type Registered = (typeof TARGETS)[number];
type TargetsShape = { [T in Registered as T['key']]: z.ZodDefault<z.ZodArray<T['schema']>> };

/** The revoker config's `adapters` section: a list of entries per kind of target, each empty by default. */
export const targetsConfigSchema = z
  .strictObject(
    Object.fromEntries(TARGETS.map((t) => [t.key, z.array(t.schema as z.ZodType).default([])])) as TargetsShape,
  )
  .prefault({});
export type TargetsConfig = z.output<typeof targetsConfigSchema>;

/** Each configured entry with its kind of target (a target type seen through its common contract). */
function configured(config: TargetsConfig): [TargetType<string, z.ZodType>, unknown, number][] {
  return TARGETS.flatMap((t) =>
    (config[t.key] as unknown[]).map((entry, i): [TargetType<string, z.ZodType>, unknown, number] => [
      t as unknown as TargetType<string, z.ZodType>,
      entry,
      i,
    ]),
  );
}

/** Every configured target's name, in configuration order. */
export const targetNames = (config: TargetsConfig): string[] =>
  configured(config).map(([t, entry, i]) => t.nameOf(entry, i));

/** The adapters of every configured target. */
export const buildTargets = (config: TargetsConfig): GatewayAdapter[] =>
  configured(config).map(([t, entry, i]) => t.build(entry, t.nameOf(entry, i)));
