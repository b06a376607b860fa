// The revoker's core with a recording adapter: plans per action and entity, the guardrails in order, retries until
// the gateway confirms, refusals that do not block, caps that tell the SOC once, undo, expiry and re-sync.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { nonRetriable, retriable } from '@vigil/core';
import type { Decision } from '@vigil/events';
import { fingerprint } from '@vigil/events';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './breaker.js';
import { checkRequest } from './check.js';
import type { Enforcement } from './enforcement.js';
import { Allowlist, RateCaps } from './guardrails.js';
import { planEnforcements } from './plan.js';
import { type AuditEntry, EXTENSION_SLACK_MS, Revoker } from './revoker.js';
import { MemoryRevocationLog, RevocationStore } from './store.js';
import { HttpAdapter } from './targets/http/http.js';
import { idpSessionPreset } from './targets/idp/idp.js';
import { kongPreset } from './targets/kong/kong.js';
import type { GatewayAdapter } from './targets/target.js';

const NOW = 1_800_000_000_000;
const TTL = { revokeTtlMs: 86_400_000, throttleTtlMs: 900_000, stepUpTtlMs: 3_600_000 };

function decision(over: Partial<Decision> = {}): Decision {
  return {
    ts: NOW - 5000,
    decided_at: NOW - 4000,
    request_id: 'req-1',
    action: 'revoke',
    entity: 'principal',
    score: 0.9999,
    scores: { iforest: 0.9, autoencoder: 0.9 },
    principal: {
      sub: 'alice',
      jti: 'tok-1',
      exp: Math.floor(NOW / 1000) + 600,
      token_fingerprint: `v1:${'a'.repeat(64)}`,
      client_ip: '198.51.100.7',
    },
    reasons: [{ feature: 'rule:impossible_travel:geo_speed_kmh', value: 9000, baseline: 1000, contribution: 1 }],
    bundle: 'b1',
    dry_run: false,
    ...over,
  };
}

class Recorder implements GatewayAdapter {
  readonly name: string;
  readonly applied: Enforcement[] = [];
  readonly removed: string[] = [];
  readonly resynced: Enforcement[][] = [];
  failNext = 0;
  refuse = false;
  lost = false;
  constructor(
    name = 'gw',
    private readonly kinds?: string[],
  ) {
    this.name = name;
  }
  supports(e: Enforcement) {
    return !this.kinds || this.kinds.includes(e.kind);
  }
  async apply(e: Enforcement) {
    if (this.failNext > 0) {
      this.failNext--;
      throw retriable('down', 'gateway down');
    }
    if (this.refuse) throw nonRetriable('refused', 'refused');
    this.applied.push(e);
  }
  async remove(e: Enforcement) {
    this.removed.push(e.id);
  }
  async resync(entries: Enforcement[]) {
    if (this.failNext > 0) {
      this.failNext--;
      throw retriable('down', 'gateway down');
    }
    this.resynced.push(entries);
    this.lost = false;
  }
  async lostState() {
    return this.lost;
  }
  async close() {}
}

function revoker(over: Partial<ConstructorParameters<typeof Revoker>[0]> = {}) {
  const audit: AuditEntry[] = [];
  const notices: Decision[] = [];
  const log = new MemoryRevocationLog();
  const store = new RevocationStore(log);
  const gw = new Recorder();
  let clock = NOW;
  const r = new Revoker({
    adapters: [gw],
    store,
    allowlist: new Allowlist({ subs: [], usernames: [], client_ids: [], ips: [] }),
    caps: new RateCaps({ per_minute: 100, per_tenant_per_minute: 100 }),
    enforce: true,
    ttl: TTL,
    audit: async (rows) => {
      audit.push(...rows);
    },
    notify: async (n) => {
      notices.push(n);
    },
    retry: { initialDelayMs: 1, maxDelayMs: 2, multiplier: 2, maxAttempts: Number.POSITIVE_INFINITY },
    breaker: { failures: 100, openMs: 1 },
    now: () => clock,
    ...over,
  });
  return { r, audit, notices, store, log, gw, tick: (ms: number) => (clock += ms) };
}

