// The demo bank's customers as a detector meets them in production, deterministic from the seed:
// - homes in real cities of the home country (broadband lines GeoIP places there) and phones on three mobile
//   carriers whose shared (CGNAT) addresses geolocate all over the country;
// - sessions that follow the local day (few at night, peaks at breakfast, lunch and evening): a login (the mobile app
//   renews its session with a refresh grant; a typo now and then fails the first password), then a few calls —
//   account reads, the first pages of the transaction list, payees, and sometimes a payment to a habitual payee of a
//   habitual amount (now and then a new payee, rarely a large one-off) — with a token refresh when a session outlives
//   its token (new jti, same session id);
// - travellers who leave, are silent for the flight, then bank from their destination (hotel Wi-Fi abroad, or their
//   phone roaming on the home carrier);
// - VPN users whose sessions come, half of them, from a datacenter exit abroad;
// - business customers in office hours, each paying its payroll in one batch some time during the simulated days.
// The stream is infinite and in time order; callers take what they need.

import { haversineKm, MinHeap } from '@vigil/core';
import { customerIds } from './customers.js';
import { DESTINATIONS, findPlaces, host, type Locator, type Net, type Places, VPN_COUNTRIES } from './places.js';
import { type Rng, seeded } from './random.js';
import { type DemoClaims, issueToken } from './tokens.js';
import type { SimRequest } from './traffic.js';

export interface BankOptions {
  seed: number;
  customers: number;
  /** Epoch ms of the first moment simulated. */
  start: number;
  /** Places client addresses (vigil's bundled GeoIP database). */
  geo: Locator;
  /** Mean sessions per retail customer per day. */
  sessionsPerDay?: number;
  homeCountry?: string;
  /** The home country's offset from UTC, hours: the daily rhythm follows local time. */
  utcOffsetHours?: number;
  /** The population's shape (defaults: DEFAULT_POPULATION, the bank the default bundle was trained on). */
  population?: Partial<PopulationShape>;
}

/**
 * What differs between one bank's customers and another's: how many are businesses and how they pay their staff, how
 * many bank from a phone on a carrier network (whose addresses geolocate all over the country), travel or use a VPN,
 * what they pay in which currency. `vigil`'s constants must hold on all of them (npm run bench:quality --populations).
 */
export interface PopulationShape {
  businessShare: number;
  /** Employees per business (payees paid in a payroll run), inclusive range. */
  payrollSize: [number, number];
  /** Milliseconds between a payroll run's payments, inclusive range. */
  payrollGapMs: [number, number];
  /** Days between a business's payroll runs (undefined: one run in the first two days). */
  payrollEveryDays: number | undefined;
  /** Share of app sessions that leave through the carrier's network (the rest: home broadband). */
  carrierUse: number;
  /** Networks in each carrier's address pool (more: more cities per customer). */
  carrierNetworks: number;
  travelShare: number;
  vpnShare: number;
  currency: string;
  /** Payment amounts relative to the default bank's. */
  amountScale: number;
  /**
   * Whether businesses bank through an app of their own (a client_id of their own, a cohort vigil can fit apart) or
   * through the retail customers' app, as at a bank whose logs reveal no cohort.
   */
  businessApp: boolean;
}

export const DEFAULT_POPULATION: PopulationShape = {
  businessShare: 0.03,
  payrollSize: [8, 60],
  payrollGapMs: [800, 4000],
  payrollEveryDays: undefined,
  carrierUse: 0.75,
  carrierNetworks: 40,
  travelShare: 0.04,
  vpnShare: 0.03,
  currency: 'GBP',
  amountScale: 1,
  businessApp: true,
};

const shapeOf = (o: BankOptions): PopulationShape => ({ ...DEFAULT_POPULATION, ...o.population });

/** Requests per customer per day the bank simulator produces on average (measured over two days of 5,000 customers). */
export const BANK_REQUESTS_PER_CUSTOMER_DAY = 25;

