// The configuration reference of docs/configuration.md, generated from each service's zod schema (through its JSON
// Schema, as `vigil config schema` prints it): one row per key with its type, default and `.describe()` text.
import { z } from 'zod';

/** The JSON Schema keywords that z.toJSONSchema writes for vigil's configs. */
interface JsonSchema {
  type?: string;
  description?: string;
  default?: unknown;
  examples?: unknown[];
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

export interface ConfigKey {
  path: string;
  type: string;
  /** The default as JSON; undefined when the key has none. */
  default?: string;
  required: boolean;
  description: string;
}

const code = (s: string) => `\`${s}\``;

function range(s: JsonSchema): string {
  const max = s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : undefined;
  if (s.minimum !== undefined && max !== undefined) return ` ${s.minimum}–${max}`;
  if (s.minimum !== undefined) return ` ≥ ${s.minimum}`;
  if (s.exclusiveMinimum !== undefined) return ` > ${s.exclusiveMinimum}`;
  if (max !== undefined) return ` ≤ ${max}`;
  return '';
}

/**
 * A short type: `a` | `b` for an enum (unescaped: `cell` escapes), string[] for an array, "map to T" for a record,
 * "integer ≥ 1" for a bounded number.
 */
export function typeOf(s: JsonSchema): string {
  const union = s.anyOf ?? s.oneOf;
  if (union) return union.map(typeOf).join(' or ');
  if (s.enum) return s.enum.map((v) => code(String(v))).join(' | ');
  switch (s.type) {
    case 'string':
      return s.format === 'uri' ? 'URL' : 'string';
    case 'integer':
    case 'number':
      return s.type + range(s);
    case 'array': {
      const item = s.items ? typeOf(s.items) : 'any';
      return `${/ \| | or /.test(item) ? `(${item})` : item}[]${s.minItems ? `, at least ${s.minItems}` : ''}`;
    }
    case 'object':
      return typeof s.additionalProperties === 'object' && !s.properties
        ? `map to ${typeOf(s.additionalProperties)}`
        : 'object';
    default:
      return s.type ?? 'any';
  }
}

/**
 * Every key under `schema`, depth first in declaration order; array items as `key[].x`, record values as
 * `key.<name>.x`.
 */
export function configKeys(schema: JsonSchema, prefix = ''): ConfigKey[] {
  const out: ConfigKey[] = [];
  const visit = (s: JsonSchema, path: string, required: boolean) => {
    const examples = s.examples?.length
      ? ` Example: ${s.examples.map((e) => code(JSON.stringify(e))).join(', ')}.`
      : '';
    out.push({
      path,
      type: typeOf(s),
      default:
        s.default === undefined
          ? undefined
          : typeof s.default === 'string' && s.default !== ''
            ? s.default
            : JSON.stringify(s.default),
      required,
      description: (s.description ?? '') + examples,
    });
    children(s, path);
  };
  const children = (s: JsonSchema, path: string) => {
    for (const [key, child] of Object.entries(s.properties ?? {}))
      visit(child, path ? `${path}.${key}` : key, s.required?.includes(key) ?? false);
    if (s.items) children(s.items, `${path}[]`);
    if (typeof s.additionalProperties === 'object') children(s.additionalProperties, `${path}.<name>`);
  };
  children(schema, prefix);
  return out;
}

/** The keys of a zod config schema, as a user writes them (input: defaults not yet applied). */
export function zodConfigKeys(schema: z.ZodType): ConfigKey[] {
  return configKeys(z.toJSONSchema(schema, { io: 'input' }) as JsonSchema);
}

/**
 * Text for a markdown table cell: one line, `|` escaped (in code spans too, as GitHub's tables want), and `<` escaped
 * outside code spans, where it would open an HTML tag ("<action>_<kind>" would vanish on GitHub).
 */
export const cell = (s: string) =>
  s
    .replace(/\r?\n/g, ' ')
    .replace(/\|/g, '\\|')
    .split('`')
    .map((part, i) => (i % 2 === 0 ? part.replace(/</g, '\\<') : part))
    .join('`');

/** A markdown table of keys: path, type, default ("required" or — when there is none), description. */
export function configTable(keys: ConfigKey[]): string {
  const rows = keys.map((k) => {
    const dflt = k.default !== undefined ? code(k.default) : k.required ? 'required' : '—';
    return `| ${code(k.path)} | ${cell(k.type)} | ${cell(dflt)} | ${cell(k.description)} |`;
  });
  return ['| key | type | default | description |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