describe('planning enforcements from decisions', () => {
  it('revokes a principal by subject (issued before now), token id and fingerprint, each with its expiry', () => {
    const plan = planEnforcements(
      decision({ principal: { ...decision().principal, sid: 's-1', credential_id: 'cred-9', consumer_id: 'c-1' } }),
      {
        ...TTL,
        now: NOW,
      },
    );
    expect(plan.map((e) => e.id)).toEqual([
      'sub:alice',
      'jti:tok-1',
      `fingerprint:v1:${'a'.repeat(64)}`,
      'session:s-1',
      'credential:cred-9',
    ]);
    const [sub, jti] = plan;
    expect(sub).toMatchObject({
      action: 'revoke',
      not_before: NOW / 1000,
      expires_at: NOW + TTL.revokeTtlMs,
      request_id: 'req-1',
    });
    expect(jti?.expires_at).toBe((Math.floor(NOW / 1000) + 600) * 1000);
    expect(sub?.reasons).toEqual(['rule:impossible_travel:geo_speed_kmh']);
  });

  it('steps up by subject, throttles IPs and usernames, and plans nothing for alerts', () => {
    expect(
      planEnforcements(decision({ action: 'step_up' }), { ...TTL, now: NOW }).map((e) => [e.id, e.action]),
    ).toEqual([['sub:alice', 'step_up']]);
    expect(
      planEnforcements(decision({ action: 'throttle', entity: 'ip' }), { ...TTL, now: NOW }).map((e) => [
        e.id,
        e.expires_at,
      ]),
    ).toEqual([['ip:198.51.100.7', NOW + TTL.throttleTtlMs]]);
    expect(
      planEnforcements(decision({ action: 'revoke', principal: { username: 'bob', client_ip: '1.2.3.4' } }), {
        ...TTL,
        now: NOW,
      }).map((e) => [e.id, e.action]),
    ).toEqual([['username:bob', 'throttle']]);
    expect(planEnforcements(decision({ action: 'alert' }), { ...TTL, now: NOW })).toEqual([]);
  });
});

