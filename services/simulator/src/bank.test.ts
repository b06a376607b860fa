// The bank simulator's promises, on a stand-in GeoIP (first octet → country, second → city) so the test needs no
// database: time order and determinism, the local day's rhythm, tokens that are live when used and refreshed within
// their session, travellers silent for the flight, VPN exits, payroll batches.
import { haversineKm } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { bankCustomers, generateBank } from './bank.js';
import type { Place } from './places.js';
import { fakeGeo } from './testing.js';
import type { SimRequest } from './traffic.js';

const START = Date.UTC(2026, 10, 2, 0, 0, 0);
const DAY = 86_400_000;

function day(seed: number): SimRequest[] {
  const out: SimRequest[] = [];
  for (const r of generateBank({ seed, customers: 600, start: START, geo: fakeGeo })) {
    if (r.ts >= START + 2 * DAY) break;
    out.push(r);
  }
  return out;
}

describe('the bank simulator', () => {
  const requests = day(5);

  it('is deterministic and in time order', () => {
    expect(day(5).map((r) => r.requestId)).toEqual(requests.map((r) => r.requestId));
    expect(day(6).length).not.toBe(requests.length);
    for (let i = 1; i < requests.length; i++)
      expect((requests[i] as SimRequest).ts).toBeGreaterThanOrEqual((requests[i - 1] as SimRequest).ts);
  });

  it('follows the local day: quiet at night, busy in the evening', () => {
    const inHours = (from: number, to: number) =>
      requests.filter((r) => (new Date(r.ts).getUTCHours() - from + 24) % 24 < to - from).length;
    expect(inHours(2, 5) * 5).toBeLessThan(inHours(18, 21));
  });

  it('uses live tokens, and a refresh keeps the session with a new token id', () => {
    const bySid = new Map<string, Set<string>>();
    for (const r of requests) {
      if (!r.claims) continue;
      expect(r.claims.exp * 1000).toBeGreaterThanOrEqual(r.ts);
      expect(r.claims.iat * 1000).toBeLessThanOrEqual(r.ts);
      const jtis = bySid.get(r.claims.sid) ?? new Set();
      jtis.add(r.claims.jti);
      bySid.set(r.claims.sid, jtis);
    }
    expect([...bySid.values()].some((jtis) => jtis.size > 1)).toBe(true);
    expect(requests.some((r) => r.grantType === 'refresh_token' && r.loginUsername === undefined)).toBe(true);
    expect(requests.some((r) => r.grantType === 'password' && r.status === 401)).toBe(true);
  });

  it('has travellers silent for the flight and then abroad, and VPN users who hop abroad at once', () => {
    const customers = bankCustomers({ seed: 5, customers: 600, start: START, geo: fakeGeo });
    const travellers = customers.filter((c) => c.trip !== undefined);
    expect(travellers.length).toBeGreaterThan(10);
    let landedAbroad = 0;
    for (const c of travellers) {
      const trip = c.trip as NonNullable<typeof c.trip>;
      const mine = requests.filter((r) => r.who?.sub === c.sub);
      expect(mine.filter((r) => r.ts >= trip.depart && r.ts < trip.land)).toEqual([]);
      // The flight takes at least its great-circle distance at 800 km/h.
      const km = haversineKm(fakeGeo.lookup(c.homeIp) as Place, (trip.nets[0] as { place: Place }).place);
      expect(trip.land - trip.depart).toBeGreaterThanOrEqual((km / 800) * 3_600_000);
      if (mine.some((r) => r.ts >= trip.land && fakeGeo.lookup(r.clientIp)?.country !== 'GB')) landedAbroad++;
    }
    expect(landedAbroad).toBeGreaterThan(3);
    const vpn = customers.filter((c) => c.vpnExit !== undefined);
    expect(vpn.length).toBeGreaterThan(5);
    for (const c of vpn) {
      const exits = requests.filter((r) => r.who?.sub === c.sub && fakeGeo.lookup(r.clientIp)?.country !== 'GB');
      expect(exits.every((r) => r.clientIp === c.vpnExit)).toBe(true);
    }
  });

  it('has business payroll batches: many payees paid within minutes, in office hours', () => {
    const bySid = new Map<string, SimRequest[]>();
    for (const r of requests) if (r.tx && r.claims) bySid.set(r.claims.sid, [...(bySid.get(r.claims.sid) ?? []), r]);
    const batches = [...bySid.values()].filter(
      (l) => l.length >= 8 && new Set(l.map((r) => r.tx?.payee_id)).size === l.length,
    );
    expect(batches.length).toBeGreaterThan(0);
    for (const b of batches) {
      expect((b[b.length - 1] as SimRequest).ts - (b[0] as SimRequest).ts).toBeLessThan(5 * 60_000 * 60);
      expect(new Date((b[0] as SimRequest).ts).getUTCHours()).toBeGreaterThanOrEqual(9);
    }
  });
});
