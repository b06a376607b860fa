// The conformance suite every log format passes (River's estimator checks, for formats; the feature families and the
// models have theirs). A format registered in registry.ts and named in GATEWAY_FORMATS is in it, with sample records of
// its gateway in SAMPLES below:
// - no input crashes it, as text or bytes, and a record that is almost right (any field missing or of another type)
//   is an event or a dead letter with a reason code, never an exception;
// - no output — event, dead-letter detail, or the redacted original — contains a raw credential;
// - over real records of its gateway (testing/, with their sources): the same line gives the same outcome from a fresh
//   adapter (determinism), whatever lines came before it (no state leaks between records), and parsing leaves the
//   caller's bytes as they were.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { accessEventSchema, GATEWAY_FORMATS, type GatewayFormat, REASON_CODES } from '@vigil/events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordOutcome } from '../adapter.js';
import { adapterFor } from '../registry.js';
import { mintJwt, SAMPLES_DIR, TEST_PEPPER } from '../testing/fixtures.js';

const adapters = GATEWAY_FORMATS.map((f) => adapterFor(f, { pepper: TEST_PEPPER }));

function checkOutcomes(outcomes: RecordOutcome[]) {
  expect(outcomes.length).toBeGreaterThan(0);
  for (const o of outcomes) {
    if (o.ok) expect(accessEventSchema.safeParse(o.event).success).toBe(true);
    else expect(Object.keys(REASON_CODES)).toContain(o.reason);
  }
}

describe('any input', () => {
  it('never throws, as text or bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.uint8Array({ maxLength: 300 })), (input) => {
        for (const adapter of adapters) checkOutcomes(adapter.parse(input));
      }),
      { numRuns: 400 },
    );
  });

  it('never throws on records that are almost right', () => {
    const base = {
      started_at: 1764320400000,
      start_time: '2026-11-28T09:00:00Z',
      ts: 1764320400000,
      time_iso8601: '2026-11-28T09:00:00+00:00',
      client_ip: '192.0.2.1',
      remote_addr: '192.0.2.1',
      downstream_remote_address: '192.0.2.1:1234',
      method: 'GET',
      path: '/v1/x',
      uri: '/v1/x',
      request: { method: 'GET', uri: '/v1/x' },
      response: { status: 200 },
      response_code: 200,
      status: 200,
    };
    const mutated = fc
      .record({
        key: fc.constantFrom(...Object.keys(base)),
        value: fc.oneof(fc.anything(), fc.constant(undefined), fc.string(), fc.double(), fc.constant(-1)),
      })
      .map(({ key, value }) => JSON.stringify({ ...base, [key]: value }));
    fc.assert(
      fc.property(mutated, (line) => {
        for (const adapter of adapters) checkOutcomes(adapter.parse(line));
      }),
      { numRuns: 500 },
    );
  });
});

const opaqueToken = fc.stringMatching(/^[A-Za-z0-9_-]{24,48}$/);
const jwtToken = fc
  .record({ sub: fc.stringMatching(/^[a-z0-9-]{1,12}$/), jti: fc.uuid() })
  .chain((claims) =>
    fc.stringMatching(/^[A-Za-z0-9_-]{30,40}$/).map((sig) => mintJwt(claims).replace(/\.[^.]*$/, `.${sig}`)),
  );
const token = fc.oneof(opaqueToken, jwtToken);

