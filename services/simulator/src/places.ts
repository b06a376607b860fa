// Where the simulated bank's customers are: client addresses the GeoIP database really places in a city, found by
// probing random /24 networks (seeded, so the same seed and database give the same places). The home country's
// networks become home broadband lines and mobile carriers' pools; other countries' become travel destinations and
// VPN exits. The simulator takes any locator (vigil's MmdbGeoLookup in practice) so it depends on no database itself.

import type { Rng } from './random.js';

export interface Place {
  country: string;
  city: string;
  lat: number;
  lon: number;
}

/** Places an IP address; undefined when it cannot (vigil's GeoLookup satisfies this). */
export interface Locator {
  lookup(ip: string): Place | undefined;
}

/** A /24 the database places in one city; hosts are drawn from it. */
export interface Net {
  prefix: string;
  place: Place;
}

export interface Places {
  home: Net[];
  /** Country → networks placed there. */
  abroad: Map<string, Net[]>;
}

/** Travel destinations and VPN exit countries, with a rough share of each. */
export const DESTINATIONS = ['ES', 'FR', 'IT', 'DE', 'NL', 'IE', 'PT', 'US', 'AE', 'TH', 'AU'] as const;
export const VPN_COUNTRIES = ['NL', 'DE', 'US', 'CH', 'SE'] as const;

// First octets that are private, shared, loopback, multicast or reserved: the database places none of them.
const RESERVED_FIRST = new Set([0, 10, 100, 127, 169, 172, 192, 198, 203, 224]);

/**
 * Probes random /24s until the home country has `homeNets` city-level networks and every destination and VPN
 * country has a few. Throws when the database cannot supply them (a locator without the home country, say).
 */
export function findPlaces(geo: Locator, rng: Rng, homeCountry: string, homeNets: number): Places {
  const wanted = new Set<string>([...DESTINATIONS, ...VPN_COUNTRIES]);
  const home: Net[] = [];
  const abroad = new Map<string, Net[]>();
  const seen = new Set<string>();
  const enough = () => home.length >= homeNets && [...wanted].every((c) => (abroad.get(c)?.length ?? 0) >= 4);
  for (let probe = 0; probe < 2_000_000 && !enough(); probe++) {
    const a = rng.int(1, 223);
    if (RESERVED_FIRST.has(a)) continue;
    const prefix = `${a}.${rng.int(0, 255)}.${rng.int(0, 255)}.`;
    if (seen.has(prefix)) continue;
    seen.add(prefix);
    const place = geo.lookup(`${prefix}77`);
    if (!place || place.city === '') continue;
    if (place.country === homeCountry) {
      if (home.length < homeNets) home.push({ prefix, place });
    } else if (wanted.has(place.country)) {
      const list = abroad.get(place.country) ?? [];
      if (list.length < 24) list.push({ prefix, place });
      abroad.set(place.country, list);
    }
  }
  if (!enough()) {
    throw new Error(
      `the GeoIP database placed too few networks in ${homeCountry} and the travel countries — is it a City database?`,
    );
  }
  return { home, abroad };
}

/** A host of the network (its own address for a customer's line; any for a pool). */
export const host = (net: Net, rng: Rng) => `${net.prefix}${rng.int(2, 254)}`;
