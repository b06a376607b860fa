// The dead letter's copy of a record is safe by construction: whatever name or shape a credential hides under (the
// ones a trial found leaking, and more), no raw value survives redaction, while what an operator needs to see why the
// record failed — structure, method, status, times, addresses, route template — stays.
import { fingerprint, GATEWAY_FORMATS, redactedOriginalSchema } from '@vigil/events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasForbiddenKey, jsonDepth } from '../json-limits.js';
import { adapterFor } from '../registry.js';
import { TEST_PEPPER } from '../testing/fixtures.js';

const adapters = GATEWAY_FORMATS.map((f) => adapterFor(f, { pepper: TEST_PEPPER }));
const kong = adapterFor('kong', { pepper: TEST_PEPPER });

/**
 * Secrets: opaque keys and tokens (letters with digits), passwords with punctuation, long numbers (numeric passwords
 * and PINs). Each has a character outside hex or at least ten digits, so it cannot turn up inside a fingerprint's hex
 * by chance. (A word-only password used as a URL path segment or a query key is the one shape redaction keeps: it
 * cannot be told from a route word.)
 */
const secret = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{4,40}[G-Zg-z][0-9][A-Za-z0-9]{0,8}$/),
  fc.stringMatching(/^[a-z]{3,10}[!#%&*+=~][A-Za-z0-9]{2,12}$/),
  fc.bigInt({ min: 1_000_000_000n, max: 999_999_999_999_999n }).map((n) => n.toString()),
);

/** Every place the trial found a credential reaching a dead letter, and more; each record lacks a required field. */
const placements: ((s: string) => string)[] = [
  // Headers logged as arrays (Kong logs repeated headers so), cookies, vendor API-key headers.
  (s) =>
    JSON.stringify({
      request: { method: 'GET', headers: { 'x-api-key': [s, s], cookie: [`session=${s}`, 'theme=dark'] } },
    }),
  (s) =>
    JSON.stringify({
      request: {
        headers: { 'x-access-token': s, 'X-Auth-Key': s, 'ocp-apim-subscription-key': s, 'x-amz-security-token': s },
      },
    }),
  // Query strings in the URI (hyphenated names, AWS signatures) and as objects.
  (s) =>
    JSON.stringify({
      request: { uri: `/v1/files?api-key=${s}&X-Amz-Signature=${s}&pass=${s}`, querystring: { 'api-key': s, pass: s } },
    }),
  (s) =>
    JSON.stringify({ request: { url: `https://bank.example/v1/reset/${s}?next=/home`, querystring: { [s]: true } } }),
  // Bodies as strings and objects; passphrases, private keys, numeric passwords, escaped keys.
  (s) => JSON.stringify({ request: { body: `{"username":"ann","password":"${s}"}`, passphrase: s, private_key: s } }),
  (s) => JSON.stringify({ request: { body: { password: Number.isSafeInteger(Number(s)) ? Number(s) : s, pin: s } } }),
  (s) => `{"request":{"body":{"\\u0070assword":"${s}"}}}`,
  // Secrets in fields vigil keeps by name: the value must have the field's shape to be kept. (A number in a time or
  // size field has that field's shape and is kept: gateways write those fields, requests do not.)
  (s) =>
    JSON.stringify({
      client_ip: s,
      method: s,
      status: s,
      protocol: s,
      'x-forwarded-for': `1.2.3.4, ${s}`,
      ...(/^\d+$/.test(s) ? {} : { started_at: s, size: s }),
    }),
  (s) =>
    JSON.stringify({
      remote_addr: '1.2.3.4',
      request: `POST /login/${s}?password=${s} HTTP/1.1`,
      http_authorization: `Basic ${s}`,
    }),
  // A secret as a key, deep in the record.
  (s) => JSON.stringify({ a: { b: { c: { [s]: s, [`x${s}`]: [s] } } } }),
];

describe('dead-letter redaction', () => {
  it('keeps no raw credential, whatever its name, shape or position, in any format', () => {
    fc.assert(
      fc.property(secret, fc.integer({ min: 0, max: placements.length - 1 }), (s, which) => {
        const line = (placements[which] as (s: string) => string)(s);
        for (const adapter of adapters) {
          const redacted = adapter.redact(line);
          expect(redactedOriginalSchema.safeParse(redacted).success).toBe(true);
          expect(JSON.stringify(redacted)).not.toContain(s);
          for (const o of adapter.parse(line)) if (!o.ok) expect(o.detail).not.toContain(s);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the structure and the fields an operator needs, and fingerprints the rest with the pepper', () => {
    const line = JSON.stringify({
      started_at: 1764320400000,
      client_ip: '203.0.113.7',
      request: {
        method: 'POST',
        uri: '/v1/accounts/12345/payments?token=abc',
        size: 412,
        headers: { authorization: 'Bearer xyz', 'x-api-key': ['k1'] },
      },
      response: { status: 201 },
      latencies: { request: 35, kong: 2, proxy: 30 },
      tls: true,
    });
    const r = kong.redact(line);
    expect(r.redacted).toBe('json');
    const v = (r as { value: Record<string, Record<string, unknown>> }).value;
    expect(v.started_at).toBe(1764320400000);
    expect(v.client_ip).toBe('203.0.113.7');
    expect(v.request?.method).toBe('POST');
    expect(v.request?.uri).toBe('/v1/accounts/{id}/payments');
    expect(v.request?.size).toBe(412);
    expect(v.response?.status).toBe(201);
    expect(v.latencies).toEqual({ request: 35, kong: 2, proxy: 30 });
    expect(v.tls).toBe(true);
    const headers = v.request?.headers as Record<string, unknown>;
    expect(headers.authorization).toEqual({
      redacted: 'string',
      length: 10,
      hmac: fingerprint(TEST_PEPPER, 'Bearer xyz'),
    });
    expect(headers['x-api-key']).toEqual([{ redacted: 'string', length: 2, hmac: fingerprint(TEST_PEPPER, 'k1') }]);
  });

  it('fingerprints the bytes of a record with no structure to keep', () => {
    for (const input of [
      'not json password=hunter2',
      Buffer.from([0x7b, 0xff, 0xfe]),
      `${'['.repeat(100)}1${']'.repeat(100)}`,
    ]) {
      const r = kong.redact(input);
      expect(r).toMatchObject({ redacted: 'text', length: Buffer.byteLength(input as string) });
    }
  });

  it('keeps a __proto__ key a plain key of the copy', () => {
    const r = kong.redact('{"__proto__":{"admin":true},"ok":1}') as { value: Record<string, unknown> };
    expect(Object.getPrototypeOf({})).not.toHaveProperty('admin');
    expect(Object.keys(r.value)).toHaveLength(2);
  });
});

describe('records shaped to break the parser', () => {
  const deep = (n: number) => `{"started_at":1764320400000,"x":${'{"\\u0061":'.repeat(n)}1${'}'.repeat(n)}}`;

  it('dead-letters a record nested thousands of levels deep with its own reason, without recursion', () => {
    for (const n of [65, 3_000, 50_000]) {
      for (const adapter of adapters) {
        const [o] = adapter.parse(deep(n));
        expect(o).toMatchObject({ ok: false, reason: 'too_deep' });
        expect(JSON.stringify(adapter.redact(deep(n)))).toMatch(/"redacted":"text"/);
      }
    }
    expect(kong.parse(deep(10))[0]).not.toMatchObject({ reason: 'too_deep' });
  });

  it('measures depth outside strings only, and finds forbidden keys at any depth iteratively', () => {
    expect(jsonDepth('{"a":"[[[[{{{{"}')).toBe(1);
    expect(jsonDepth('[[1],[[2]],{"a":"\\"]"}]')).toBe(3);
    expect(jsonDepth('12')).toBe(0);
    const nested = JSON.parse(`${'{"a":'.repeat(50_000)}{"constructor":1}${'}'.repeat(50_000)}`);
    expect(hasForbiddenKey(nested)).toBe(true);
    expect(hasForbiddenKey(JSON.parse('{"a":[{"b":{"c":1}}]}'))).toBe(false);
    expect(kong.parse(`{"a":[{"b":{"\\u0063onstructor":1}}]}`)[0]).toMatchObject({ reason: 'forbidden_key' });
  });
});
