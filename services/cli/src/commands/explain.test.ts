import { describe, expect, it } from 'vitest';
import { human } from './explain.js';

describe('explain shows a reason in the units people read', () => {
  it('turns stored encodings back into what they count', () => {
    expect(human('geo_speed_kmh_log').show(Math.log1p(8400))).toBe('8,400 km/h');
    expect(human('tx_risk_1h').show(12.345)).toBe('12.35 nats');
    expect(human('req_1m_log').show(Math.log1p(61))).toBe('61');
    // The tenant's failure ratio is log2 of a multiple: 2 is four times the usual rate.
    const surge = human('tenant_failure_ratio_1m');
    expect(surge.show(2)).toBe('4× its usual rate');
    expect(surge.label).toMatch(/failed logins/);
  });
});
