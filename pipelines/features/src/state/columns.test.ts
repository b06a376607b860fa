// The families that keep their state in columns (GeoJump's places, KnownDevices' clients, Velocity's counters and
// habits, TransactionDeviation's activity hours, IpActivity's routes, TokenConsistency's uses) against the object form
// they kept before (the code of 4f36925, restated here): the same features, and checkpoint records whose state is the
// same bytes — so a record reads the same to a vigil of either form — through random events, restores into a fresh
// family and keys dropped by their TTL. TokenConsistency's records hold hashes where its objects held the request's
// strings: its records are the reference's strings hashed, and a record of strings restores as one of hashes.
import { haversineKm } from '@vigil/core';
import type { AccessEvent } from '@vigil/events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FeatureExtractor } from '../extractor.js';
import { chosenHash, clientChosenHash, fnv1a } from '../features/chosen-hash.js';
import { clientHash, KnownDevices } from '../features/device.js';
import { Enumeration } from '../features/enumeration.js';
import type { FeatureFamily } from '../features/feature.js';
import { GeoJump, type Place } from '../features/geo.js';
import { IpActivity } from '../features/ip.js';
import { networkOf, type StringUse, TokenConsistency, type Use } from '../features/token.js';
import { type Activity, countActivity, TransactionDeviation } from '../features/transaction.js';
import { Velocity } from '../features/velocity.js';
import type { GeoLookup, GeoPoint } from '../geo/lookup.js';
import type { KeyedState } from './keyed-state.js';
import { type RecentIds, touchRecent } from './recent-ids.js';
import { encodeRecord, readRecord } from './record-header.js';
import { SlidingCounts } from './sliding-count.js';
import { decodeState, encodeState } from './state-codec.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 2, 9);

/** Seven countries (more than a place remembers), cities and a country-only fix; anything else unknown. */
const PLACES: Record<string, GeoPoint> = {
  '10.0.0.1': { country: 'GB', city: 'London', lat: 51.5072, lon: -0.1276 },
  '10.0.0.2': { country: 'GB', city: 'Manchester', lat: 53.4808, lon: -2.2426 },
  '10.0.0.3': { country: 'AU', city: 'Sydney', lat: -33.8688, lon: 151.2093 },
  '10.0.0.4': { country: 'US', city: '', lat: 37.751, lon: -97.822 },
  '10.0.0.5': { country: 'DE', city: 'Berlin', lat: 52.52, lon: 13.405 },
  '10.0.0.6': { country: 'FR', city: 'Paris', lat: 48.8566, lon: 2.3522 },
  '10.0.0.7': { country: 'JP', city: 'Tokyo', lat: 35.6762, lon: 139.6503 },
  '10.0.0.8': { country: 'BR', city: 'São Paulo', lat: -23.5505, lon: -46.6333 },
};
const geo: GeoLookup = { lookup: (ip) => PLACES[ip] };

interface Step {
  principal: number;
  /** Minutes after the previous event (a day and more: the habits' new day, the places' TTL). */
  gap: number;
  ip: number;
  payment: boolean;
  /** Restore the family from its checkpoint records before this event. */
  restore: boolean;
}
const steps = fc.array(
  fc.record({
    principal: fc.integer({ min: 0, max: 3 }),
    gap: fc.oneof(
      { weight: 12, arbitrary: fc.integer({ min: 0, max: 90 }) },
      { weight: 1, arbitrary: fc.constantFrom(24 * 60, 31 * 24 * 60) },
    ),
    ip: fc.integer({ min: 0, max: 8 }),
    payment: fc.boolean(),
    restore: fc.boolean(),
  }),
  { maxLength: 120 },
);

