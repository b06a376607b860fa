// The haproxy format: its records mapped to events, field by field, and its own failure cases.
import { readFileSync } from 'node:fs';
import { fingerprint } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import { adapterFor } from '../../registry.js';
import { TEST_PEPPER } from '../../testing/fixtures.js';
import { event, reason } from '../../testing/outcomes.js';

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

describe('haproxy, real 2.6 output of the docs/gateways.md log-format', () => {
  // Captured from Debian's HAProxy 2.6 running the configuration in docs/gateways.md (testing/haproxy-2.6-real.jsonl):
  // one request with a bearer JWT, one without. The gateway computed the fingerprint with the same pepper.
  const token =
    'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjdXN0LTkiLCJqdGkiOiJqLTc3Iiwic2lkIjoiczEiLCJpYXQiOjE3NjQzMjAwMDAsImV4cCI6MTc2NDMyMzYwMCwiY2xpZW50X2lkIjoiYXBwIn0.c2ln';
  const pepper = { version: 1, secret: 'hap-test-pepper-0123456789abcdef0123' };
  const lines = readFileSync(new URL('../../testing/haproxy-2.6-real.jsonl', import.meta.url), 'utf8')
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