describe('revoker guardrails', () => {
  it('enforces at the gateway, records in the store, audits; a redelivered decision does nothing twice', async () => {
    const { r, audit, store, gw } = revoker();
    await r.handle(decision());
    expect(gw.applied.map((e) => e.id)).toEqual(['sub:alice', 'jti:tok-1', `fingerprint:v1:${'a'.repeat(64)}`]);
    expect(store.get('sub:alice')?.enforced_at).toBe(NOW);
    expect(audit.map((a) => a.outcome)).toEqual(['enforced', 'enforced', 'enforced']);
    await r.handle(decision());
    expect(gw.applied).toHaveLength(3);
    expect(audit).toHaveLength(3);
    expect(r.counts.duplicate).toBe(3);
    // Another decision about an identifier already revoked for as long: audited, not applied again.
    await r.handle(
      decision({
        request_id: 'req-2',
        action: 'revoke',
        principal: { jti: 'tok-1', exp: Math.floor(NOW / 1000) + 600 },
      }),
    );
    expect(audit.at(-1)?.outcome).toBe('already_enforced');
    expect(gw.applied).toHaveLength(3);
  });

  it(
    'does not re-apply, nor spend the cap on, decisions ' + 'that would only extend an active throttle by moments',
    async () => {
      const { r, gw, audit, tick } = revoker({ caps: new RateCaps({ per_minute: 2, per_tenant_per_minute: 2 }) });
      const stuffer = (n: number, ip = '203.0.113.9') =>
        decision({ request_id: `stuff-${ip}-${n}`, action: 'throttle', entity: 'ip', principal: { client_ip: ip } });
      for (let i = 0; i < 20; i++) {
        await r.handle(stuffer(i));
        tick(100);
      }
      expect(gw.applied.map((e) => e.id)).toEqual(['ip:203.0.113.9']);
      expect(r.counts.already_enforced).toBe(19);
      // The cap still has room for the next attacker.
      await r.handle(stuffer(0, '203.0.113.77'));
      expect(audit.at(-1)?.outcome).toBe('enforced');
      // Past the slack, a decision renews the throttle.
      tick(EXTENSION_SLACK_MS + 1);
      await r.handle(stuffer(99));
      expect(gw.applied.map((e) => e.id)).toEqual(['ip:203.0.113.9', 'ip:203.0.113.77', 'ip:203.0.113.9']);
    },
  );

  it('records a decision’s enforcements in one write, in force in the store at once, durable when done', async () => {
    const writes: string[][] = [];
    let landed = 0;
    let inForceBeforeDurable = true;
    class CountingLog extends MemoryRevocationLog {
      override async write(changes: { id: string; value: Enforcement | null }[]) {
        writes.push(changes.map((c) => c.id));
        inForceBeforeDurable &&= changes.every((c) => store.get(c.id) === c.value);
        await new Promise((resolve) => setTimeout(resolve, 20));
        await super.write(changes);
        landed++;
      }
    }
    const store = new RevocationStore(new CountingLog());
    const { r, gw } = revoker({ store });
    await r.handle(decision());
    expect(landed).toBe(1);
    expect(store.get('jti:tok-1')?.request_id).toBe('req-1');
    await r.handle(decision({ request_id: 'req-2', principal: { sub: 'bob', jti: 'tok-2' } }));
    expect(writes).toEqual([
      ['sub:alice', 'jti:tok-1', `fingerprint:v1:${'a'.repeat(64)}`],
      ['sub:bob', 'jti:tok-2'],
    ]);
    expect(landed).toBe(2);
    expect(inForceBeforeDurable).toBe(true);
    expect(gw.applied.map((e) => e.id)).toEqual([...(writes[0] ?? []), ...(writes[1] ?? [])]);
  });

  it('fails a decision whose record cannot be written, after calling its targets (it is delivered again)', async () => {
    class DownLog extends MemoryRevocationLog {
      override async write(): Promise<void> {
        throw new Error('broker down');
      }
    }
    const store = new RevocationStore(new DownLog());
    const { r, gw } = revoker({ store, retry: { initialDelayMs: 1, maxDelayMs: 1, multiplier: 1, maxAttempts: 3 } });
    await expect(r.handle(decision())).rejects.toThrow('broker down');
    expect(gw.applied).toHaveLength(3);
    // Taken back: what the store holds is what its log holds.
    expect(store.get('sub:alice')).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('takes back a failed write to what was in force before, unless another writer changed it meanwhile', async () => {
    let failWrites = false;
    let during: (() => void) | undefined;
    class FlakyLog extends MemoryRevocationLog {
      override async write(changes: { id: string; value: Enforcement | null }[]) {
        during?.();
        if (failWrites) throw new Error('broker down');
        await super.write(changes);
      }
    }
    const store = new RevocationStore(new FlakyLog());
    const [sub, jti] = planEnforcements(decision(), { ...TTL, now: NOW }) as [Enforcement, Enforcement];
    await store.put([sub, jti]);
    failWrites = true;
    const longer = { ...sub, request_id: 'req-2', expires_at: sub.expires_at + 60_000 };
    const lifted = { ...jti, request_id: 'req-2' };
    // While the write is out, another instance's change to the token arrives from the topic.
    const theirs = { ...jti, request_id: 'req-other' };
    during = () => store.applyRemote(jti.id, theirs);
    await expect(store.put([longer, lifted])).rejects.toThrow('broker down');
    expect(store.get(sub.id)).toBe(sub);
    expect(store.get(jti.id)).toBe(theirs);
  });

  it('never acts on the allowlist, and only records in dry run (the revoker’s switch or the decision’s)', async () => {
    const allow = revoker({
      allowlist: new Allowlist({ subs: ['alice'], usernames: [], client_ids: [], ips: ['198.51.100.0/24'] }),
    });
    await allow.r.handle(decision());
    await allow.r.handle(
      decision({ request_id: 'r-ip', action: 'throttle', entity: 'ip', principal: { client_ip: '198.51.100.99' } }),
    );
    expect(allow.gw.applied).toEqual([]);
    expect(allow.audit.map((a) => [a.outcome, a.detail])).toEqual([
      ['allowlisted', 'sub'],
      ['allowlisted', 'sub'],
      ['allowlisted', 'sub'],
      ['allowlisted', 'ip'],
    ]);
    const dry = revoker({ enforce: false });
    await dry.r.handle(decision());
    expect(dry.gw.applied).toEqual([]);
    expect(dry.store.size).toBe(0);
    expect(dry.audit.every((a) => a.outcome === 'dry_run' && a.dry_run)).toBe(true);
    const dryDecision = revoker();
    await dryDecision.r.handle(decision({ dry_run: true }));
    expect(dryDecision.gw.applied).toEqual([]);
  });

  it('holds a rate cap per tenant and globally, and tells the SOC once per minute per cap', async () => {
    const { r, gw, audit, notices, tick } = revoker({
      caps: new RateCaps({ per_minute: 5, per_tenant_per_minute: 2 }),
    });
    const flood = (i: number, tenant: string) =>
      decision({
        request_id: `f-${tenant}-${i}`,
        principal: { sub: `u-${tenant}-${i}` },
        context: { route: '/x', route_class: 'default', tenant },
      });
    for (let i = 0; i < 4; i++) await r.handle(flood(i, 'acme'));
    expect(gw.applied).toHaveLength(2);
    expect(audit.filter((a) => a.outcome === 'capped').map((a) => a.detail)).toEqual(['tenant:acme', 'tenant:acme']);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ action: 'alert', entity: 'tenant', context: { tenant: 'acme' } });
    expect(notices[0]?.reasons[0]?.feature).toBe('revoker:cap_reached:tenant:acme');
    for (let i = 0; i < 6; i++) await r.handle(flood(i, `t${i}`));
    expect(gw.applied).toHaveLength(5);
    expect(notices.map((n) => n.request_id.split('/')[1])).toEqual(['tenant:acme', 'global']);
    tick(61_000);
    await r.handle(flood(9, 'acme'));
    expect(gw.applied).toHaveLength(6);
    // A decision takes one slot however many identifiers it covers (subject, token id, fingerprint).
    await r.handle(decision({ request_id: 'multi', context: { route: '/x', route_class: 'default', tenant: 'zeta' } }));
    expect(gw.applied).toHaveLength(9);
  });

  it('keeps enforcing at every other target while one is down, and re-syncs that one when it is back', async () => {
    const down = new Recorder('down');
    const up = new Recorder('up');
    const { r, audit } = revoker({ adapters: [down, up] });
    down.failNext = 1_000;
    await r.handle(decision({ request_id: 'r1', principal: { jti: 'one' } }));
    await r.handle(decision({ request_id: 'r2', principal: { jti: 'two' } }));
    await r.handle(decision({ request_id: 'r3', principal: { jti: 'three' } }));
    // The target that is up got all three; the down one was tried once (a few bounded retries), then skipped.
    expect(up.applied.map((e) => e.id)).toEqual(['jti:one', 'jti:two', 'jti:three']);
    expect(audit.filter((a) => a.adapter === 'down').map((a) => a.outcome)).toEqual(['queued', 'queued', 'queued']);
    expect(down.failNext).toBe(1_000 - 4);
    expect(r.lag()).toEqual([{ target: 'down', queued: 3, since: NOW }]);
    // Still down at the next check: stays behind. Back: the whole list is re-synced and it takes new work again.
    expect(await r.resync()).toEqual([]);
    down.failNext = 0;
    down.lost = false;
    expect(await r.resync()).toEqual(['down']);
    expect(
      down.resynced
        .at(-1)
        ?.map((e) => e.id)
        .sort(),
    ).toEqual(['jti:one', 'jti:three', 'jti:two']);
    expect(r.lag()).toEqual([]);
    await r.handle(decision({ request_id: 'r4', principal: { jti: 'four' } }));
    expect(down.applied.map((e) => e.id)).toEqual(['jti:four']);
  });

  it("sends a decision's first identifier alone and the others together, audits them in the plan's order, and queues each when down", async () => {
    // Each apply takes a few milliseconds; the order in which they begin and end tells what ran alongside what.
    class Timed extends Recorder {
      readonly steps: string[] = [];
      override async apply(e: Enforcement) {
        this.steps.push(`begin ${e.kind}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        this.steps.push(`end ${e.kind}`);
        await super.apply(e);
      }
    }
    const gw = new Timed();
    const { r, audit } = revoker({ adapters: [gw] });
    await r.handle(decision({ request_id: 'r1', principal: { sub: 'alice', jti: 'j1', token_fingerprint: 'f1' } }));
    expect(gw.steps.slice(0, 4)).toEqual(['begin sub', 'end sub', 'begin jti', 'begin fingerprint']);
    expect(audit.map((a) => [a.enforcement.kind, a.outcome])).toEqual([
      ['sub', 'enforced'],
      ['jti', 'enforced'],
      ['fingerprint', 'enforced'],
    ]);
    // Down: the first falls behind after its retries, the others are queued behind it.
    const down = revoker();
    down.gw.failNext = 1_000;
    await down.r.handle(decision({ request_id: 'r2', principal: { sub: 'bob', jti: 'j2', token_fingerprint: 'f2' } }));
    expect(down.audit.map((a) => a.outcome)).toEqual(['queued', 'queued', 'queued']);
    expect(down.r.lag()).toEqual([{ target: 'gw', queued: 3, since: NOW }]);
  });

  it('rides out a gateway down for a moment without opening its breaker: every identifier is enforced', async () => {
    // Refuses every call for 60 ms: the first identifier's retries (at ~25-50 and ~75-150 ms) fail once more, then
    // pass. Its identifiers retrying together would fail six times by ~50 ms, open the breaker (5 failures) for two
    // seconds and leave all three queued.
    class Blip extends Recorder {
      constructor(private readonly until: number) {
        super();
      }
      override async apply(e: Enforcement) {
        if (Date.now() < this.until) throw retriable('down', 'gateway restarting');
        await super.apply(e);
      }
    }
    const gw = new Blip(Date.now() + 60);
    const { r, audit } = revoker({ adapters: [gw], breaker: { failures: 5, openMs: 2000 } });
    await r.handle(decision({ request_id: 'r1', principal: { sub: 'carol', jti: 'j3', token_fingerprint: 'f3' } }));
    expect(audit.map((a) => a.outcome)).toEqual(['enforced', 'enforced', 'enforced']);
    expect(r.lag()).toEqual([]);
  });

  it('retries a down gateway until it confirms, and audits a refusal without blocking the other adapters', async () => {
    const down = revoker();
    down.gw.failNext = 2;
    await down.r.handle(decision({ principal: { jti: 'only' } }));
    expect(down.gw.applied.map((e) => e.id)).toEqual(['jti:only']);
    expect(down.audit.map((a) => a.outcome)).toEqual(['enforced']);
    const refused = new Recorder('refuser');
    refused.refuse = true;
    const ok = new Recorder('ok');
    const both = revoker({ adapters: [refused, ok] });
    await both.r.handle(decision({ principal: { jti: 'only' } }));
    expect(both.audit.map((a) => [a.adapter, a.outcome])).toEqual([
      ['refuser', 'failed'],
      ['ok', 'enforced'],
    ]);
  });

  it('undoes, prunes what expired, and re-syncs an adapter that lost its lists', async () => {
    const { r, gw, store, audit, tick } = revoker();
    await r.handle(decision());
    expect(await r.undo('jti:tok-1')).toBe(true);
    expect(await r.undo('jti:nothing')).toBe(false);
    expect(gw.removed).toEqual(['jti:tok-1']);
    expect(store.get('jti:tok-1')).toBeUndefined();
    tick(601_000); // the fingerprint's token expired; the subject's cut-off has a day
    expect(await r.prune()).toBe(1);
    expect(gw.removed.at(-1)).toBe(`fingerprint:v1:${'a'.repeat(64)}`);
    expect(audit.map((a) => a.outcome).slice(-2)).toEqual(['undone', 'expired']);
    expect(await r.resync()).toEqual([]);
    gw.lost = true;
    expect(await r.resync()).toEqual(['gw']);
    expect(gw.resynced.at(-1)?.map((e) => e.id)).toEqual(['sub:alice']);
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive failures, fails fast, and lets one trial through after the cool-down', async () => {
    let t = 0;
    const b = new CircuitBreaker('x', { failures: 2, openMs: 100, now: () => t });
    const fail = () => Promise.reject(new Error('boom'));
    await expect(b.call(fail)).rejects.toThrow('boom');
    await expect(b.call(fail)).rejects.toThrow('boom');
    expect(b.state).toBe('open');
    await expect(b.call(async () => 1)).rejects.toThrow(/circuit open/);
    t = 150;
    expect(await b.call(async () => 2)).toBe(2);
    expect(b.state).toBe('closed');
  });
});

describe('HTTP adapter', () => {
  it(
    'fills templates (URL-encoded, secrets from the environment), ' +
      'confirms on 2xx, retries 5xx and 429, refuses other 4xx',
    async () => {
      const seen: { method: string; url: string; token: string | undefined }[] = [];
      let answer = 204;
      const server = createServer((req, res) => {
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          token: req.headers['kong-admin-token'] as string | undefined,
        });
        res.statusCode = answer;
        res.end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        const kong = new HttpAdapter({
          ...kongPreset(base, 'jwt', 'KONG_TOKEN'),
          timeoutMs: 1000,
          env: { KONG_TOKEN: 's3cret' },
        });
        const plan = planEnforcements(
          decision({ principal: { jti: 't', credential_id: 'cred/9', consumer_id: 'c 1' } }),
          { ...TTL, now: NOW },
        );
        const cred = plan.find((e) => e.kind === 'credential') as Enforcement;
        expect(kong.supports(plan[0] as Enforcement)).toBe(false); // the jti: Kong's adapter deletes credentials
        expect(kong.supports(cred)).toBe(true);
        await kong.apply(cred);
        expect(seen.at(-1)).toEqual({ method: 'DELETE', url: '/consumers/c%201/jwt/cred%2F9', token: 's3cret' });
        answer = 404;
        await kong.apply(cred); // already gone
        answer = 503;
        await expect(kong.apply(cred)).rejects.toMatchObject({ retriable: true });
        answer = 429;
        await expect(kong.apply(cred)).rejects.toMatchObject({ retriable: true });
        answer = 403;
        await expect(kong.apply(cred)).rejects.toMatchObject({ retriable: false });
        // No session id, no IdP call: not this adapter's to enforce.
        const idp = new HttpAdapter({ ...idpSessionPreset(base), timeoutMs: 1000 });
        expect(idp.supports(cred)).toBe(false);
      } finally {
        server.close();
      }
    },
  );
});

describe('check (the store as an ext_authz verdict)', () => {
  it(
    'refuses revoked tokens by subject cut-off, jti and fingerprint; ' +
      'asks for step-up; throttles IPs; admits the rest',
    () => {
      const pepper = { version: 1, secret: 'check-pepper-0123456789abcdef0123456789' };
      const jwt = (claims: Record<string, unknown>) =>
        `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
      const stolen = jwt({ sub: 'x', jti: 'fp-only', iat: 100 });
      const entries = [
        ...planEnforcements(decision(), { ...TTL, now: NOW }),
        ...planEnforcements(decision({ principal: { token_fingerprint: fingerprint(pepper, stolen) } }), {
          ...TTL,
          now: NOW,
        }),
        ...planEnforcements(decision({ action: 'step_up', principal: { sub: 'carol' } }), { ...TTL, now: NOW }),
        ...planEnforcements(decision({ action: 'throttle', entity: 'ip', principal: { client_ip: '203.0.113.9' } }), {
          ...TTL,
          now: NOW,
        }),
      ];
      const store = new Map(entries.map((e) => [e.id, e]));
      const check = (token: string | undefined, clientIp = '10.0.0.1', now = NOW + 1000) =>
        checkRequest(
          (id) => store.get(id),
          { ...(token ? { authorization: `Bearer ${token}` } : {}), clientIp },
          { pepper, now },
        );
      const cutoff = NOW / 1000;
      expect(check(jwt({ sub: 'alice', iat: cutoff - 10 }))).toMatchObject({
        status: 401,
        headers: { 'www-authenticate': expect.stringMatching(/invalid_token/) },
      });
      expect(check(jwt({ sub: 'alice', iat: cutoff + 1 })).status).toBe(200);
      expect(check(jwt({ sub: 'bob', jti: 'tok-1', iat: cutoff + 1 })).status).toBe(401);
      expect(check(stolen).status).toBe(401);
      expect(check(jwt({ sub: 'carol', iat: cutoff - 1 }))).toMatchObject({
        status: 401,
        headers: { 'www-authenticate': expect.stringMatching(/insufficient_user_authentication/) },
      });
      expect(check(jwt({ sub: 'carol', iat: cutoff + 5 })).status).toBe(200);
      expect(check(undefined, '203.0.113.9')).toMatchObject({ status: 429, headers: { 'retry-after': '60' } });
      expect(check(undefined).status).toBe(200);
      // Expired entries no longer count, pruned or not.
      expect(check(undefined, '203.0.113.9', NOW + TTL.throttleTtlMs + 1).status).toBe(200);
    },
  );
});