function event(s: Step, ts: number): AccessEvent {
  return {
    request_id: `r-${ts}`,
    ts,
    gateway: 'canonical',
    method: s.payment ? 'POST' : 'GET',
    path: '/v1/payments',
    route: '/v1/payments',
    // Seven objects, some of them numeric neighbours (sequential steps), and denied or rejected answers now and then.
    object_ids:
      s.ip === 0 ? [] : [s.ip % 3 === 0 ? `acct-${s.principal}` : String(1000 + ((s.ip * 5 + s.principal) % 7))],
    query_keys: [],
    status: s.payment ? 200 : ([200, 200, 403, 404, 422, 200, 405, 400] as const)[s.ip % 8],
    client_ip: `10.0.0.${s.ip}`,
    // Six clients (more than the four a principal's devices remember).
    user_agent: `agent-${(s.ip * 7 + s.principal) % 6}`,
    principal: { sub: `p${s.principal}` },
    ...(s.payment ? { tx: { amount: 120, currency: 'EUR', payee_id: 'payee-1' } } : {}),
  } as AccessEvent;
}

/** A fresh family of the same kind with the family's state, restored from its checkpoint records. */
function restored<F extends FeatureFamily>(family: F, make: () => F): F {
  const fresh = make();
  for (const [name, store] of Object.entries(family.stores)) {
    const into = fresh.stores[name] as KeyedState<unknown>;
    for (const key of [...(store as KeyedState<unknown>).keys()]) into.restoreEntry(key, store.encoded(key));
    into.finishRestore();
  }
  return fresh;
}

type Reference<F> = (e: AccessEvent, out: Float64Array, family: F) => object | undefined;

/**
 * Runs `make()`'s family over the steps beside a reference (the object form: it takes the event and the family's
 * features, checks what it computes itself, and returns each principal's state object); after every event the family's
 * record for the principal holds the reference's state, byte for byte. Twice: the family alone (its stores with their
 * own key index, restored store by store), and in an extractor with the other principal families (one index shared by
 * all their stores, a slot held by some of them only; restored from its changelog groups, as a task is).
 */
function holdsReference<F extends FeatureFamily>(
  make: () => F,
  store: string,
  reference: () => Reference<F>,
  history: Step[],
  keyOf?: (e: AccessEvent) => string,
) {
  for (const together of [false, true]) {
    const check = reference();
    let { family, x } = build(make, together);
    const log = new Map<string, Buffer>();
    let ts = T0;
    for (const s of history) {
      if (s.restore && !x) family = restored(family, make);
      if (s.restore && x) {
        drainInto(log, x);
        ({ family, x } = build(make, together));
        x?.restore([...log]);
        x?.trackChanges();
      }
      ts += s.gap * MIN;
      const e = event(s, ts);
      const principal = `sub:p${s.principal}`;
      let out = new Float64Array(family.features.names.length);
      if (x) out = x.extract(e).subarray(0, out.length);
      else family.update(e, out, 0, principal);
      const want = check(e, out, family);
      const record = (family.stores[store] as KeyedState<unknown>).encoded(keyOf?.(e) ?? principal);
      if (want === undefined) continue;
      expect(record).not.toBeNull();
      // As the codec gives each back (a SlidingCounts with buckets keeps no `latest` in its record).
      const read = readRecord(record as Buffer);
      expect(read.state).toEqual(decodeState(encodeState(want)));
      expect(encodeRecord(want, read.lastSeen, read.seq, read.returning, read.charged).equals(record as Buffer)).toBe(
        true,
      );
    }
  }
}

/** A compacted changelog: the latest record per key. */
function drainInto(log: Map<string, Buffer>, x: FeatureExtractor) {
  for (const [key, value] of x.drainChanges()) {
    log.delete(key);
    if (value !== null) log.set(key, value);
  }
}

/** The family, and alone or first in an extractor with the other principal families (its features first). */
function build<F extends FeatureFamily>(make: () => F, together: boolean): { family: F; x?: FeatureExtractor } {
  const family = make();
  if (!together) return { family };
  const others = [new Velocity(), new GeoJump(geo), new KnownDevices(), new TransactionDeviation(), new Enumeration()];
  const x = new FeatureExtractor([family, ...others.filter((f) => f.id !== family.id)]);
  x.trackChanges();
  return { family, x };
}

