// Geo-jump / impossible travel per principal: where the client IP places the request (city level), how far that is
// from the principal's previous location, the implied speed, and whether the country changed.
// - An IP the database does not know is "unknown": geo_known = 0, no distance — never (0, 0).
// - An IP known only to country level (no city; its coordinates are a country centroid) can show a country change
//   but gives no distance.
// - Mobile carriers often geolocate to another city of the same country: distances within a country are reduced by
//   a tolerance (500 km by default) before they count, and across a border by a smaller one (GeoIP error).
// - geo_country_new: the country is not among the (up to four) the principal was seen in before.
// Speed divides by at least one minute so two requests in the same second do not read as infinite speed.
import { arrayBytes, haversineKm, objectBytes, stringBytes } from '@vigil/core';
import type { AccessEvent } from '@vigil/events';
import type { GeoLookup } from '../geo/lookup.js';
import { KeyedState } from '../state/keyed-state.js';
import { mostRecentLast } from '../state/recent-list.js';
import { declareFeatures } from './declare.js';
import { DAY, type FeatureFamily, HOUR, keyTime, MINUTE } from './feature.js';

export const GEO_FEATURES = declareFeatures([
  { name: 'geo_known', encoding: 'flag', window: 'last location', means: '1 when the IP is placed' },
  { name: 'geo_country_changed', encoding: 'flag', window: 'last location', means: '1 when the country changed' },
  {
    name: 'geo_distance_km_log',
    encoding: 'log1p',
    window: 'since last city fix',
    means:
      'log1p(km beyond a tolerance: 500 km within a country for carrier hops, 100 km across borders) — ' +
      'impossible travel',
  },
  {
    name: 'geo_speed_kmh_log',
    encoding: 'log1p',
    window: 'since last city fix',
    means: 'log1p(km/h, at least 1 min apart) — impossible travel',
  },
  {
    name: 'geo_country_new',
    encoding: 'flag',
    window: '30 days',
    means:
      '1 when the country is not among the (up to four) the principal was seen in — a VPN user back at a usual ' +
      'exit is not travelling',
  },
]);
const F = GEO_FEATURES.position;

interface Place {
  last: number;
  country: string;
  lat: number;
  lon: number;
  /** Event time of the last city-level fix; NaN before the first. */
  fixAt: number;
  /** Countries seen in the state's lifetime (30 days since last seen), most recent last, at most four. */
  countries: string[];
}

/** Countries a principal's state remembers. */
const MAX_COUNTRIES = 4;

/**
 * Six fields, four of them boxed numbers (times and coordinates); the country codes are the lookup's strings, which
 * its cache may have dropped since, so they are counted as this state's.
 */
const placeBytes = (p: Place) =>
  objectBytes(6, 4) + arrayBytes(p.countries.length) + stringBytes(2) * (p.countries.length + 1);

export interface GeoOptions {
  maxKeys: number;
  sameCountryToleranceKm: number;
  crossBorderToleranceKm: number;
}

export class GeoJump implements FeatureFamily {
  readonly id = 'GeoJump';
  readonly features = GEO_FEATURES;
  readonly role = 'principal';
  readonly params: Record<string, number>;
  private readonly state: KeyedState<Place>;

  constructor(
    private readonly geo: GeoLookup,
    private readonly options: GeoOptions = {
      maxKeys: 1_000_000,
      sameCountryToleranceKm: 500,
      crossBorderToleranceKm: 100,
    },
  ) {
    this.params = { ttl: 30 * DAY, min_interval_ms: MINUTE, ...options };
    this.state = new KeyedState({
      ttlMs: 30 * DAY,
      maxKeys: options.maxKeys,
      sizeOf: placeBytes,
      keyedBy: 'principal',
    });
  }

  get stores() {
    return { principals: this.state };
  }

  update(event: AccessEvent, out: Float64Array, offset: number, principal: string): void {
    out.fill(0, offset, offset + GEO_FEATURES.names.length);
    const here = this.geo.lookup(event.client_ip);
    if (!here) return;
    out[offset + F.geo_known] = 1;
    const s = this.state.get(principal, event.ts, () => ({
      last: event.ts,
      country: '',
      lat: 0,
      lon: 0,
      fixAt: Number.NaN,
      countries: [],
    }));
    const t = keyTime(s, event.ts);
    if (s.country !== '' && s.country !== here.country) out[offset + F.geo_country_changed] = 1;
    // A country this principal has not been seen in: a VPN user hopping back to their usual exit is not travelling.
    if (s.countries.length > 0 && !s.countries.includes(here.country)) out[offset + F.geo_country_new] = 1;
    s.countries = mostRecentLast(s.countries, here.country, MAX_COUNTRIES);
    if (here.city !== '') {
      if (!Number.isNaN(s.fixAt)) {
        const tolerance =
          s.country === here.country ? this.options.sameCountryToleranceKm : this.options.crossBorderToleranceKm;
        const km = Math.max(0, haversineKm(s, here) - tolerance);
        const hours = Math.max(t - s.fixAt, MINUTE) / HOUR;
        out[offset + F.geo_distance_km_log] = Math.log1p(km);
        out[offset + F.geo_speed_kmh_log] = Math.log1p(km / hours);
      }
      s.lat = here.lat;
      s.lon = here.lon;
      s.fixAt = t;
    }
    s.country = here.country;
  }
}
