// Every adapter against the real record shapes its gateway publishes (testing/gateway-samples, with their sources):
// complete records become events, skeletal ones are dead-lettered with a reason, nothing crashes, no credential leaks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { accessEventSchema, type GatewayFormat } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import { adapterFor } from './registry.js';
import { SAMPLES_DIR, TEST_PEPPER } from './testing/fixtures.js';

const lines = (file: string) =>
  readFileSync(join(SAMPLES_DIR, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');

const parseAll = (format: GatewayFormat, file: string) => {
  const adapter = adapterFor(format, { pepper: TEST_PEPPER });
  return lines(file).map((line) => adapter.parse(line));
};

describe('published gateway samples', () => {
  it('kong: all seven documented records become valid events, 0.4-era API key fingerprinted', () => {
    const outcomes = parseAll('kong', 'kong.jsonl').flat();
    expect(outcomes).toHaveLength(7);
    for (const o of outcomes) {
      expect(o.ok).toBe(true);
      if (o.ok) expect(accessEventSchema.safeParse(o.event).success).toBe(true);
    }
    const first = outcomes[0];
    expect(first?.ok && first.event).toMatchObject({
      ts: 1726783839538,
      request_id: '2f6946328ffc4946b8c9120704a4a155',
      method: 'GET',
      path: '/example-route',
      status: 200,
      client_ip: '192.168.65.1',
      latency_ms: 173,
      service: 'example_service',
    });
    const legacy = outcomes[5];
    expect(legacy?.ok).toBe(true);
    if (legacy?.ok) {
      expect(legacy.event.principal.token_fingerprint).toMatch(/^v1:[0-9a-f]{64}$/);
      expect(JSON.stringify(legacy.event)).not.toContain('2b64e2f0193851d4135a2e885cd08a65');
    }
    const withConsumer = outcomes[1];
    expect(withConsumer?.ok && withConsumer.event.principal.consumer_id).toBeTruthy();
  });

  it('kong: batch arrays split into one event per element', () => {
    const [batch3, batch1] = parseAll('kong', 'kong-batch.jsonl');
    expect(batch3?.map((o) => o.ok)).toEqual([true, true, true]);
    expect(batch3?.map((o) => o.index)).toEqual([0, 1, 2]);
    expect(batch1).toHaveLength(1);
  });

  it('envoy: Envoy Gateway records become events; the skeletal json_format example is dead-lettered', () => {
    const outcomes = parseAll('envoy', 'envoy.jsonl').flat();
    expect(outcomes.map((o) => o.ok)).toEqual([false, true, true, true, true]);
    expect(outcomes[0]?.ok === false && outcomes[0].reason).toBe('missing_field');
    const rl = outcomes[1];
    expect(rl?.ok && rl.event).toMatchObject({
      ts: Date.parse('2025-05-01T08:34:27.573Z'),
      status: 429,
      client_ip: '10.244.0.44',
      path: '/reviews/0',
      route: '/reviews/{id}',
      object_ids: ['0'],
      request_id: 'e52f5442-5bb7-47bb-97e1-652f56bb6ad6',
    });
  });

  it('nginx: string, spaced and numeric values; CLF and ISO times; query values dropped', () => {
    const outcomes = parseAll('nginx', 'nginx.jsonl').flat();
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true, true]);
    const first = outcomes[0];
    expect(first?.ok && first.event).toMatchObject({
      ts: Date.parse('2021-02-25T16:20:01-05:00'),
      method: 'GET',
      path: '/about-us',
      query_keys: ['app', 'user'],
      status: 404,
      client_ip: '10.33.104.40',
    });
    expect(outcomes[3]?.ok && outcomes[3].event.status).toBe(200);
  });

  it('apisix records fed as canonical are dead-lettered with a reason, never crash', () => {
    for (const file of ['apisix.jsonl', 'apisix-batch.jsonl']) {
      for (const o of parseAll('canonical', file).flat()) {
        expect(o.ok).toBe(false);
        if (!o.ok) expect(['missing_field', 'invalid_field']).toContain(o.reason);
      }
    }
  });
});