/** TTL as a KeyedState applies it: a key not seen for `ttl` of event time starts afresh. */
function fresh<S extends { last: number }>(states: Map<number, S>, principal: number, ts: number, ttl: number) {
  const s = states.get(principal);
  return s !== undefined && ts - s.last <= ttl ? s : undefined;
}

const newPlace = (ts: number): Place => ({ last: ts, country: '', lat: 0, lon: 0, fixAt: Number.NaN, countries: [] });

/** GeoJump's update of a place, as before its columns; returns the features. */
function visit(s: Place, here: GeoPoint, ts: number): number[] {
  s.last = Math.max(s.last, ts);
  const want = [1, 0, 0, 0, 0];
  if (s.country !== '' && s.country !== here.country) want[1] = 1;
  if (s.countries.length > 0 && !s.countries.includes(here.country)) want[4] = 1;
  // The four most recent countries, most recent last.
  s.countries = [...s.countries.filter((c) => c !== here.country), here.country].slice(-4);
  if (here.city !== '') {
    if (!Number.isNaN(s.fixAt)) {
      const km = Math.max(0, haversineKm(s, here) - (s.country === here.country ? 500 : 100));
      want[2] = Math.log1p(km);
      want[3] = Math.log1p(km / (Math.max(s.last - s.fixAt, MIN) / HOUR));
    }
    s.lat = here.lat;
    s.lon = here.lon;
    s.fixAt = s.last;
  }
  s.country = here.country;
  return want;
}

/** Enumeration's update of a principal, as before its columns; returns the features. */
function enumerate(
  s: { last: number; counts: SlidingCounts; seen: Map<string, number> | undefined } & RecentIds & {
      lastNumericId: number;
    },
  e: AccessEvent,
): number[] {
  const [total, novel, denied, sequential, rejected] = [0, 1, 2, 3, 4];
  const t = s.last;
  const c = s.counts;
  c.add(t, total);
  const id = e.object_ids[e.object_ids.length - 1];
  if (id !== undefined) {
    const seenAt = touchRecent(s, 'seen', id, t, 256);
    if (seenAt === undefined || t - seenAt > HOUR) c.add(t, novel);
    if (/^\d{1,15}$/.test(id)) {
      const step = Math.abs(Number(id) - s.lastNumericId);
      if (step > 0 && step <= 3) c.add(t, sequential);
      s.lastNumericId = Number(id);
    }
  }
  if (e.status === 403 || e.status === 404) c.add(t, denied);
  if (e.status === 400 || e.status === 405 || e.status === 422) c.add(t, rejected);
  const total10 = c.count(0, t, total);
  const novel1h = c.count(1, t, novel);
  return [
    Math.log1p(c.count(0, t, novel)),
    Math.log1p(novel1h),
    novel1h / c.count(1, t, total),
    c.count(0, t, denied) / total10,
    Math.log1p(c.count(0, t, sequential)),
    c.count(0, t, rejected) / total10,
    Math.log1p(c.count(1, t, denied)),
  ];
}

/** A use of strings in the hashed form the columns keep. */
const hashedUse = (s: StringUse): Use => ({
  last: s.last,
  client: clientChosenHash(s.userAgent, s.tls),
  network: fnv1a(s.network),
  networks: s.networks && new Map([...s.networks].map(([n, at]) => [fnv1a(n), at])),
});

/** A token's first use, in strings. */
const newUse = (e: AccessEvent): StringUse => ({
  last: e.ts,
  userAgent: e.user_agent ?? '',
  tls: e.tls_client_fingerprint ?? '',
  network: networkOf(e.client_ip),
  networks: undefined,
});

