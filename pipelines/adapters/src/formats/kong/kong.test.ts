// The kong format: its records mapped to events, field by field, and its own failure cases.
import { fingerprint } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import { adapterFor } from '../../registry.js';
import { mintJwt, TEST_PEPPER } from '../../testing/fixtures.js';
import { event, kongRecord, only, reason, T0 } from '../../testing/outcomes.js';

const kong = adapterFor('kong', { pepper: TEST_PEPPER });

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
