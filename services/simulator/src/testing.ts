// A stand-in GeoIP for the simulator's tests (first octet → country, second → city), so they need no database.
import { DESTINATIONS, type Locator, type Place, VPN_COUNTRIES } from './places.js';

const COUNTRIES = [
  'GB',
  ...DESTINATIONS,
  ...VPN_COUNTRIES.filter((c) => !(DESTINATIONS as readonly string[]).includes(c)),
];

export const fakeGeo: Locator = {
  lookup(ip: string): Place | undefined {
    const [a, b] = ip.split('.').map(Number) as [number, number];
    const k = a % COUNTRIES.length;
    return { country: COUNTRIES[k] as string, city: `city-${b % 6}`, lat: 50 - 4 * k + (b % 6) * 0.3, lon: -2 + 9 * k };
  },
};