/** TokenConsistency's update as it was, on the request's strings; returns the features. */
function useStrings(s: StringUse, e: AccessEvent): number[] {
  const { userAgent: ua, tls, network } = newUse(e);
  const previous = s.last;
  s.last = Math.max(s.last, e.ts);
  const t = s.last;
  const recent = t - previous <= 10 * MIN;
  const agentChanged = recent && (s.userAgent !== ua || s.tls !== tls) ? 1 : 0;
  const networkChanged = recent && s.network !== network ? 1 : 0;
  if (s.networks === undefined && s.network !== network) s.networks = new Map([[s.network, previous]]);
  s.userAgent = ua;
  s.tls = tls;
  s.network = network;
  if (s.networks) {
    s.networks.delete(network);
    s.networks.set(network, t);
    for (const [n, at] of s.networks) {
      if (t - at > HOUR || s.networks.size > 16) s.networks.delete(n);
      else break;
    }
  }
  return [agentChanged, networkChanged, Math.log1p(s.networks?.size ?? 1)];
}

/** The step's event with a token (two a principal), three networks and a TLS fingerprint now and then. */
function withToken(e: AccessEvent): AccessEvent {
  const ip = Number(e.client_ip.slice(e.client_ip.lastIndexOf('.') + 1));
  return {
    ...e,
    client_ip: `10.${ip % 3}.0.${ip}`,
    ...(ip % 4 === 1 ? { tls_client_fingerprint: 'ja3-a' } : {}),
    principal: { ...e.principal, token_fingerprint: `tok-${e.principal.sub}-${ip % 2}` },
  } as AccessEvent;
}

/** TokenConsistency on withToken's events: the steps' own carry no token. */
class OnTokens implements FeatureFamily {
  readonly inner = new TokenConsistency();
  readonly id = this.inner.id;
  readonly features = this.inner.features;
  readonly role = this.inner.role;
  readonly params = this.inner.params;
  readonly stores = this.inner.stores;
  update(e: AccessEvent, out: Float64Array, offset: number): void {
    this.inner.update(withToken(e), out, offset);
  }
}

