// The generated parts of docs/features.md and docs/configuration.md match the code: a feature, family parameter or
// config key changed without `npm run docs` fails here.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configKeys, typeOf } from '../support/config-reference.js';
import { generatedDocs, replaceGenerated } from './docs.js';

const DOCS = fileURLToPath(new URL('../../../../docs/', import.meta.url));

describe('vigil docs', () => {
  it('the committed docs are what the generator writes from the code', () => {
    for (const d of generatedDocs(DOCS).docs)
      expect(d.current, `${d.file} is out of date with the code — run npm run docs`).toBe(d.generated);
  });

  it('replaces only what stands between the markers, and says where markers are missing', () => {
    const text = 'before\n<!-- generated:x:start -->\nold\n<!-- generated:x:end -->\nafter\n';
    expect(replaceGenerated(text, 'x', 'new', 'f.md')).toBe(
      'before\n<!-- generated:x:start -->\nnew\n<!-- generated:x:end -->\nafter\n',
    );
    expect(() => replaceGenerated('no markers', 'x', 'new', 'f.md')).toThrow(/f\.md has no <!-- generated:x:start -->/);
  });

  it('lists nested, listed and named keys with their types, defaults and whether they are required', () => {
    const keys = configKeys({
      type: 'object',
      required: ['url'],
      properties: {
        url: { type: 'string', format: 'uri', description: 'Where.' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 80 },
        hosts: {
          type: 'array',
          default: [],
          items: { type: 'object', properties: { name: { type: 'string', enum: ['a', 'b'] } } },
        },
        classes: {
          type: 'object',
          default: {},
          additionalProperties: { type: 'object', properties: { alert: { type: 'number', minimum: 0, maximum: 1 } } },
        },
      },
    });
    expect(keys.map((k) => [k.path, k.type, k.default, k.required])).toEqual([
      ['url', 'URL', undefined, true],
      ['port', 'integer 0–65535', '80', false],
      ['hosts', 'object[]', '[]', false],
      ['hosts[].name', '`a` | `b`', undefined, false],
      ['classes', 'map to object', '{}', false],
      ['classes.<name>.alert', 'number 0–1', undefined, false],
    ]);
    expect(typeOf({ type: 'array', minItems: 1, items: { enum: ['x', 'y'] } })).toBe('(`x` | `y`)[], at least 1');
  });
});