/** Roughly how long a bank-simulator log of `requests` requests from `customers` customers lasts, ms. */
export const bankDurationMs = (requests: number, customers: number) =>
  (requests / (customers * BANK_REQUESTS_PER_CUSTOMER_DAY)) * 86_400_000;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// Relative activity per local hour: retail banking apps are busiest around 8, 12 and 19–20 h, quiet from 1 to 5 h.
const RETAIL_DAY = [
  0.2, 0.1, 0.06, 0.05, 0.06, 0.15, 0.4, 0.8, 1.1, 1.0, 0.9, 0.95, 1.15, 1.05, 0.9, 0.85, 0.9, 1.0, 1.2, 1.25, 1.15,
  0.95, 0.65, 0.35,
];
const OFFICE_DAY = [0, 0, 0, 0, 0, 0, 0, 0.3, 1, 1.2, 1.2, 1.1, 0.7, 1, 1.1, 1.1, 1, 0.6, 0.2, 0, 0, 0, 0, 0];

const APP_AGENTS = [
  'VigilBank/5.2 (iPhone; iOS 18.1)',
  'VigilBank/5.2 (iPhone; iOS 17.6)',
  'VigilBank/5.1 (Android 15)',
  'VigilBank/5.2 (Android 14)',
];
const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
];

interface Payee {
  id: string;
  amount: number;
}

export interface Customer {
  sub: string;
  username: string;
  accounts: string[];
  business: boolean;
  clientId: string;
  homeIp: string;
  /** The carrier's address pool when the customer has the app. */
  carrier: Net[] | undefined;
  appAgent: string | undefined;
  browser: string | undefined;
  payees: Payee[];
  habitual: number;
  /** Sessions per day at an average hour. */
  rate: number;
  vpnExit: string | undefined;
  trip: { depart: number; land: number; nets: Net[] } | undefined;
  payrollAt: number | undefined;
  token: string | undefined;
  claims: DemoClaims | undefined;
}

type Pending = { ts: number; seq: number; request?: SimRequest; session?: Customer };

/** The customers of a simulation: who they are, where they live and travel (its own stream of randomness). */
export function bankCustomers(options: BankOptions): Customer[] {
  const home = options.homeCountry ?? 'GB';
  const places = findPlaces(
    options.geo,
    seeded(options.seed ^ 0x91ace5),
    home,
    Math.max(60, Math.ceil(options.customers / 25)),
  );
  // Three carriers, each a pool of CGNAT networks spread over the country.
  const shape = shapeOf(options);
  const carriers = [0, 1, 2].map((k) => places.home.filter((_, i) => i % 3 === k).slice(0, shape.carrierNetworks));
  const rng = seeded(options.seed ^ 0xc057);
  return Array.from({ length: options.customers }, (_, i) => makeCustomer(i, rng, options, shape, places, carriers));
}