describe('state kept in columns', () => {
  it("GeoJump's places: the features and records of the object form (a place per principal)", () => {
    fc.assert(
      fc.property(steps, (history) => {
        holdsReference(
          () => new GeoJump(geo),
          'principals',
          () => {
            const places = new Map<number, Place>();
            return (e, out) => {
              const principal = Number(e.principal?.sub?.slice(1));
              const here = geo.lookup(e.client_ip);
              // Unplaced: the store is not touched (the record may be gone meanwhile, expired by another key's event).
              if (!here) return undefined;
              const s = fresh(places, principal, e.ts, 30 * DAY) ?? newPlace(e.ts);
              places.set(principal, s);
              expect([...out]).toEqual(visit(s, here, e.ts));
              return s;
            };
          },
          history,
        );
      }),
      { numRuns: 300 },
    );
  });

  it("KnownDevices' clients: the features and records of the object form (the last four clients' hashes)", () => {
    fc.assert(
      fc.property(steps, (history) => {
        holdsReference(
          () => new KnownDevices(),
          'principals',
          () => {
            const devices = new Map<number, { last: number; clients: number[] }>();
            return (e, out) => {
              const principal = Number(e.principal?.sub?.slice(1));
              const s = fresh(devices, principal, e.ts, 30 * DAY) ?? { last: e.ts, clients: [] };
              devices.set(principal, s);
              s.last = Math.max(s.last, e.ts);
              const client = clientChosenHash(e.user_agent ?? '', '');
              expect(out[0]).toBe(s.clients.includes(client) ? 1 : 0);
              s.clients = [...s.clients.filter((c) => c !== client), client].slice(-4);
              return { known: s.clients };
            };
          },
          history,
        );
      }),
      { numRuns: 300 },
    );
  });

  it("Velocity's counters: the features and records of the object form (a SlidingCounts per principal)", () => {
    fc.assert(
      fc.property(steps, (history) => {
        holdsReference(
          () => new Velocity(),
          'principals',
          () => {
            const counters = new Map<number, { last: number; counts: SlidingCounts; minute: number }>();
            return (e, out) => {
              const principal = Number(e.principal?.sub?.slice(1));
              const p = fresh(counters, principal, e.ts, DAY) ?? {
                last: e.ts,
                counts: new SlidingCounts([10_000, MIN, 10 * MIN, HOUR], 2),
                minute: -1,
              };
              counters.set(principal, p);
              p.last = Math.max(p.last, e.ts);
              const t = p.last;
              const hourBefore = p.counts.count(3, t) - p.counts.count(1, t);
              p.counts.add(t);
              if (Math.floor(t / MIN) !== p.minute) {
                p.counts.add(t, 1);
                p.minute = Math.floor(t / MIN);
              }
              const lastMinute = p.counts.count(1, t);
              const want = [
                Math.log1p(p.counts.count(0, t)),
                Math.log1p(lastMinute),
                Math.log1p(p.counts.count(2, t)),
                Math.log1p(p.counts.count(3, t)),
                Math.log2(lastMinute / ((hourBefore + 2 * 10) / (59 + 10))),
                p.counts.count(3, t, 1),
              ];
              expect([...out.subarray(0, 6)]).toEqual(want);
              return p;
            };
          },
          history,
        );
      }),
      { numRuns: 300 },
    );
  });

  it("IpActivity's routes: the features and records of the object form (a SlidingCounts per address and route)", () => {
    fc.assert(
      fc.property(steps, (history) => {
        holdsReference(
          () => new IpActivity(),
          'routes',
          () => {
            const routes = new Map<number, { last: number; counts: SlidingCounts }>();
            return (e, out) => {
              const ip = Number(e.client_ip.split('.')[3]);
              const r = fresh(routes, ip, e.ts, HOUR) ?? { last: e.ts, counts: new SlidingCounts([MIN]) };
              routes.set(ip, r);
              r.last = Math.max(r.last, e.ts);
              r.counts.add(r.last);
              expect(out[0]).toBe(Math.log1p(r.counts.count(0, r.last)));
              return r;
            };
          },
          history,
          (e) => `${e.client_ip}|${e.route}`,
        );
      }),
      { numRuns: 300 },
    );
  });

  it("Enumeration's principals: the features of the object form, the records of its ids' hashes (counts and the ids addressed)", () => {
    fc.assert(
      fc.property(steps, (history) => {
        holdsReference(
          () => new Enumeration(),
          'principals',
          () => {
            type Enum = {
              last: number;
              counts: SlidingCounts;
              seen: Map<string, number> | undefined;
              recentId: string | undefined;
              recentAt: number;
              lastNumericId: number;
            };
            const states = new Map<number, Enum>();
            return (e, out) => {
              const principal = Number(e.principal?.sub?.slice(1));
              const s = fresh(states, principal, e.ts, DAY) ?? {
                last: e.ts,
                counts: new SlidingCounts([10 * MIN, HOUR], 5),
                seen: undefined,
                recentId: undefined,
                recentAt: 0,
                lastNumericId: Number.NaN,
              };
              states.set(principal, s);
              s.last = Math.max(s.last, e.ts);
              expect([...out]).toEqual(enumerate(s, e));
              // Its ids as the columns keep them: hashed.
              return {
                ...s,
                seen: s.seen && new Map([...s.seen].map(([id, at]) => [chosenHash(id), at])),
                recentId: s.recentId === undefined ? undefined : chosenHash(s.recentId),
              };
            };
          },
          history,
        );
      }),
      { numRuns: 300 },
    );
  });

  it("Velocity's habits: the records of the object form (yesterday's busiest minute, decayed)", () => {
    fc.assert(
      fc.property(steps, (history) => {
        holdsReference(
          () => new Velocity(),
          'habits',
          () => {
            const habits = new Map<number, { last: number; day: number; today: number; peak: number }>();
            return (e, out, family) => {
              const principal = Number(e.principal?.sub?.slice(1));
              const h = fresh(habits, principal, e.ts, 35 * DAY) ?? {
                last: e.ts,
                day: Math.floor(e.ts / DAY),
                today: 0,
                peak: 0,
              };
              habits.set(principal, h);
              h.last = Math.max(h.last, e.ts);
              const day = Math.floor(h.last / DAY);
              if (day > h.day) {
                h.peak = Math.max(h.peak, h.today) * 0.98 ** (day - h.day);
                h.today = 0;
                h.day = day;
              }
              const names = family.features.names;
              expect(out[names.indexOf('req_1m_own_peak_log')]).toBe(Math.log1p(h.peak));
              const lastMinute = Math.round(Math.expm1(out[names.indexOf('req_1m_log')] as number));
              if (lastMinute > h.today) h.today = lastMinute;
              return h;
            };
          },
          history,
        );
      }),
      { numRuns: 300 },
    );
  });

  it("TransactionDeviation's activity hours: the records of the object form (one bin, then 24)", () => {
    fc.assert(
      fc.property(steps, (history) => {
        holdsReference(
          () => new TransactionDeviation(),
          'activity',
          () => {
            const activity = new Map<number, Activity>();
            return (e, out, family) => {
              const principal = Number(e.principal?.sub?.slice(1));
              const act = fresh(activity, principal, e.ts, 400 * DAY) ?? {
                last: e.ts,
                first: e.ts,
                n: 0,
                scale: 1,
                hours: undefined,
                hour: -1,
                bin: 0,
              };
              activity.set(principal, act);
              act.last = Math.max(act.last, e.ts);
              countActivity(act, Math.floor(act.last / HOUR) % 24, 0.995, e.tx !== undefined);
              if (e.tx) {
                const rhythm = out[family.features.names.indexOf('tx_rhythm_known')];
                expect(rhythm).toBe(act.last - act.first >= DAY ? 1 : 0);
              }
              return act;
            };
          },
          history,
        );
      }),
      { numRuns: 300 },
    );
  });

  it("TokenConsistency's uses: the features of the strings it kept before, the records of their hashes", () => {
    fc.assert(
      fc.property(steps, (history) => {
        holdsReference(
          () => new OnTokens(),
          'tokens',
          () => {
            const uses = new Map<string, StringUse>();
            return (plain, out) => {
              const e = withToken(plain);
              const key = e.principal.token_fingerprint as string;
              const kept = uses.get(key);
              const s = kept !== undefined && e.ts - kept.last <= DAY ? kept : newUse(e);
              uses.set(key, s);
              expect([...out]).toEqual(useStrings(s, e));
              return hashedUse(s);
            };
          },
          history,
          (e) => withToken(e).principal.token_fingerprint as string,
        );
      }),
      { numRuns: 300 },
    );
  });

  it("restores KnownDevices' records of 32-bit hashes (before the chosen hashes): each client known once by it", () => {
    const devices = new KnownDevices();
    const store = devices.stores.principals as KeyedState<unknown>;
    const old = ['agent-1', 'agent-2', 'agent-3'].map((ua) => clientHash(ua, ''));
    store.restoreEntry('sub:p0', encodeState({ l: T0, q: 1, s: { clients: old } }));
    store.finishRestore();
    const row = new Float64Array(1);
    const use = (ua: string, ts: number) => {
      devices.update(
        { ...event({ principal: 0, gap: 0, ip: 1, payment: false, restore: false }, ts), user_agent: ua },
        row,
        0,
        'sub:p0',
      );
      return row[0];
    };
    // A client the record holds is known, and its new hash takes the old one's place (last: it is the most recent).
    expect(use('agent-2', T0 + MIN)).toBe(1);
    const record = () => readRecord<{ known: number[] }>(store.encoded('sub:p0') as Buffer).state.known;
    expect(record()).toEqual([-(old[0] as number) - 1, -(old[2] as number) - 1, clientChosenHash('agent-2', '')]);
    expect(use('agent-2', T0 + 2 * MIN)).toBe(1);
    // A client it never held is not known; each old client is known once by its old hash.
    expect(use('agent-9', T0 + 3 * MIN)).toBe(0);
    expect(use('agent-1', T0 + 4 * MIN)).toBe(1);
    expect(record()).toEqual([
      -(old[2] as number) - 1,
      clientChosenHash('agent-2', ''),
      clientChosenHash('agent-9', ''),
      clientChosenHash('agent-1', ''),
    ]);
  });

  it("restores Enumeration's records of the ids themselves (before the hashes) as their hashes", () => {
    // The third: a record of hashes an older vigil added ids to (a rollback, then this version again).
    for (const [ids, hashed] of [
      [['acct-7'], 0],
      [['acct-7', 'acct-8'], 0],
      [['acct-7', 'acct-8'], 1],
    ] as const) {
      const family = new Enumeration();
      const store = family.stores.principals as KeyedState<unknown>;
      const seen = new Map<string | number, number>(ids.map((id, i) => [i < hashed ? chosenHash(id) : id, T0 + i]));
      const before = {
        last: T0 + 1,
        counts: new SlidingCounts([10 * MIN, HOUR], 5),
        ...(ids.length === 1
          ? { seen: undefined, recentId: 'acct-7', recentAt: T0 }
          : { seen, recentId: undefined, recentAt: 0 }),
        lastNumericId: Number.NaN,
      };
      store.restoreEntry('sub:p0', encodeState({ l: T0 + 1, q: 1, s: before }));
      store.finishRestore();
      const row = new Float64Array(family.features.names.length);
      const distinct = family.features.names.indexOf('distinct_objects_10m_log');
      const visit = (id: string, ts: number) =>
        family.update(
          { ...event({ principal: 0, gap: 0, ip: 1, payment: false, restore: false }, ts), object_ids: [id] },
          row,
          0,
          'sub:p0',
        );
      // An id the record holds is not new (the counts restored hold no novel add: nothing is counted); another is.
      visit('acct-7', T0 + MIN);
      expect(row[distinct]).toBe(0);
      visit('acct-9', T0 + 2 * MIN);
      expect(row[distinct]).toBe(Math.log1p(1));
      const record = readRecord<{ seen: Map<number, number> }>(store.encoded('sub:p0') as Buffer).state;
      expect([...record.seen.keys()].sort()).toEqual([...new Set([...ids, 'acct-9'])].map(chosenHash).sort());
    }
  });

  it("restores TokenConsistency's records of the request's strings (before the hashes) as their hashes", () => {
    const tokens = new TokenConsistency();
    const store = tokens.stores.tokens as KeyedState<unknown>;
    const before: StringUse = {
      last: T0,
      userAgent: 'app/1',
      tls: 'ja3-a',
      network: '81.2.69',
      networks: new Map([
        ['203.0.113', T0 - MIN],
        ['81.2.69', T0],
      ]),
    };
    store.restoreEntry('tok-1', encodeState({ l: T0, q: 1, s: before }));
    store.finishRestore();
    const row = new Float64Array(tokens.features.names.length);
    const use = (ua: string, ip: string, ts: number) =>
      tokens.update(
        {
          ...event({ principal: 1, gap: 0, ip: 0, payment: false, restore: false }, ts),
          user_agent: ua,
          client_ip: ip,
          tls_client_fingerprint: 'ja3-a',
          principal: { sub: 'p1', token_fingerprint: 'tok-1' },
        } as AccessEvent,
        row,
        0,
      );
    // The same client and network as the record's: nothing changed; its two networks are still counted.
    use('app/1', '81.2.69.7', T0 + MIN);
    expect([...row]).toEqual([0, 0, Math.log1p(2)]);
    expect(readRecord<Use>(store.encoded('tok-1') as Buffer).state).toEqual(
      hashedUse({
        ...before,
        last: T0 + MIN,
        networks: new Map([
          ['203.0.113', T0 - MIN],
          ['81.2.69', T0 + MIN],
        ]),
      }),
    );
    use('curl/8', '198.51.100.4', T0 + 2 * MIN);
    expect([...row]).toEqual([1, 1, Math.log1p(3)]);
  });

  it('reads the object form written before the columns, earlier versions of it included', () => {
    // A place that remembered more countries than four (a vigil with a larger bound) keeps its four most recent.
    const places = new GeoJump(geo);
    const place = { last: T0, country: 'FR', lat: 1, lon: 2, fixAt: T0, countries: ['US', 'AU', 'GB', 'DE', 'FR'] };
    places.stores.principals.restoreEntry('sub:p0', encodeState({ l: T0, q: 1, s: place }));
    places.stores.principals.finishRestore();
    const record = places.stores.principals.encoded('sub:p0') as Buffer;
    expect(readRecord(record).state).toEqual({ ...place, countries: ['AU', 'GB', 'DE', 'FR'] });
    const out = new Float64Array(places.features.names.length);
    places.update(event({ principal: 0, gap: 0, ip: 4, payment: false, restore: false }, T0 + MIN), out, 0, 'sub:p0');
    // The US was the oldest of five: forgotten, so new again.
    expect(out[places.features.names.indexOf('geo_country_new')]).toBe(1);

    // Activity hours from before the one-bin form (24 bins) and before `first`: seen from the next request.
    const tx = new TransactionDeviation();
    const hours = new Float32Array(24);
    hours[9] = 3;
    tx.stores.activity.restoreEntry('sub:p0', encodeState({ l: T0, q: 1, s: { last: T0, n: 3, scale: 1, hours } }));
    tx.stores.activity.finishRestore();
    // Checkpointed again before any use (another store of the principal changed): still without `first`, so that a
    // vigil of either form sets it at the next request.
    const untouched = readRecord<Activity>(tx.stores.activity.encoded('sub:p0') as Buffer).state;
    expect('first' in untouched).toBe(false);
    expect(untouched).toMatchObject({ last: T0, n: 3, scale: 1, hour: -1, bin: 0 });
    const later = T0 + 2 * DAY;
    const pay = event({ principal: 0, gap: 0, ip: 1, payment: true, restore: false }, later);
    const row = new Float64Array(tx.features.names.length);
    tx.update(pay, row, 0, 'sub:p0');
    expect(row[tx.features.names.indexOf('tx_rhythm_known')]).toBe(0);
    const act = readRecord<Activity>(tx.stores.activity.encoded('sub:p0') as Buffer).state;
    expect(act).toMatchObject({ last: later, first: later, n: 4, hour: -1 });
    expect(act.hours?.[9]).toBeGreaterThan(0);
  });

  it('charges what a state in columns took in the event at once: counts past their inline adds, the id addressed', () => {
    // One request of an enumeration wave: its object id and a 404 are three adds, past the two held inline; beside a
    // request with neither (one add, inline), the other key's charge the same.
    const family = new Enumeration();
    const store = family.stores.principals as KeyedState<unknown>;
    const row = new Float64Array(family.features.names.length);
    const before = store.bytes;
    family.update(event({ principal: 1, gap: 0, ip: 0, payment: false, restore: false }, T0), row, 0, 'sub:p1');
    const plain = store.bytes - before;
    const probe = event({ principal: 0, gap: 0, ip: 1, payment: false, restore: false }, T0);
    family.update({ ...probe, status: 404 } as AccessEvent, row, 0, 'sub:p0');
    // A SlidingCounts of its own (~100 bytes and its adds) and the id's string, charged before the key is seen again.
    expect(store.bytes - before - 2 * plain).toBeGreaterThan(150);
  });

  it('hands out slots, not states, from a store with columns', () => {
    const velocity = new Velocity();
    const habits = velocity.stores.habits as KeyedState<unknown>;
    expect(() => habits.get('sub:p0', T0, () => ({}))).toThrow(/slots/);
    const objects = new TransactionDeviation().stores.accounts as KeyedState<unknown>;
    expect(() => objects.slot('sub:p0', T0, () => ({}) as never)).toThrow(/columns/);
  });
});
