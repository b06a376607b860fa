// Format mapping and bad-input handling of every adapter, with explicit records.
import { readFileSync } from 'node:fs';
import { accessEventSchema, fingerprint } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import type { RecordOutcome } from './adapter.js';
import { adapterFor } from './registry.js';
import { mintJwt, TEST_PEPPER } from './testing/fixtures.js';

const T0 = Date.UTC(2026, 10, 28, 9, 0, 0);
const kong = adapterFor('kong', { pepper: TEST_PEPPER });

const kongRecord = (over: Record<string, unknown> = {}, request: Record<string, unknown> = {}) =>
  JSON.stringify({
    started_at: T0,
    client_ip: '203.0.113.7',
    request: {
      id: 'req-1',
      method: 'GET',
      uri: '/v1/accounts/12345/transactions?page=2',
      size: 120,
      headers: {},
      ...request,
    },
    response: { status: 200, size: 900 },
    latencies: { request: 12, kong: 1, proxy: 11 },
    ...over,
  });

const only = (outcomes: RecordOutcome[]) => {
  expect(outcomes).toHaveLength(1);
  return outcomes[0] as RecordOutcome;
};
const event = (outcomes: RecordOutcome[]) => {
  const o = only(outcomes);
  if (!o.ok) throw new Error(`expected an event, got ${o.reason}: ${o.detail}`);
  expect(accessEventSchema.safeParse(o.event).success).toBe(true);
  return o.event;
};
const reason = (outcomes: RecordOutcome[]) => {
  const o = only(outcomes);
  if (o.ok) throw new Error('expected a dead letter');
  return o.reason;
};

describe('kong', () => {
  it('decodes a raw bearer JWT, fingerprints it and keeps no trace of the token', () => {
    const token = mintJwt({
      sub: 'cust-42',
      jti: 'j-1',
      sid: 's-9',
      iat: 1764320000,
      exp: 1764323600,
      azp: 'mobile-app',
    });
    const e = event(
      kong.parse(kongRecord({}, { headers: { Authorization: `Bearer ${token}`, 'user-agent': 'okhttp/4' } })),
    );
    expect(e.principal).toEqual({
      sub: 'cust-42',
      jti: 'j-1',
      sid: 's-9',
      iat: 1764320000,
      exp: 1764323600,
      client_id: 'mobile-app',
      token_fingerprint: fingerprint(TEST_PEPPER, token),
      client_ip: '203.0.113.7',
    });
    expect(JSON.stringify(e)).not.toContain(token.split('.')[1]);
    expect(e.user_agent).toBe('okhttp/4');
  });

  it('prefers claims the gateway logged itself over decoded ones', () => {
    const fp = `v1:${'a'.repeat(64)}`;
    const e = event(
      kong.parse(
        kongRecord({ auth: { sub: 'gw-sub', token_fingerprint: fp } }, { headers: { authorization: 'REDACTED' } }),
      ),
    );
    expect(e.principal.sub).toBe('gw-sub');
    expect(e.principal.token_fingerprint).toBe(fp);
  });

  it('treats Kong 3.x "REDACTED" authorization as no credential', () => {
    const e = event(kong.parse(kongRecord({}, { headers: { authorization: 'REDACTED' } })));
    expect(e.principal.token_fingerprint).toBeUndefined();
  });

  it('templates the route, lists object ids and keeps query names but not values', () => {
    const e = event(
      kong.parse(kongRecord({}, { uri: '/v1/accounts/12345/transactions?page=2&access_token=abcdef123456' })),
    );
    expect(e.route).toBe('/v1/accounts/{id}/transactions');
    expect(e.object_ids).toEqual(['12345']);
    expect(e.query_keys).toEqual(['page', 'access_token']);
    expect(e.principal.token_fingerprint).toBe(fingerprint(TEST_PEPPER, 'abcdef123456'));
    expect(JSON.stringify(e)).not.toContain('abcdef123456');
  });

  it('reads the tx custom field and the login fields', () => {
    const e = event(
      kong.parse(
        kongRecord(
          { tx: { amount: '125.50', currency: 'EUR', payee_id: 'p-7', account_id: 'acc-1' } },
          {
            method: 'POST',
            uri: '/oauth/token',
            body_username: 'alice',
            body_grant_type: 'password',
            body_client_id: 'web',
          },
        ),
      ),
    );
    expect(e.tx).toEqual({ amount: 125.5, currency: 'EUR', payee_id: 'p-7', account_id: 'acc-1' });
    expect(e.login).toEqual({ username: 'alice', grant_type: 'password', client_id: 'web' });
    expect(e.principal.username).toBe('alice');
  });

  it('takes the login username from the query string when the body has none', () => {
    const e = event(kong.parse(kongRecord({}, { uri: '/login?username=bob', querystring: { username: 'bob' } })));
    expect(e.principal.username).toBe('bob');
  });

  it('dead-letters a malformed transaction instead of dropping it', () => {
    expect(reason(kong.parse(kongRecord({ tx: { amount: 'lots' } })))).toBe('invalid_field');
  });

  it('names the missing field without echoing values', () => {
    const o = only(
      kong.parse(JSON.stringify({ started_at: T0, client_ip: '1.2.3.4', request: { method: 'GET', uri: '/' } })),
    );
    expect(o).toMatchObject({ ok: false, reason: 'missing_field', detail: 'response: required' });
  });

  it('reads what gateways really write into the lenient fields, and names the field and type when it cannot', () => {
    const e = event(kong.parse(kongRecord({ latencies: { request: ' 12 ' } }, { id: 4711, size: '-' })));
    expect([e.request_id, e.latency_ms, e.bytes_in]).toEqual(['4711', 12, undefined]);
    expect(only(kong.parse(kongRecord({}, { headers: 'host: x' })))).toMatchObject({
      reason: 'invalid_field',
      detail: 'request.headers: expected record',
    });
    expect(only(kong.parse(kongRecord({}, { size: '12 bytes' })))).toMatchObject({
      reason: 'invalid_field',
      detail: 'request.size: expected number',
    });
    expect(only(kong.parse(kongRecord({}, { id: 'x'.repeat(513) })))).toMatchObject({
      reason: 'invalid_field',
      detail: 'request.id: too_big',
    });
    expect(only(kong.parse(kongRecord({ auth: { token_fingerprint: 'v1:abc' } })))).toMatchObject({
      reason: 'invalid_field',
      detail: 'auth.token_fingerprint: expected string',
    });
    expect(
      event(kong.parse(kongRecord({ auth: { sub: 'c-1', token_fingerprint: 'v1:-' } }))).principal.token_fingerprint,
    ).toBeUndefined();
  });

  it('derives a stable request id when the gateway logged none', () => {
    const line = kongRecord({}, { id: undefined });
    const a = event(kong.parse(line));
    const b = event(kong.parse(line));
    expect(a.request_id).toMatch(/^kong-[0-9a-f]{32}$/);
    expect(a.request_id).toBe(b.request_id);
  });
});

