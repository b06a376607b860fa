// Labelled attacks woven into the demo bank's traffic, in time order, each request of an attack labelled with its
// family and attack id (the benign traffic stays unlabelled). Deterministic from the seed. The families:
// - token_theft: a customer's current token replayed from a foreign address and another client while the customer
//   keeps using it: account reads, then payments to a new payee;
// - credential_stuffing: one address trying a leaked list of usernames on the token endpoint (most fail), then the
//   cracked accounts used from that address; credential_stuffing_distributed: the same spread over many addresses,
//   one or two attempts each;
// - bola_fast / bola_slow: a customer's token walking other customers' account ids, 2 a second / one a minute;
// - scraping_fast / scraping_slow: a customer's token paging through transaction history, 5 a second / one a minute;
// - payment_fraud: a customer's own token, own address (no geo change), paying large amounts to new payees.
// What the simulator cannot model yet (and so does not generate): impossible travel of a customer's own logins —
// the demo customers' addresses are documentation ranges GeoIP does not place, so there is no home to jump from.
import { type Rng, seeded } from './random.js';
import type { SimRequest } from './traffic.js';

export const ATTACK_FAMILIES = [
  'token_theft',
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
}

export interface AttackOptions {
  seed: number;
  /** Attacks per family. */
  perFamily: number;
  /** Attacks start between `start` and `start + spanMs`. */
  start: number;
  spanMs: number;
}

interface Scheduled {
  request: SimRequest;
  label: AttackLabel;
}

// Addresses outside the customers' ranges, some GeoIP places abroad (datacenters, VPN exits).
const FOREIGN = ['185.220.101.', '45.141.215.', '103.75.201.', '91.219.236.', '194.26.29.', '5.188.62.'];
const ATTACK_AGENTS = ['python-requests/2.31', 'curl/8.5.0', 'Go-http-client/1.1', 'okhttp/4.12.0'];

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

function token(rng: Rng, sub: string, ts: number) {
  const iat = Math.floor(ts / 1000);
  const claims = { sub, jti: rng.hex(16), sid: rng.hex(12), iat, exp: iat + 3600, client_id: 'vigil-bank-app' };
  return { token: `${b64({ alg: 'RS256', typ: 'JWT', kid: 'demo' })}.${b64(claims)}.${rng.hex(43)}`, claims };
}

/**
 * Merges attacks into a benign traffic stream. Victims are customers seen in the stream (their current token is
 * stolen as the stream shows it). `labels` receives each attack request's label as it is yielded.
 */
export function* withAttacks(traffic: Generator<SimRequest>, o: AttackOptions, labels: (l: AttackLabel) => void): Generator<SimRequest> {
  const rng = seeded(o.seed ^ 0x5eed);
  const seen = new Map<string, SimRequest>(); // sub → its latest request with a token
  const queue: Scheduled[] = [];
  const starts: { at: number; family: AttackFamily; n: number }[] = [];
  for (const family of ATTACK_FAMILIES) {
    for (let n = 0; n < o.perFamily; n++) starts.push({ at: o.start + Math.floor(rng.next() * o.spanMs), family, n });
  }
  starts.sort((a, b) => a.at - b.at);
  let seq = 0;
  const push = (items: Scheduled[]) => {
    for (const s of items) queue.push(s);
    queue.sort((a, b) => a.request.ts - b.request.ts);
  };
  let base = traffic.next();
  for (;;) {
    const nextBase = base.done ? undefined : base.value;
    // Launch attacks whose start has come (victims must have been seen by then).
    while (starts.length > 0 && nextBase && (starts[0] as { at: number }).at <= nextBase.ts && seen.size > 0) {
      const s = starts.shift() as { at: number; family: AttackFamily; n: number };
      push(plan(rng, s.family, `${s.family}-${s.n}`, s.at, [...seen.values()], () => `atk${(seq++).toString(36)}-${rng.hex(6)}`));
    }
    const nextAttack = queue[0];
    if (nextAttack && (!nextBase || nextAttack.request.ts <= nextBase.ts)) {
      queue.shift();
      labels(nextAttack.label);
      yield nextAttack.request;
      continue;
    }
    if (!nextBase) return;
    if (nextBase.claims) seen.set(nextBase.claims.sub, nextBase);
    yield nextBase;
    base = traffic.next();
  }
}

