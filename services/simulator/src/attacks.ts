// Labelled attacks woven into the demo bank's traffic, in time order, each request of an attack labelled with its
// family and attack id (the benign traffic stays unlabelled). Deterministic from the seed. Victims are customers
// seen in the stream. The families:
// - token_theft: a customer's current token replayed from a foreign address and another client while the customer
//   is active with it: account reads, then payments to a new payee;
// - impossible_travel_login: the customer's phished password used from abroad minutes after the customer was seen
//   at home, then the new session reads the account and pays a new payee;
// - credential_stuffing: one address trying a leaked list of usernames on the token endpoint (most fail), then the
//   cracked customers' accounts used from that address; credential_stuffing_distributed: the same spread over many
//   addresses, one or two attempts each;
// - bola_fast / bola_slow: a customer logged in as themself walking other customers' account ids, 2 a second / slowly
//   (see below);
// - scraping_fast / scraping_slow: a customer's session paging through transaction history, 5 a second / slowly;
// - payment_fraud: the customer's own device and address (no geo change, as with remote-access malware), at night
//   local time, paying two to four new payees in minutes.
// Fraudulent payments are sized from the victim's own history as the stream shows it (3–15 times the customer's
// typical payment, in the customer's currency; the population's typical one for a customer not yet seen paying), so
// they are as unusual in a population of small payers as in one of large payers, and no fixed amount gives them away.
// The pace of the slow families varies from attack to attack (a low-and-slow walk of one request every 15 s to 2.5 min).
import { customerIds } from './customers.js';
import { type Rng, seeded } from './random.js';
import { issueToken } from './tokens.js';
import type { SimRequest } from './traffic.js';

export const ATTACK_FAMILIES = [
  'token_theft',
  'impossible_travel_login',
  'credential_stuffing',
  'credential_stuffing_distributed',
  'bola_fast',
  'bola_slow',
  'scraping_fast',
  'scraping_slow',
  'payment_fraud',
] as const;
export type AttackFamily = (typeof ATTACK_FAMILIES)[number];

export interface AttackLabel {
  request_id: string;
  attack_id: string;
  family: AttackFamily;
  /** The principal the detector keys the attacker's request by (sub:…, user:…, ip:…). */
  principal: string;
  /** The attack request's event time, epoch ms. */
  ts: number;
}

export interface AttackOptions {
  seed: number;
  /** Attacks per family. */
  perFamily: number;
  /** Attacks start between `start` and `start + spanMs`. */
  start: number;
  spanMs: number;
  /** The home country's offset from UTC, hours (payment fraud happens at night local time). */
  utcOffsetHours?: number;
}

/** A customer's payments as the stream shows them: a running typical amount (in log space) and the currency. */
interface PaymentHabit {
  logAmount: number;
  currency: string;
}

function learnHabit(habit: PaymentHabit | undefined, amount: number, currency: string, alpha: number): PaymentHabit {
  const x = Math.log(amount);
  if (!habit || Number.isNaN(habit.logAmount)) return { logAmount: x, currency };
  return { logAmount: (1 - alpha) * habit.logAmount + alpha * x, currency };
}

interface Scheduled {
  request: SimRequest;
  label: AttackLabel;
}

// Addresses outside the customers' ranges, some GeoIP places abroad (datacenters, VPN exits).
const FOREIGN = ['185.220.101.', '45.141.215.', '103.75.201.', '91.219.236.', '194.26.29.', '5.188.62.'];
const ATTACK_AGENTS = ['python-requests/2.31', 'curl/8.5.0', 'Go-http-client/1.1', 'okhttp/4.12.0'];

/**
 * Where attacks go in a log of `durationMs` from `start`: from its second hour to two hours before its end, so each
 * attack has the victim's history before it and traffic after it.
 */
export function attackWindow(start: number, durationMs: number): Pick<AttackOptions, 'start' | 'spanMs'> {
  return { start: start + 3_600_000, spanMs: Math.max(60_000, durationMs - 3 * 3_600_000) };
}

/**
 * Merges attacks into a benign traffic stream. Victims are customers seen in the stream (their current token is
 * stolen as the stream shows it). `labels` receives each attack request's label as it is yielded.
 */
