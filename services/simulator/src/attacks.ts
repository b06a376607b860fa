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
// The pace of the slow families varies from attack to attack (a low-and-slow walk of one request every
// 15 s to 2.5 min).
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

type Claims = NonNullable<SimRequest['claims']>;
type Who = NonNullable<SimRequest['who']>;
type Token = { token: string; claims: Claims };

/**
 * The attacks of a family whose victim can be chosen at `at` (a request of theirs the stream has shown), in time
 * order, each request labelled; undefined when no customer fits yet (the caller tries again later).
 */
function plan(
  rng: Rng,
  family: AttackFamily,
  attackId: string,
  at: number,
  seen: Map<string, SimRequest>,
  habitOf: (sub: string) => PaymentHabit,
  id: () => string,
): Scheduled[] | undefined {
  const candidates = [...seen.values()].filter((r) => isVictim(family, r, at));
  if (candidates.length === 0) return undefined;
  const script = new AttackScript(rng, family, attackId, at, rng.pick(candidates), habitOf, id);
  SCRIPTS[family](script);
  for (const s of script.out) s.label.request_id = s.request.requestId;
  return script.out;
}

/** Token theft needs the victim active with a live token; a phished login, the victim recently seen at home. */
function isVictim(family: AttackFamily, r: SimRequest, at: number): boolean {
  if (family === 'token_theft') return r.ts > at - 10 * 60_000 && (r.claims as Claims).exp * 1000 > at + 5 * 60_000;
  if (family === 'impossible_travel_login') return r.ts > at - 30 * 60_000;
  return true;
}

/** One attack being written: its clock, its requests so far, and the moves its families share. */
class AttackScript {
  readonly out: Scheduled[] = [];
  /** Event time of the attack's latest request. */
  t: number;
  readonly who: Who;
  /** The attack's tool (most families do not hide it). */
  readonly agent: string;
  readonly habit: PaymentHabit;
  /** This attack's pace for the slow families: its own spacing between requests. */
  readonly slowPace: number;

  constructor(
    readonly rng: Rng,
    readonly family: AttackFamily,
    private readonly attackId: string,
    at: number,
    readonly victim: SimRequest,
    habitOf: (sub: string) => PaymentHabit,
    private readonly id: () => string,
  ) {
    this.t = at;
    this.who = victim.who as Who;
    this.agent = rng.pick(ATTACK_AGENTS);
    this.habit = habitOf(this.who.sub);
    this.slowPace = rng.int(20_000, 120_000);
  }

  add(ts: number, r: Omit<SimRequest, 'ts' | 'requestId' | 'latencyMs' | 'bytesIn'>, principal: string): void {
    const { rng, family } = this;
    this.out.push({
      request: { ts, requestId: this.id(), latencyMs: rng.int(5, 90), bytesIn: rng.int(80, 400), ...r },
      label: { request_id: '', attack_id: this.attackId, family, principal, ts },
    });
  }

  foreignIp(): string {
    return `${this.rng.pick(FOREIGN)}${this.rng.int(2, 250)}`;
  }