function plan(rng: Rng, family: AttackFamily, attackId: string, at: number, customers: SimRequest[], id: () => string): Scheduled[] {
  const victim = rng.pick(customers);
  const claims = victim.claims as NonNullable<SimRequest['claims']>;
  const out: Scheduled[] = [];
  const add = (ts: number, r: Omit<SimRequest, 'ts' | 'requestId' | 'latencyMs' | 'bytesIn'>, principal: string) =>
    out.push({
      request: { ts, requestId: id(), latencyMs: rng.int(5, 90), bytesIn: rng.int(80, 400), ...r },
      label: { request_id: '', attack_id: attackId, family, principal },
    });
  const foreignIp = () => `${rng.pick(FOREIGN)}${rng.int(2, 250)}`;
  const agent = rng.pick(ATTACK_AGENTS);
  // The demo bank's account numbering (traffic.ts): customer i is cust-<(100000 + i) in base 36>, account 40000000 + 7i.
  const ownAccount = String(40000000 + (Number.parseInt(claims.sub.slice('cust-'.length), 36) - 100000) * 7);
  let t = at;
  switch (family) {
    case 'token_theft': {
      const ip = foreignIp();
      for (let i = 0; i < 12; i++) {
        t += rng.int(3000, 20000);
        const pay = i >= 6;
        add(
          t,
          pay
            ? {
                method: 'POST',
                uri: '/v1/payments',
                status: 201,
                clientIp: ip,
                userAgent: agent,
                bytesOut: 250,
                token: victim.token,
                claims,
                tx: { amount: 900 + rng.int(0, 4000), currency: 'EUR', payee_id: `payee-${rng.hex(6)}`, account_id: ownAccount },
              }
            : {
                method: 'GET',
                uri: i % 2 ? `/v1/accounts/${ownAccount}/transactions?page=${rng.int(1, 5)}` : `/v1/accounts/${ownAccount}`,
                status: 200,
                clientIp: ip,
                userAgent: agent,
                bytesOut: rng.int(400, 6000),
                token: victim.token,
                claims,
              },
          `sub:${claims.sub}`,
        );
      }
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
        const username = rng.chance(0.6) ? `user${rng.int(0, 999)}@example.com` : `${rng.hex(8)}@mail.example`;
        const from = distributed ? foreignIp() : ip;
        const ok = cracked.has(i);
        add(
          t,
          { method: 'POST', uri: '/oauth/token', status: ok ? 200 : 401, clientIp: from, userAgent: agent, bytesOut: ok ? 900 : 120, loginUsername: username },
          `user:${username}`,
        );
        if (ok) {
          // The cracked account, used at once from the attacker's address.
          const sub = `cust-${rng.hex(5)}`;
          const stolen = token(rng, sub, t);
          let u = t;
          for (let k = 0; k < 6; k++) {
            u += rng.int(1000, 5000);
            add(
              u,
              k < 4
                ? {
                    method: 'GET',
                    uri: `/v1/accounts/${40000000 + rng.int(0, 999) * 7}`,
                    status: 200,
                    clientIp: from,
                    userAgent: agent,
                    bytesOut: 600,
                    token: stolen.token,
                    claims: stolen.claims,
                  }
                : {
                    method: 'POST',
                    uri: '/v1/payments',
                    status: 201,
                    clientIp: from,
                    userAgent: agent,
                    bytesOut: 250,
                    token: stolen.token,
                    claims: stolen.claims,
                    tx: {
                      amount: 500 + rng.int(0, 3000),
                      currency: 'EUR',
                      payee_id: `payee-${rng.hex(6)}`,
                      account_id: String(40000000 + rng.int(0, 999) * 7),
                    },
                  },
              `sub:${sub}`,
            );
          }
        }
      }
      break;
    }
    case 'bola_fast':
    case 'bola_slow': {
      const slow = family === 'bola_slow';
      const first = 40000000 + rng.int(0, 900) * 7;
      const n = slow ? 40 : 100;
      for (let i = 0; i < n; i++) {
        t += slow ? rng.int(40_000, 90_000) : rng.int(300, 700);
        const target = first + i * 7;
        add(
          t,
          {
            method: 'GET',
            uri: `/v1/accounts/${target}`,
            status: rng.chance(0.9) ? 403 : 200,
            clientIp: victim.clientIp,
            userAgent: victim.userAgent,
            bytesOut: 150,
            token: victim.token,
            claims,
          },
          `sub:${claims.sub}`,
        );
      }
      break;
    }
    case 'scraping_fast':
    case 'scraping_slow': {
      const slow = family === 'scraping_slow';
      const n = slow ? 60 : 200;
      for (let i = 0; i < n; i++) {
        t += slow ? rng.int(30_000, 80_000) : rng.int(150, 300);
        add(
          t,
          {
            method: 'GET',
            uri: `/v1/accounts/${ownAccount}/transactions?page=${i + 1}`,
            status: 200,
            clientIp: victim.clientIp,
            userAgent: victim.userAgent,
            bytesOut: rng.int(6000, 9000),
            token: victim.token,
            claims,
          },
          `sub:${claims.sub}`,
        );
      }
      break;
    }
    case 'payment_fraud': {
      for (let i = 0; i < 3; i++) {
        t += rng.int(20_000, 60_000);
        add(
          t,
          {
            method: 'POST',
            uri: '/v1/payments',
            status: 201,
            clientIp: victim.clientIp,
            userAgent: victim.userAgent,
            bytesOut: 250,
            token: victim.token,
            claims,
            tx: { amount: 4000 + rng.int(0, 8000), currency: 'EUR', payee_id: `payee-${rng.hex(6)}`, account_id: ownAccount },
          },
          `sub:${claims.sub}`,
        );
      }
      break;
    }
  }
  for (const s of out) s.label.request_id = s.request.requestId;
  return out;
}