export function* withAttacks(
  traffic: Generator<SimRequest>,
  o: AttackOptions,
  labels: (l: AttackLabel) => void,
): Generator<SimRequest> {
  const rng = seeded(o.seed ^ 0x5eed);
  const seen = new Map<string, SimRequest>(); // sub → the customer's latest request with a token
  const habits = new Map<string, PaymentHabit>(); // sub → how the customer pays
  let typical: PaymentHabit | undefined; // how the population pays
  const habitOf = (sub: string): PaymentHabit =>
    habits.get(sub) ?? typical ?? { logAmount: Math.log(100), currency: 'GBP' };
  const queue: Scheduled[] = [];
  const starts: Start[] = [];
  for (const family of ATTACK_FAMILIES) {
    for (let n = 0; n < o.perFamily; n++) {
      const at = o.start + Math.floor(rng.next() * o.spanMs);
      starts.push({ at: family === 'payment_fraud' ? atNight(rng, at, o) : at, family, n });
    }
  }
  const byTime = (a: Start, b: Start) => a.at - b.at || a.family.localeCompare(b.family) || a.n - b.n;
  starts.sort(byTime);
  let seq = 0;
  const push = (items: Scheduled[]) => {
    for (const s of items) queue.push(s);
    queue.sort((a, b) => a.request.ts - b.request.ts);
  };
  let base = traffic.next();
  for (;;) {
    const nextBase = base.done ? undefined : base.value;
    // Launch attacks whose start has come; one whose victim is not there yet (a live token, say) waits two minutes.
    while (starts.length > 0 && nextBase && (starts[0] as Start).at <= nextBase.ts) {
      const s = starts.shift() as Start;
      const planned = plan(
        rng,
        s.family,
        `${s.family}-${s.n}`,
        s.at,
        seen,
        habitOf,
        () => `atk${(seq++).toString(36)}-${rng.hex(6)}`,
      );
      if (planned) push(planned);
      else {
        starts.push({ ...s, at: s.at + 120_000 });
        starts.sort(byTime);
      }
    }
    const nextAttack = queue[0];
    if (nextAttack && (!nextBase || nextAttack.request.ts <= nextBase.ts)) {
      queue.shift();
      labels(nextAttack.label);
      yield nextAttack.request;
      continue;
    }
    if (!nextBase) return;
    if (nextBase.claims && nextBase.who) seen.set(nextBase.who.sub, nextBase);
    if (nextBase.tx && nextBase.who && nextBase.tx.amount > 0) {
      habits.set(
        nextBase.who.sub,
        learnHabit(habits.get(nextBase.who.sub), nextBase.tx.amount, nextBase.tx.currency, 0.3),
      );
      typical = learnHabit(typical, nextBase.tx.amount, nextBase.tx.currency, 0.01);
    }
    yield nextBase;
    base = traffic.next();
  }
}

