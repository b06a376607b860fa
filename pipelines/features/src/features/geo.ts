// Geo-jump / impossible travel per principal: where the client IP places the request (city level), how far that is
// from the principal's previous location, the implied speed, and whether the country changed.
// - An IP the database does not know is "unknown": geo_known = 0, no distance — never (0, 0).
// - An IP known only to country level (no city; its coordinates are a country centroid) can show a country change
//   but gives no distance.
// - Mobile carriers often geolocate to another city of the same country: distances within a country are reduced by
//   a tolerance (500 km by default) before they count, and across a border by a smaller one (GeoIP error).
// - geo_country_new: the country is not among the (up to four) the principal was seen in before.
// Speed divides by at least one minute so two requests in the same second do not read as infinite speed.
import { grown, haversineKm } from '@vigil/core';
import type { AccessEvent } from '@vigil/events';
import type { GeoLookup } from '../geo/lookup.js';
import type { StateColumns } from '../state/columns.js';
import { KeyedState } from '../state/keyed-state.js';
import { RecentColumns } from '../state/recent-columns.js';
import { declareFeatures } from './declare.js';
import { DAY, type FeatureFamily, HOUR, MINUTE, slotTime } from './feature.js';

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

/** A principal's place in object form: what checkpoints encode (PlaceColumns keeps it in columns). */
export interface Place {
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
 * Places in columns: four doubles, the country and the last four countries as numbers into a table of the countries
 * seen (the GeoIP database's country codes: a closed set of a few hundred, kept once per store). As an object a place
 * took ~285 bytes (six fields, four boxed numbers, a list of strings).
 */
class PlaceColumns implements StateColumns<Place> {
  last = new Float64Array(0);

  /** The key's clock (the latest event time it was seen at): its store's last-seen time too (StateColumns.clock). */
  get clock(): Float64Array {
    return this.last;
  }
  lat = new Float64Array(0);
  lon = new Float64Array(0);
  fixAt = new Float64Array(0);
  /** The country's number (0: none yet, the empty name). */
  country = new Uint32Array(0);
  /** The numbers of the last four countries. */
  readonly countries = new RecentColumns(MAX_COUNTRIES);
  private readonly names: string[] = [''];
  private readonly numbers = new Map<string, number>([['', 0]]);

  /** The country's number in this store's table. */
  number(name: string): number {
    let n = this.numbers.get(name);
    if (n === undefined) {
      n = this.names.length;
      this.names.push(name);
      this.numbers.set(name, n);
    }
    return n;
  }

  grow(slots: number): void {
    this.last = grown(this.last, slots);
    this.lat = grown(this.lat, slots);
    this.lon = grown(this.lon, slots);
    this.fixAt = grown(this.fixAt, slots);
    this.country = grown(this.country, slots);
    this.countries.grow(slots);
  }

  write(slot: number, p: Place): void {
    this.last[slot] = p.last;
    this.lat[slot] = p.lat;
    this.lon[slot] = p.lon;
    this.fixAt[slot] = p.fixAt;
    this.country[slot] = this.number(p.country);
    this.countries.write(
      slot,
      p.countries.map((name) => this.number(name)),
    );
  }

  read(slot: number): Place {
    const countries = this.countries.read(slot).map((n) => this.names[n] as string);
    return {
      last: this.last[slot] as number,
      country: this.names[this.country[slot] as number] as string,
      lat: this.lat[slot] as number,
      lon: this.lon[slot] as number,
      fixAt: this.fixAt[slot] as number,
      countries,
    };
  }

  get slotBytes(): number {
    return 4 * 8 + 4 + this.countries.slotBytes;
  }
}

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
  private readonly place = new PlaceColumns();

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
      columns: this.place,
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
    const s = this.place;
    const i = this.state.slot(principal, event.ts, () => ({
      last: event.ts,
      country: '',
      lat: 0,
      lon: 0,
      fixAt: Number.NaN,
      countries: [],
    }));
    const t = slotTime(s.last, i, event.ts);
    const country = s.number(here.country);
    const before = s.country[i] as number;
    if (before !== 0 && before !== country) out[offset + F.geo_country_changed] = 1;
    // A country this principal has not been seen in: a VPN user hopping back to their usual exit is not travelling.
    if (s.countries.size(i) > 0 && !s.countries.has(i, country)) out[offset + F.geo_country_new] = 1;
    s.countries.visit(i, country);
    if (here.city !== '') {
      const fixAt = s.fixAt[i] as number;
      if (!Number.isNaN(fixAt)) {
        const tolerance =
          before === country ? this.options.sameCountryToleranceKm : this.options.crossBorderToleranceKm;
        const km = Math.max(0, haversineKm({ lat: s.lat[i] as number, lon: s.lon[i] as number }, here) - tolerance);
        const hours = Math.max(t - fixAt, MINUTE) / HOUR;
        out[offset + F.geo_distance_km_log] = Math.log1p(km);
        out[offset + F.geo_speed_kmh_log] = Math.log1p(km / hours);
      }
      s.lat[i] = here.lat;
      s.lon[i] = here.lon;
      s.fixAt[i] = t;
    }
    s.country[i] = country;
  }
}
