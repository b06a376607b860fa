// The canonical format: its records mapped to events, field by field, and its own failure cases.
import { describe, expect, it } from 'vitest';
import { adapterFor } from '../../registry.js';
import { mintJwt, TEST_PEPPER } from '../../testing/fixtures.js';
import { event, T0 } from '../../testing/outcomes.js';

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