interface Start {
  at: number;
  family: AttackFamily;
  n: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The night (1–5 h local) nearest after `at` within the span, where payment fraud happens; `at` if none fits. */
function atNight(rng: Rng, at: number, o: AttackOptions): number {
  const off = (o.utcOffsetHours ?? 0) * HOUR;
  const dayStart = Math.floor((at + off) / DAY) * DAY - off;
  let night = dayStart + rng.int(1, 4) * HOUR + rng.int(0, 3599) * 1000;
  if (night < at) night += DAY;
  if (night > o.start + o.spanMs) night -= DAY;
  return night >= o.start ? night : at;
}

// biome-ignore lint/complexity/noExcessiveCognitiveComplexity: written before the rule; to split (issue 19)
function plan(
  rng: Rng,
  family: AttackFamily,
  attackId: string,
  at: number,
  seen: Map<string, SimRequest>,
  habitOf: (sub: string) => PaymentHabit,
  id: () => string,
): Scheduled[] | undefined {
  // Token theft needs the victim active with a live token; a phished login, the victim recently seen at home.
  const candidates = [...seen.values()].filter((r) =>
    family === 'token_theft'
      ? r.ts > at - 10 * 60_000 && (r.claims as NonNullable<SimRequest['claims']>).exp * 1000 > at + 5 * 60_000
      : family === 'impossible_travel_login'
        ? r.ts > at - 30 * 60_000
        : true,
  );
  if (candidates.length === 0) return undefined;
  const victim = rng.pick(candidates);
  const who = victim.who as NonNullable<SimRequest['who']>;
  const out: Scheduled[] = [];
  const add = (ts: number, r: Omit<SimRequest, 'ts' | 'requestId' | 'latencyMs' | 'bytesIn'>, principal: string) =>
    out.push({
      request: { ts, requestId: id(), latencyMs: rng.int(5, 90), bytesIn: rng.int(80, 400), ...r },
      label: { request_id: '', attack_id: attackId, family, principal, ts },
    });
  const foreignIp = () => `${rng.pick(FOREIGN)}${rng.int(2, 250)}`;
  const agent = rng.pick(ATTACK_AGENTS);
  const habit = habitOf(who.sub);
  /** This attack's pace for the slow families: its own spacing between requests. */
  const slowPace = rng.int(20_000, 120_000);
  let t = at;
  /** A successful password login as `username` from `ip`; the new session's token. */
  const login = (sub: string, username: string, ip: string, ua: string) => {
    t += rng.int(1000, 5000);
    add(
      t,
      {
        method: 'POST',
        uri: '/oauth/token',
        status: 200,
        clientIp: ip,
        userAgent: ua,
        bytesOut: 1100,
        grantType: 'password',
        loginUsername: username,
      },
      `user:${username}`,
    );
    return issueToken(rng, sub, t);
  };
  /** Account reads then payments to new payees with a token, from an address. */
  const takeover = (
    tok: { token: string; claims: NonNullable<SimRequest['claims']> },
    ip: string,
    ua: string,
    account: string,
    reads: number,
    pays: number,
  ) => {
    for (let i = 0; i < reads + pays; i++) {
      t += rng.int(3000, 20000);
      const base = { clientIp: ip, userAgent: ua, token: tok.token, claims: tok.claims };
      add(
        t,
        i >= reads
          ? {
              ...base,
              method: 'POST',
              uri: '/v1/payments',
              status: 201,
              bytesOut: 250,
              tx: {
                amount: Math.round(Math.exp(habit.logAmount) * (3 + 12 * rng.next()) * 100) / 100,
                currency: habit.currency,
                payee_id: `payee-${rng.hex(8)}`,
                account_id: account,
              },
            }
          : {
              ...base,
              method: 'GET',
              uri: i % 2 ? `/v1/accounts/${account}/transactions?page=${rng.int(1, 3)}` : `/v1/accounts/${account}`,
              status: 200,
              bytesOut: rng.int(400, 6000),
            },
        `sub:${tok.claims.sub}`,
      );
    }
  };
  switch (family) {
    case 'token_theft': {
      takeover(
        { token: victim.token as string, claims: victim.claims as NonNullable<SimRequest['claims']> },
        foreignIp(),
        agent,
        who.account,
        6,
        6,
      );
      break;
    }
    case 'impossible_travel_login': {
      const ip = foreignIp();
      // A phishing kit replays the victim's own browser agent.
      const ua = victim.userAgent;
      takeover(login(who.sub, who.username, ip, ua), ip, ua, who.account, 3, 3);
      break;
    }
    case 'credential_stuffing':
    case 'credential_stuffing_distributed': {
      const distributed = family === 'credential_stuffing_distributed';
      const ip = foreignIp();
      const attempts = 150;
      const cracked = new Set([rng.int(10, attempts - 20), rng.int(10, attempts - 20)]);
      for (let i = 0; i < attempts; i++) {
        t += distributed ? rng.int(2000, 9000) : rng.int(150, 900);
        // The leaked list: some of the bank's customers, many addresses it never had.
        const k = rng.int(0, 999);
        const real = rng.chance(0.6) || cracked.has(i);
        const username = real ? customerIds(k).username : `${rng.hex(8)}@mail.example`;
        const from = distributed ? foreignIp() : ip;
        if (!cracked.has(i)) {
          add(
            t,
            {
              method: 'POST',
              uri: '/oauth/token',
              status: 401,
              clientIp: from,
              userAgent: agent,
              bytesOut: 120,
              grantType: 'password',
              loginUsername: username,
            },
            `user:${username}`,
          );
          continue;
        }
        // A cracked customer's account, used at once from the attacker's address.
        const mark = t;
        const tok = login(customerIds(k).sub, username, from, agent);
        takeover(tok, from, agent, customerIds(k).account, 4, 2);
        t = mark;
      }
      break;
    }
    case 'bola_fast':
    case 'bola_slow': {
      const slow = family === 'bola_slow';
      const tok = login(who.sub, who.username, victim.clientIp, victim.userAgent);
      const first = 40000000 + rng.int(0, 900) * 7;
      const n = slow ? 40 : 100;
      for (let i = 0; i < n; i++) {
        t += slow ? Math.round(slowPace * (0.75 + 0.5 * rng.next())) : rng.int(300, 700);
        add(
          t,
          {
            method: 'GET',
            uri: `/v1/accounts/${first + i * 7}`,
            status: rng.chance(0.9) ? 403 : 200,
            clientIp: victim.clientIp,
            userAgent: victim.userAgent,
            bytesOut: 150,
            ...tok,
          },
          `sub:${who.sub}`,
        );
      }
      break;
    }
    case 'scraping_fast':
    case 'scraping_slow': {
      const slow = family === 'scraping_slow';
      const tok = login(who.sub, who.username, victim.clientIp, victim.userAgent);
      const n = slow ? 60 : 200;
      for (let i = 0; i < n; i++) {
        t += slow ? Math.round(slowPace * (0.75 + 0.5 * rng.next())) : rng.int(150, 300);
        add(
          t,
          {
            method: 'GET',
            uri: `/v1/accounts/${who.account}/transactions?page=${i + 1}`,
            status: 200,
            clientIp: victim.clientIp,
            userAgent: victim.userAgent,
            bytesOut: rng.int(6000, 9000),
            ...tok,
          },
          `sub:${who.sub}`,
        );
      }
      break;
    }
    case 'payment_fraud': {
      const tok = login(who.sub, who.username, victim.clientIp, victim.userAgent);
      takeover(tok, victim.clientIp, victim.userAgent, who.account, 1, rng.int(2, 4));
      break;
    }
  }
  for (const s of out) s.label.request_id = s.request.requestId;
  return out;
}