export function* generateBank(options: BankOptions): Generator<SimRequest> {
  const rng = seeded(options.seed);
  const offset = (options.utcOffsetHours ?? 0) * HOUR;
  const customers = bankCustomers(options);
  const shape = shapeOf(options);

  // Equal times come out in the order they were scheduled, so runs repeat exactly.
  let seq = 0;
  const heap = new MinHeap<Pending>((a, b) => a.ts < b.ts || (a.ts === b.ts && a.seq < b.seq));
  const agenda = { push: (p: Omit<Pending, 'seq'>) => heap.push({ ...p, seq: seq++ }), pop: () => heap.pop() };
  const peakRetail = Math.max(...RETAIL_DAY);
  const meanRetail = RETAIL_DAY.reduce((a, b) => a + b, 0) / 24;
  const peakOffice = Math.max(...OFFICE_DAY);
  const meanOffice = OFFICE_DAY.reduce((a, b) => a + b, 0) / 24;
  /** The next session start after `t`: a Poisson process thinned by the hour's share of the day. */
  const nextSession = (c: Customer, t: number) => {
    const [profile, peak, mean] = c.business
      ? [OFFICE_DAY, peakOffice, meanOffice]
      : [RETAIL_DAY, peakRetail, meanRetail];
    const maxRate = (c.rate * peak) / mean / DAY;
    for (;;) {
      t += Math.max(1000, Math.round(-Math.log(1 - rng.next()) / maxRate));
      const hour = Math.floor((((t + offset) % DAY) + DAY) / HOUR) % 24;
      if (rng.next() * peak < (profile[hour] as number)) return t;
    }
  };
  for (const c of customers) {
    agenda.push({ ts: nextSession(c, options.start - Math.round(rng.next() * HOUR)), session: c });
    if (c.payrollAt !== undefined) agenda.push({ ts: c.payrollAt, session: c });
  }
  let n = 0;
  const id = () => `${rng.hex(8)}-${(n++).toString(16)}`;
  for (;;) {
    const p = agenda.pop() as Pending;
    if (p.request) {
      yield p.request;
      continue;
    }
    const c = p.session as Customer;
    const payroll = c.payrollAt === p.ts;
    const requests = payroll ? payrollSession(c, p.ts, rng, id, shape) : session(c, p.ts, rng, id, shape);
    for (const r of requests) if (r.ts >= options.start) agenda.push({ ts: r.ts, request: r });
    if (payroll && shape.payrollEveryDays !== undefined) {
      c.payrollAt = p.ts + shape.payrollEveryDays * DAY;
      agenda.push({ ts: c.payrollAt, session: c });
    }
    if (!payroll) {
      const end = requests.length > 0 ? (requests[requests.length - 1] as SimRequest).ts : p.ts;
      agenda.push({ ts: nextSession(c, end + 60_000), session: c });
    }
  }
}

function makeCustomer(
  i: number,
  rng: Rng,
  o: BankOptions,
  shape: PopulationShape,
  places: Places,
  carriers: Net[][],
): Customer {
  const business = rng.chance(shape.businessShare);
  const hasApp = business ? rng.chance(0.3) : rng.chance(0.8);
  const hasBrowser = !hasApp || rng.chance(business ? 1 : 0.35);
  const travels = !business && rng.chance(shape.travelShare);
  const vpn = !business && !travels && rng.chance(shape.vpnShare);
  const homeNet = rng.pick(places.home);
  const habitual = Math.round((15 + 300 * rng.next() ** 2) * shape.amountScale);
  const payees = Array.from(
    { length: business ? rng.int(shape.payrollSize[0], shape.payrollSize[1]) : rng.int(2, 6) },
    () => ({
      id: `payee-${rng.hex(8)}`,
      amount: business
        ? Math.round((1500 + rng.int(0, 3000)) * shape.amountScale)
        : Math.round(habitual * (0.5 + rng.next())),
    }),
  );
  let trip: Customer['trip'];
  if (travels) {
    const country = rng.pick(DESTINATIONS);
    const nets = (places.abroad.get(country) as Net[]).slice(0, 3);
    const depart = o.start + rng.int(1, 40) * HOUR + rng.int(0, 59) * 60_000;
    // Flight time at 800 km/h plus an hour at the airports: nobody banks from the plane.
    const flight = (haversineKm(homeNet.place, (nets[0] as Net).place) / 800 + 1) * HOUR;
    trip = { depart, land: depart + Math.round(flight), nets };
  }
  // Lognormal-ish activity: most customers open the app a few times a day, a few many times.
  const rate = (o.sessionsPerDay ?? 3) * Math.exp(rng.next() * 1.6 - 0.8) * (business ? 2 : 1);
  const { sub, username, account, savings } = customerIds(i);
  return {
    sub,
    username,
    accounts: rng.chance(0.4) ? [account, savings] : [account],
    business,
    clientId: business && shape.businessApp ? 'vigil-bank-business' : 'vigil-bank-app',
    homeIp: host(homeNet, rng),
    carrier: hasApp ? rng.pick(carriers) : undefined,
    appAgent: hasApp ? rng.pick(APP_AGENTS) : undefined,
    browser: hasBrowser ? rng.pick(BROWSERS) : undefined,
    payees,
    habitual,
    rate,
    vpnExit: vpn ? host(rng.pick(places.abroad.get(rng.pick(VPN_COUNTRIES)) as Net[]), rng) : undefined,
    trip,
    payrollAt: business ? o.start + rng.int(0, 1) * DAY + rng.int(9, 15) * HOUR + rng.int(0, 3599) * 1000 : undefined,
    token: undefined,
    claims: undefined,
  };
}