describe('bad input never throws and always has a reason', () => {
  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['{"started_at":', 'invalid_json'],
    ['42', 'not_an_object'],
    ['"text"', 'not_an_object'],
    ['null', 'not_an_object'],
    ['[]', 'empty'],
    ['{"__proto__":{"polluted":1}}', 'forbidden_key'],
    ['{"request":{"constructor":{"x":1}}}', 'forbidden_key'],
    ['{"\\u005f_proto__":{"polluted":1}}', 'forbidden_key'],
    ['{}', 'missing_field'],
    [
      '{"started_at":"yesterday","client_ip":"1.2.3.4","request":{"method":"GET","uri":"/"},"response":{"status":200}}',
      'invalid_field',
    ],
    [
      '{"started_at":1,"client_ip":"1.2.3.4","request":{"method":"GET","uri":"/"},"response":{"status":200}}',
      'timestamp_out_of_range',
    ],
    [
      '{"started_at":99999999999999,"client_ip":"1.2.3.4",' +
        '"request":{"method":"GET","uri":"/"},"response":{"status":200}}',
      'timestamp_out_of_range',
    ],
    [
      '{"started_at":1764320000000,"client_ip":5,"request":{"method":"GET","uri":"/"},"response":{"status":200}}',
      'invalid_field',
    ],
  ])('%s → %s', (line, expected) => {
    expect(reason(kong.parse(line))).toBe(expected);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects invalid UTF-8', () => {
    expect(reason(kong.parse(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])))).toBe('invalid_utf8');
  });

  it('rejects a 10 MB line before parsing it', () => {
    const huge = `{"x":"${'a'.repeat(10 * 1024 * 1024)}"}`;
    expect(reason(kong.parse(huge))).toBe('too_large');
  });

  it('rejects event times far from the Kafka record time, in both directions', () => {
    const line = kongRecord();
    expect(reason(kong.parse(line, { receivedAt: T0 + 30 * 86_400_000 }))).toBe('timestamp_out_of_range');
    expect(reason(kong.parse(line, { receivedAt: T0 - 3_600_000 }))).toBe('timestamp_out_of_range');
    expect(event(kong.parse(line, { receivedAt: T0 + 2_000 })).ts).toBe(T0);
  });

  it('dead-letters the bad elements of a batch and keeps the good ones, with their positions', () => {
    const outcomes = kong.parse(`[${kongRecord()},7,${kongRecord({ client_ip: undefined })}]`);
    expect(outcomes.map((o) => [o.ok, o.index])).toEqual([
      [true, 0],
      [false, 1],
      [false, 2],
    ]);
  });
});