/** Where a gateway can put a credential, per format, as a whole log line. */
const placements: ((t: string) => string)[] = [
  (t) =>
    JSON.stringify({
      started_at: 1764320400000,
      client_ip: '192.0.2.1',
      request: { method: 'GET', uri: `/v1/x?access_token=${t}`, headers: { authorization: `Bearer ${t}`, apikey: t } },
      response: { status: 200 },
    }),
  (t) =>
    JSON.stringify({
      started_at: 1764320400000,
      client_ip: '192.0.2.1',
      authenticated_entity: { key: t },
      request: { method: 'GET', uri: '/' },
    }),
  (t) => `{"started_at":1764320400000,"request":{"headers":{"authorization":"Bearer ${t}"}`,
  (t) =>
    JSON.stringify({
      start_time: '2026-11-28T09:00:00Z',
      method: 'GET',
      path: `/p?token=${t}`,
      downstream_remote_address: '1.2.3.4:5',
      authorization: `Bearer ${t}`,
    }),
  (t) =>
    JSON.stringify({
      time_iso8601: '2026-11-28T09:00:00+00:00',
      remote_addr: '1.2.3.4',
      request: `GET /login?password=${t} HTTP/1.1`,
      status: '200',
      http_authorization: `Basic ${t}`,
    }),
  (t) =>
    JSON.stringify({
      ts: 1764320400000,
      client_ip: '1.2.3.4',
      method: 'POST',
      uri: '/token',
      status: 200,
      authorization: t,
      password: t,
    }),
  (t) =>
    JSON.stringify({
      ts: 1764320400000,
      method: 'GET',
      path: '/',
      status: 200,
      client_ip: '1.2.3.4',
      authorization: `Bearer ${t}`,
    }),
  (t) => `not json at all Authorization: Bearer ${t} password=${t}`,
];

describe('credentials', () => {
  it('never reach an event, a dead-letter detail, or the redacted original', () => {
    fc.assert(
      fc.property(token, fc.integer({ min: 0, max: placements.length - 1 }), (t, which) => {
        const line = (placements[which] as (t: string) => string)(t);
        const secret = t.includes('.') ? (t.split('.')[2] as string) : t;
        for (const adapter of adapters) {
          for (const o of adapter.parse(line)) {
            const out = o.ok ? JSON.stringify(o.event) : o.detail;
            expect(out).not.toContain(secret);
          }
        }
        for (const adapter of adapters) expect(JSON.stringify(adapter.redact(line))).not.toContain(secret);
      }),
      { numRuns: 400 },
    );
  });
});

/** Real records of each format's gateway (testing/gateway-samples, a capture of HAProxy 2.6); canonical built here. */
const SAMPLES: Record<GatewayFormat, () => string[]> = {
  kong: () => [...sampleLines(join(SAMPLES_DIR, 'kong.jsonl')), ...sampleLines(join(SAMPLES_DIR, 'kong-batch.jsonl'))],
  envoy: () => sampleLines(join(SAMPLES_DIR, 'envoy.jsonl')),
  nginx: () => sampleLines(join(SAMPLES_DIR, 'nginx.jsonl')),
  haproxy: () => sampleLines(new URL('../testing/haproxy-2.6-real.jsonl', import.meta.url)),
  canonical: () =>
    [1, 2, 3].map((i) =>
      JSON.stringify({
        ts: 1764320400000 + i * 1000,
        request_id: `r-${i}`,
        method: i === 2 ? 'POST' : 'GET',
        path: i === 2 ? '/oauth/token' : `/v1/accounts/99${i}/balance`,
        status: i === 2 ? 401 : 200,
        client_ip: `192.0.2.${i}`,
        ...(i === 2 ? { login: { username: 'carol' } } : { authorization: `Bearer ${mintJwt({ sub: `c-${i}` })}` }),
      }),
    ),
};

function sampleLines(file: string | URL): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

describe.each(GATEWAY_FORMATS.map((f) => [f]))('format %s', (format) => {
  const lines = SAMPLES[format]();
  const parseEach = (order: string[]) => {
    const adapter = adapterFor(format, { pepper: TEST_PEPPER });
    return new Map(order.map((line) => [line, adapter.parse(line)]));
  };

  it('has real records to be judged on, some of which become events', () => {
    expect(lines.length).toBeGreaterThan(1);
    const outcomes = [...parseEach(lines).values()].flat();
    checkOutcomes(outcomes);
    expect(outcomes.some((o) => o.ok)).toBe(true);
  });

  it('gives the same outcome for a line from a fresh adapter and after any other lines', () => {
    const first = parseEach(lines);
    expect(parseEach(lines)).toEqual(first);
    expect(parseEach([...lines].reverse())).toEqual(first);
  });

  it('leaves the bytes it is given as they were', () => {
    const adapter = adapterFor(format, { pepper: TEST_PEPPER });
    for (const line of lines) {
      const bytes = Buffer.from(line);
      const copy = Buffer.from(bytes);
      adapter.parse(bytes);
      expect(bytes.equals(copy)).toBe(true);
    }
  });
});
