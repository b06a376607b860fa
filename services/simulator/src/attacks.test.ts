// The labelled attacks: deterministic from the seed, woven into the benign stream in time order, every attack request
// labelled (and nothing benign), each family present with the shape it promises.
import type { Decision } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import { ATTACK_FAMILIES, type AttackLabel, withAttacks } from './attacks.js';
import { evaluateDetection } from './evaluate.js';
import { generateTraffic, type SimRequest } from './traffic.js';

const START = Date.UTC(2026, 10, 2, 8);

function run(seed: number) {
  const labels: AttackLabel[] = [];
  const requests: SimRequest[] = [];
  const gen = withAttacks(
    generateTraffic({ seed: 3, customers: 200, start: START, meanGapMs: 1000 }),
    { seed, perFamily: 2, start: START + 60_000, spanMs: 20 * 3_600_000 },
    (l) => labels.push(l),
  );
  for (const r of gen) {
    requests.push(r);
    if (r.ts > START + 24 * 3_600_000) break;
  }
  return { labels, requests };
}

describe('labelled attacks', () => {
  it('are deterministic, in time order, and label exactly the attack requests', () => {
    const a = run(1);
    const b = run(1);
    expect(b.labels).toEqual(a.labels);
    expect(b.requests.map((r) => r.requestId)).toEqual(a.requests.map((r) => r.requestId));
    expect(run(2).labels.map((l) => l.request_id)).not.toEqual(a.labels.map((l) => l.request_id));
    for (let i = 1; i < a.requests.length; i++)
      expect((a.requests[i] as SimRequest).ts).toBeGreaterThanOrEqual((a.requests[i - 1] as SimRequest).ts);
    const ids = new Set(a.requests.map((r) => r.requestId));
    expect(a.labels.every((l) => ids.has(l.request_id))).toBe(true);
    expect(new Set(a.labels.map((l) => l.family))).toEqual(new Set(ATTACK_FAMILIES));
    expect(new Set(a.labels.map((l) => l.attack_id)).size).toBe(ATTACK_FAMILIES.length * 2);
  });

  it('have the shapes they promise', () => {
    const { labels, requests } = run(1);
    const byId = new Map(requests.map((r) => [r.requestId, r]));
    const of = (family: string) =>
      labels.filter((l) => l.family === family).map((l) => byId.get(l.request_id) as SimRequest);
    // A stolen token: the victim's own jti, from an address the victim never used.
    const theft = of('token_theft');
    const victimJtis = new Set(
      requests.filter((r) => !labels.some((l) => l.request_id === r.requestId)).map((r) => r.claims?.jti),
    );
    expect(theft.every((r) => victimJtis.has(r.claims?.jti))).toBe(true);
    expect(theft.every((r) => !r.clientIp.startsWith('198.51.'))).toBe(true);
    // Stuffing: mostly failed logins.
    const stuffing = of('credential_stuffing').filter((r) => r.uri === '/oauth/token');
    expect(stuffing.filter((r) => r.status === 401).length / stuffing.length).toBeGreaterThan(0.9);
    expect(new Set(of('credential_stuffing_distributed').map((r) => r.clientIp)).size).toBeGreaterThan(100);
    // BOLA: other customers' accounts, mostly refused.
    expect(of('bola_fast').filter((r) => r.status === 403).length).toBeGreaterThan(150);
    // Payment fraud: the victim's own address, 2–4 payments to payees the victim never paid, each at least 3 times the
    // victim's own typical payment (its running typical lies above its smallest) in the victim's currency, at night.
    const fraud = of('payment_fraud');
    const benign = requests.filter((r) => r.tx && !labels.some((l) => l.request_id === r.requestId));
    const paid = new Set(benign.map((r) => r.tx?.payee_id));
    const payments = fraud.filter((r) => r.tx);
    const perAttack = new Map<string, number>();
    for (const l of labels)
      if (l.family === 'payment_fraud' && byId.get(l.request_id)?.tx)
        perAttack.set(l.attack_id, (perAttack.get(l.attack_id) ?? 0) + 1);
    expect([...perAttack.values()].every((n) => n >= 2 && n <= 4)).toBe(true);
    for (const r of payments) {
      expect(paid.has(r.tx?.payee_id)).toBe(false);
      const own = benign
        .filter((b) => b.who?.sub === r.claims?.sub && b.ts < r.ts)
        .map((b) => b.tx as NonNullable<SimRequest['tx']>);
      if (own.length === 0) continue;
      expect(r.tx?.amount).toBeGreaterThanOrEqual(3 * Math.min(...own.map((t) => t.amount)));
      expect(r.tx?.currency).toBe(own[own.length - 1]?.currency);
    }
    expect(fraud.every((r) => r.clientIp.startsWith('198.51.'))).toBe(true);
    // A phished login: the victim's username, a success, from an address the victim never used, then its token's use.
    const firstPhish = labels.find((l) => l.family === 'impossible_travel_login') as AttackLabel;
    const phished = labels
      .filter((l) => l.attack_id === firstPhish.attack_id)
      .map((l) => byId.get(l.request_id) as SimRequest);
    expect(phished[0]).toMatchObject({ uri: '/oauth/token', status: 200, grantType: 'password' });
    expect(
      phished.slice(1).every((r) => r.claims?.sub === phished[1]?.claims?.sub && !r.clientIp.startsWith('198.51.')),
    ).toBe(true);
  });

  it('are scored per family: detected, revoked, requests to detect; benign flags per principal-day', () => {
    const { labels, requests } = run(1);
    const first = labels.find((l) => l.family === 'bola_fast') as AttackLabel;
    const attack = labels.filter((l) => l.attack_id === first.attack_id);
    const decide = (requestId: string, action: Decision['action'], sub: string, ts: number): Decision => ({
      ts,
      decided_at: ts,
      request_id: requestId,
      action,
      entity: 'principal',
      score: 0.99,
      scores: { iforest: 0, autoencoder: 0 },
      principal: { sub },
      reasons: [],
      bundle: 'b',
      dry_run: true,
    });
    const stolen = labels.find((l) => l.family === 'token_theft') as AttackLabel;
    const benign = requests.find((r) => r.claims && !labels.some((l) => l.request_id === r.requestId)) as SimRequest;
    const q = evaluateDetection(
      [
        decide(stolen.request_id, 'revoke', 'y', START),
        decide((attack[2] as AttackLabel).request_id, 'alert', 'x', START),
        decide((attack[5] as AttackLabel).request_id, 'revoke', 'x', START),
        decide(benign.requestId, 'revoke', 'b1', START),
      ],
      labels,
      new Set(Array.from({ length: 500 }, (_, i) => `sub:someone-${i}|0`)),
    );
    const second = labels.find((l) => l.family === 'bola_fast' && l.attack_id !== first.attack_id) as AttackLabel;
    expect(q.families.find((f) => f.family === 'bola_fast')).toEqual({
      family: 'bola_fast',
      attacks: 2,
      detected: 1,
      enforced: 1,
      revoked: 1,
      medianRequestsToDetect: 3,
      missed: [second.attack_id],
    });
    // Over every detected attack: the stolen token at its first request, the walk at its third.
    expect(q.medianRequestsToDetect).toBe(2);
    expect(q.falseRevocationsPer1000).toBe(2);
  });
});