describe('envoy', () => {
  const envoy = adapterFor('envoy', { pepper: TEST_PEPPER });
  it('maps the recommended keys, string-typed values and an IPv6 peer', () => {
    const e = event(
      envoy.parse(
        JSON.stringify({
          start_time: '2026-11-28T09:00:00.123Z',
          method: 'POST',
          path: '/v1/payments?idempotency=1',
          response_code: '201',
          duration: '35',
          bytes_received: '512',
          bytes_sent: '88',
          downstream_remote_address: '[2001:db8::7]:51234',
          'x-request-id': 'r-9',
          authorization: `Bearer ${mintJwt({ sub: 'u-1' })}`,
          tx: { amount: 99.99, currency: 'GBP', payee_id: 'p-1' },
        }),
      ),
    );
    expect(e).toMatchObject({
      ts: Date.parse('2026-11-28T09:00:00.123Z'),
      status: 201,
      latency_ms: 35,
      client_ip: '2001:db8::7',
    });
    expect(e.principal.sub).toBe('u-1');
    expect(e.tx?.amount).toBe(99.99);
  });
});

describe('haproxy', () => {
  const haproxy = adapterFor('haproxy', { pepper: TEST_PEPPER });
  it('maps the docs/gateways.md log-format record', () => {
    const e = event(
      haproxy.parse(
        '{"ts":1764320400123,"client_ip":"198.51.100.4","client_port":40522,"frontend":"fe_api",' +
          '"backend":"be_bank","method":"GET","uri":"/v1/accounts/acc-7f3a9c21",' +
          '"status":200,"bytes_read":410,"bytes_uploaded":97,"ta_ms":8,"request_id":"0a1b:2c",' +
          '"user_agent":"curl/8","auth":{"sub":"cust-1","jti":"-","token_fingerprint":"-"}}',
      ),
    );
    expect(e).toMatchObject({
      ts: 1764320400123,
      client_ip: '198.51.100.4',
      route: '/v1/accounts/{id}',
      object_ids: ['acc-7f3a9c21'],
      service: 'be_bank',
    });
    expect(e.principal).toEqual({ sub: 'cust-1', client_ip: '198.51.100.4' });
  });
  it('reads the 3.x log-profile names and the accept date', () => {
    const e = event(
      haproxy.parse(
        '{"client_ip":"10.0.1.2","request_date":"06/Feb/2009:12:14:14.655",' +
          '"request_line":"GET /index.html HTTP/1.1","status_code":200}',
      ),
    );
    expect(e.ts).toBe(Date.UTC(2009, 1, 6, 12, 14, 14, 655));
    expect(e.path).toBe('/index.html');
  });
  it('dead-letters <BADREQ>', () => {
    expect(
      reason(haproxy.parse('{"ts":1764320400123,"client_ip":"1.2.3.4","request_line":"<BADREQ>","status":400}')),
    ).toBe('missing_field');
  });
});

describe('canonical', () => {
  const canonical = adapterFor('canonical', { pepper: TEST_PEPPER });
  it('gives back the same event it was given', () => {
    const first = event(
      canonical.parse(
        JSON.stringify({
          ts: T0,
          request_id: 'r-1',
          method: 'GET',
          path: '/v1/accounts/991/balance',
          status: 200,
          client_ip: '192.0.2.1',
          authorization: `Bearer ${mintJwt({ sub: 'x', jti: 'y' })}`,
          login: { username: 'carol' },
        }),
      ),
    );
    const again = event(canonical.parse(JSON.stringify(first)));
    expect(again).toEqual(first);
  });
});

describe('haproxy, real 2.6 output of the docs/gateways.md log-format', () => {
  // Captured from Debian's HAProxy 2.6 running the configuration in docs/gateways.md (testing/haproxy-2.6-real.jsonl):
  // one request with a bearer JWT, one without. The gateway computed the fingerprint with the same pepper.
  const token =
    'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjdXN0LTkiLCJqdGkiOiJqLTc3Iiwic2lkIjoiczEiLCJpYXQiOjE3NjQzMjAwMDAsImV4cCI6MTc2NDMyMzYwMCwiY2xpZW50X2lkIjoiYXBwIn0.c2ln';
  const pepper = { version: 1, secret: 'hap-test-pepper-0123456789abcdef0123' };
  const lines = readFileSync(new URL('./testing/haproxy-2.6-real.jsonl', import.meta.url), 'utf8')
    .trim()
    .split('\n');
  const haproxy = adapterFor('haproxy', { pepper });

  it('reads claims and the gateway fingerprint, which equals vigil’s own', () => {
    const e = event(haproxy.parse(lines[0] as string));
    expect(e).toMatchObject({
      method: 'GET',
      path: '/v1/accounts/12345',
      route: '/v1/accounts/{id}',
      status: 404,
      user_agent: 'Mozilla/5.0 "quoted" \u00e9',
    });
    expect(e.principal).toMatchObject({
      sub: 'cust-9',
      jti: 'j-77',
      sid: 's1',
      iat: 1764320000,
      exp: 1764323600,
      client_id: 'app',
    });
    expect(e.principal.token_fingerprint).toBe(fingerprint(pepper, token));
  });

  it('reads a request without a token as having no claims', () => {
    const e = event(haproxy.parse(lines[1] as string));
    expect(e.principal).toEqual({ client_ip: '127.0.0.1' });
  });
});