  /** A successful password login as `username` from `ip`; the new session's token. */
  login(sub: string, username: string, ip: string, ua: string): Token {
    this.t += this.rng.int(1000, 5000);
    this.add(
      this.t,
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
    return issueToken(this.rng, sub, this.t);
  }

  /** The victim's own login, from their own address and client (a session the attacker drives on their device). */
  victimLogin(): Token {
    return this.login(this.who.sub, this.who.username, this.victim.clientIp, this.victim.userAgent);
  }

  /** Account reads then payments to new payees with a token, from an address. */
  takeover(tok: Token, ip: string, ua: string, account: string, reads: number, pays: number): void {
    const { rng, habit } = this;
    for (let i = 0; i < reads + pays; i++) {
      this.t += rng.int(3000, 20000);
      const base = { clientIp: ip, userAgent: ua, token: tok.token, claims: tok.claims };
      this.add(
        this.t,
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
  }

  /** The wait before a walk's next request: the attack's own slow pace (±25 %), or a fast one within `fast` ms. */
  step(slow: boolean, fast: readonly [number, number]): number {
    return slow ? Math.round(this.slowPace * (0.75 + 0.5 * this.rng.next())) : this.rng.int(fast[0], fast[1]);
  }
}

const tokenTheft = (s: AttackScript) =>
  s.takeover(
    { token: s.victim.token as string, claims: s.victim.claims as Claims },
    s.foreignIp(),
    s.agent,
    s.who.account,
    6,
    6,
  );

function impossibleTravelLogin(s: AttackScript): void {
  const ip = s.foreignIp();
  // A phishing kit replays the victim's own browser agent.
  const ua = s.victim.userAgent;
  s.takeover(s.login(s.who.sub, s.who.username, ip, ua), ip, ua, s.who.account, 3, 3);
}

/** A leaked list tried on the token endpoint from one address, or one or two attempts each from many. */
function credentialStuffing(s: AttackScript): void {
  const { rng } = s;
  const distributed = s.family === 'credential_stuffing_distributed';
  const ip = s.foreignIp();
  const attempts = 150;
  const cracked = new Set([rng.int(10, attempts - 20), rng.int(10, attempts - 20)]);
  for (let i = 0; i < attempts; i++) {
    s.t += distributed ? rng.int(2000, 9000) : rng.int(150, 900);
    // The leaked list: some of the bank's customers, many addresses it never had.
    const k = rng.int(0, 999);
    const real = rng.chance(0.6) || cracked.has(i);
    const username = real ? customerIds(k).username : `${rng.hex(8)}@mail.example`;
    const from = distributed ? s.foreignIp() : ip;
    if (!cracked.has(i)) {
      s.add(
        s.t,
        {
          method: 'POST',
          uri: '/oauth/token',
          status: 401,
          clientIp: from,
          userAgent: s.agent,
          bytesOut: 120,
          grantType: 'password',
          loginUsername: username,
        },
        `user:${username}`,
      );
      continue;
    }
    // A cracked customer's account, used at once from the attacker's address.
    const mark = s.t;
    const tok = s.login(customerIds(k).sub, username, from, s.agent);
    s.takeover(tok, from, s.agent, customerIds(k).account, 4, 2);
    s.t = mark;
  }
}

/**
 * `n` reads with a token of the victim's, from their own address and client, one every `fast` ms or at the attack's
 * own slow pace; `page(i)` says what the i-th read asks for and gets.
 */
function walk(
  s: AttackScript,
  tok: Token,
  n: number,
  fast: readonly [number, number],
  page: (i: number) => Pick<SimRequest, 'uri' | 'status' | 'bytesOut'>,
): void {
  const slow = s.family.endsWith('_slow');
  for (let i = 0; i < n; i++) {
    s.t += s.step(slow, fast);
    const { uri, status, bytesOut } = page(i);
    const { clientIp, userAgent } = s.victim;
    s.add(s.t, { method: 'GET', uri, status, clientIp, userAgent, bytesOut, ...tok }, `sub:${s.who.sub}`);
  }
}

/** A logged-in customer walking other customers' account ids (most answer 403). */
function bola(s: AttackScript): void {
  const tok = s.victimLogin();
  const first = 40000000 + s.rng.int(0, 900) * 7;
  walk(s, tok, s.family === 'bola_slow' ? 40 : 100, [300, 700], (i) => ({
    uri: `/v1/accounts/${first + i * 7}`,
    status: s.rng.chance(0.9) ? 403 : 200,
    bytesOut: 150,
  }));
}

/** A customer's session paging through the account's whole transaction history. */
function scraping(s: AttackScript): void {
  walk(s, s.victimLogin(), s.family === 'scraping_slow' ? 60 : 200, [150, 300], (i) => ({
    uri: `/v1/accounts/${s.who.account}/transactions?page=${i + 1}`,
    status: 200,
    bytesOut: s.rng.int(6000, 9000),
  }));
}

/** The victim's own device and address, a login, one read, then two to four new payees. */
function paymentFraud(s: AttackScript): void {
  const tok = s.victimLogin();
  s.takeover(tok, s.victim.clientIp, s.victim.userAgent, s.who.account, 1, s.rng.int(2, 4));
}

/** How each family's attack is written. */
const SCRIPTS: Record<AttackFamily, (s: AttackScript) => void> = {
  token_theft: tokenTheft,
  impossible_travel_login: impossibleTravelLogin,
  credential_stuffing: credentialStuffing,
  credential_stuffing_distributed: credentialStuffing,
  bola_fast: bola,
  bola_slow: bola,
  scraping_fast: scraping,
  scraping_slow: scraping,
  payment_fraud: paymentFraud,
};