/** Where and on what the customer banks at `t`; undefined while in the air. */
function whereabouts(
  c: Customer,
  t: number,
  rng: Rng,
  shape: PopulationShape,
): { ip: string; agent: string; app: boolean } | undefined {
  if (c.trip && t >= c.trip.depart && t < c.trip.land) return undefined;
  const app = c.appAgent !== undefined && (c.browser === undefined || rng.chance(0.7));
  const agent = (app ? c.appAgent : c.browser) as string;
  if (c.trip && t >= c.trip.land) {
    // Abroad: hotel Wi-Fi, or the phone roaming (its traffic leaves through the home carrier, so it geolocates home).
    const roaming = app && c.carrier && rng.chance(0.4);
    return { ip: roaming ? host(rng.pick(c.carrier as Net[]), rng) : host(rng.pick(c.trip.nets), rng), agent, app };
  }
  if (app && c.carrier && rng.chance(shape.carrierUse)) return { ip: host(rng.pick(c.carrier), rng), agent, app };
  if (c.vpnExit && rng.chance(0.5)) return { ip: c.vpnExit, agent, app };
  return { ip: c.homeIp, agent, app };
}

/** The fields every request of one session shares or draws alike: id, address, agent, latency, size, whose it is. */
function stamper(c: Customer, ip: string, agent: string, rng: Rng, id: () => string, minBytesIn: number) {
  const who = { sub: c.sub, username: c.username, account: c.accounts[0] as string };
  return (ts: number) => ({
    ts,
    requestId: id(),
    clientIp: ip,
    userAgent: agent,
    latencyMs: rng.int(8, 140),
    bytesIn: rng.int(minBytesIn, 600),
    who,
  });
}

function session(c: Customer, t: number, rng: Rng, id: () => string, shape: PopulationShape): SimRequest[] {
  const at = whereabouts(c, t, rng, shape);
  if (!at) return [];
  const out: SimRequest[] = [];
  const base = stamper(c, at.ip, at.agent, rng, id, 80);
  const login = (ts: number, renew: boolean) => {
    if (!renew && rng.chance(0.03)) {
      // A mistyped password first.
      out.push({
        ...base(ts),
        method: 'POST',
        uri: '/oauth/token',
        status: 401,
        bytesOut: 120,
        grantType: 'password',
        loginUsername: c.username,
      });
      ts += rng.int(4000, 15000);
    }
    const sid = renew ? c.claims?.sid : undefined;
    const fresh = issueToken(rng, c.sub, ts, { clientId: c.clientId, sid, ttlS: 900 });
    c.token = fresh.token;
    c.claims = fresh.claims;
    out.push(
      renew
        ? { ...base(ts), method: 'POST', uri: '/oauth/token', status: 200, bytesOut: 1100, grantType: 'refresh_token' }
        : {
            ...base(ts),
            method: 'POST',
            uri: '/oauth/token',
            status: 200,
            bytesOut: 1100,
            grantType: 'password',
            loginUsername: c.username,
          },
    );
    return ts;
  };
  // The app keeps a refresh token between sessions; the browser logs in with the password.
  let ts = login(t, at.app && c.claims !== undefined && rng.chance(0.85));
  const call = (
    r: Omit<SimRequest, 'ts' | 'requestId' | 'clientIp' | 'userAgent' | 'latencyMs' | 'bytesIn' | 'who'>,
  ) => {
    ts += rng.int(1500, 25000);
    if (ts / 1000 > (c.claims as DemoClaims).exp - 30) ts = login(ts, true) + rng.int(300, 2000);
    out.push({ ...base(ts), token: c.token, claims: c.claims, ...r });
  };
  const account = () => rng.pick(c.accounts);
  call({ method: 'GET', uri: `/v1/accounts/${account()}`, status: 200, bytesOut: rng.int(300, 800) });
  const actions = 1 + Math.min(18, Math.floor(-Math.log(1 - rng.next()) * 4));
  for (let k = 0; k < actions; k++) {
    const roll = rng.next();
    if (roll < 0.45) {
      const acct = account();
      call({
        method: 'GET',
        uri: `/v1/accounts/${acct}/transactions?page=1`,
        status: 200,
        bytesOut: rng.int(2000, 9000),
      });
      for (let page = 2; page <= 4 && rng.chance(0.3); page++) {
        call({
          method: 'GET',
          uri: `/v1/accounts/${acct}/transactions?page=${page}`,
          status: 200,
          bytesOut: rng.int(2000, 9000),
        });
      }
    } else if (roll < 0.7) {
      // Now and then a stale link: an account closed or a card replaced since the app cached it.
      call({
        method: 'GET',
        uri: `/v1/accounts/${account()}`,
        status: rng.chance(0.005) ? 404 : 200,
        bytesOut: rng.int(300, 800),
      });
    } else if (roll < 0.8) {
      call({ method: 'GET', uri: '/v1/payees', status: 200, bytesOut: rng.int(400, 2500) });
    } else if (roll < (c.business ? 0.95 : 0.86)) {
      call({ method: 'POST', uri: '/v1/payments', status: 201, bytesOut: 250, tx: payment(c, rng, shape.currency) });
    } else {
      call({ method: 'GET', uri: '/v1/accounts', status: 200, bytesOut: rng.int(500, 1500) });
    }
  }
  return out;
}

