// The policy reads features by name; the detector feeds it the standard schema. A renamed or removed feature must
// fail here, not turn a rule off at start with a warning in production.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FeatureExtractor } from '@vigil/features';
import { DecisionPolicy, policyConfigSchema } from '@vigil/policy';
import { describe, expect, it } from 'vitest';

// The schema's names do not depend on where GeoIP places anyone.
const names = FeatureExtractor.standard({ lookup: () => undefined }).names;

describe('the policy against the standard feature schema', () => {
  it('runs every rule enabled by default', () => {
    expect(new DecisionPolicy(policyConfigSchema.parse({}), names).inactiveRules).toEqual([]);
  });

  it('names only features the schema has, in every rule and statistic', () => {
    const rules = readFileSync(
      fileURLToPath(new URL('../../../pipelines/policy/src/rules.ts', import.meta.url)),
      'utf8',
    );
    const named = [...rules.matchAll(/feature\('([a-z0-9_]+)'\)/g)].map((m) => m[1] as string);
    expect(named.length).toBeGreaterThan(10);
    expect([...new Set(named)].filter((n) => !names.includes(n))).toEqual([]);
  });
});
