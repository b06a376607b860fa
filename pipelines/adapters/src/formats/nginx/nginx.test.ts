// The nginx format: a JSON log_format line (escape=json, values as strings) mapped to an event, field by field, and
// its own failure cases.
import { describe, expect, it } from 'vitest';
import { adapterFor } from '../../registry.js';
import { mintJwt, TEST_PEPPER } from '../../testing/fixtures.js';
import { event, reason } from '../../testing/outcomes.js';

const nginx = adapterFor('nginx', { pepper: TEST_PEPPER });

const line = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    time_iso8601: '2026-11-28T09:00:00+00:00',
    remote_addr: '203.0.113.7',
    request: 'GET /v1/accounts/12345/transactions?page=2&access_token=secret123 HTTP/1.1',
    status: '200',
    body_bytes_sent: '900',
    request_time: '0.012',
    http_user_agent: 'VigilBank/5.2 (Android 15)',
    request_id: 'req-9',
    ...over,
  });

describe('nginx', () => {
  it('reads the request line, string numbers and the time, and keeps query keys but not their values', () => {
    const e = event(nginx.parse(line()));
    expect(e).toMatchObject({
      ts: Date.UTC(2026, 10, 28, 9),
      gateway: 'nginx',
      method: 'GET',
      route: '/v1/accounts/{id}/transactions',
      status: 200,
      client_ip: '203.0.113.7',
      user_agent: 'VigilBank/5.2 (Android 15)',
    });
    expect(e.object_ids).toContain('12345');
    expect(e.query_keys).toEqual(expect.arrayContaining(['page', 'access_token']));
    expect(JSON.stringify(e)).not.toContain('secret123');
  });

  it('fingerprints a bearer token from $http_authorization and keeps no trace of it', () => {
    const token = mintJwt({ sub: 'cust-9', jti: 'j-1' });
    const e = event(nginx.parse(line({ http_authorization: `Bearer ${token}` })));
    expect(e.principal.sub).toBe('cust-9');
    expect(e.principal.token_fingerprint).toMatch(/^v1:[0-9a-f]{64}$/);
    expect(JSON.stringify(e)).not.toContain(token.split('.')[2] as string);
  });

  it('dead-letters a line with no request line, with a reason', () => {
    expect(reason(nginx.parse(line({ request: undefined })))).toBe('missing_field');
  });
});