/** A payment as the customer habitually makes it: mostly known payees and amounts, sometimes not. */
function payment(c: Customer, rng: Rng, currency: string): NonNullable<SimRequest['tx']> {
  const roll = rng.next();
  let payee: Payee;
  let amount: number;
  if (roll < 0.9 || c.business) {
    payee = rng.pick(c.payees);
    amount = payee.amount * (0.6 + 0.8 * rng.next());
  } else {
    // A new payee: usually an everyday amount, one in ten a large one-off (a deposit, a car).
    const large = rng.chance(0.1);
    amount = large ? c.habitual * (3 + 5 * rng.next()) : c.habitual * (0.3 + rng.next());
    payee = { id: `payee-${rng.hex(8)}`, amount };
    c.payees.push(payee);
  }
  return { amount: Math.round(amount * 100) / 100, currency, payee_id: payee.id, account_id: c.accounts[0] as string };
}

/** A business paying its staff: one login, then a payment per employee a few seconds apart, each its usual salary. */
function payrollSession(c: Customer, t: number, rng: Rng, id: () => string, shape: PopulationShape): SimRequest[] {
  const fresh = issueToken(rng, c.sub, t, { clientId: c.clientId, ttlS: 900 });
  c.token = fresh.token;
  c.claims = fresh.claims;
  const base = stamper(c, c.homeIp, c.browser ?? (c.appAgent as string), rng, id, 200);
  const out: SimRequest[] = [
    {
      ...base(t),
      method: 'POST',
      uri: '/oauth/token',
      status: 200,
      bytesOut: 1100,
      grantType: 'password',
      loginUsername: c.username,
    },
  ];
  let ts = t + rng.int(2000, 8000);
  out.push({
    ...base(ts),
    method: 'GET',
    uri: `/v1/accounts/${c.accounts[0]}`,
    status: 200,
    bytesOut: 700,
    token: fresh.token,
    claims: fresh.claims,
  });
  for (const employee of c.payees) {
    ts += rng.int(shape.payrollGapMs[0], shape.payrollGapMs[1]);
    out.push({
      ...base(ts),
      method: 'POST',
      uri: '/v1/payments',
      status: 201,
      bytesOut: 250,
      token: fresh.token,
      claims: fresh.claims,
      tx: {
        amount: employee.amount,
        currency: shape.currency,
        payee_id: employee.id,
        account_id: c.accounts[0] as string,
      },
    });
  }
  return out;
}
