// The envoy format: its records mapped to events, field by field, and its own failure cases.
import { describe, expect, it } from 'vitest';
import { adapterFor } from '../../registry.js';
import { mintJwt, TEST_PEPPER } from '../../testing/fixtures.js';
import { event } from '../../testing/outcomes.js';

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
