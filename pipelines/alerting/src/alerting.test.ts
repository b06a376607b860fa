// Alerting without the network beyond loopback: signatures checked by the Standard Webhooks reference library, one
// alert per entity per incident, delivery retries against a real local HTTP server, CAEP SETs
// that verify with the public key.
import { generateKeyPairSync, verify as verifySignature } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { type AlertAudit, Alerter, type DeadLetter } from './alerter.js';
import { SESSION_REVOKED, sessionRevokedSet } from './caep.js';
import { deliver, type ReceiverTarget } from './delivery.js';
import { IncidentBook } from './incidents.js';
import { signedHeaders, verify } from './signing.js';
import { decision, T0 } from './testing/decisions.js';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const OTHER = `whsec_${Buffer.from('fedcba9876543210fedcba9876543210').toString('base64')}`;
describe('Standard Webhooks signing', () => {
  it('signs so the reference library verifies; a tampered body or a stale timestamp fails', () => {
    const body = JSON.stringify({ hello: 'soc' });
    const now = Math.floor(Date.now() / 1000);
    const headers = signedHeaders([SECRET], 'msg_1', now, body);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(() => new Webhook(SECRET).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(SECRET).verify(`${body} `, { ...headers })).toThrow();
    const stale = signedHeaders([SECRET], 'msg_1', now - 600, body);
    expect(() => new Webhook(SECRET).verify(body, { ...stale })).toThrow();
    // vigil's own verifier agrees, and during a rotation either secret verifies.
    expect(verify([SECRET], headers, body, now)).toBe(true);
    expect(verify([SECRET], headers, `${body} `, now)).toBe(false);
    expect(verify([SECRET], stale, body, now)).toBe(false);
    const rotating = signedHeaders([OTHER, SECRET], 'msg_2', now, body);
    expect(() => new Webhook(SECRET).verify(body, { ...rotating })).not.toThrow();
    expect(() => new Webhook(OTHER).verify(body, { ...rotating })).not.toThrow();
    expect(() => signedHeaders(['plain-secret'], 'x', now, body)).toThrow(/whsec_/);
  });
});

describe('incidents', () => {
  it('sends one alert per entity per incident: open at once, escalations as updates, a summary at close', () => {
    const book = new IncidentBook(600_000);
    const open = book.add(decision(), 1000);
    expect(open?.activity).toBe('open');
    expect(open?.id).toBe(`${open?.incident.alert_id}.1`);
    for (let i = 2; i <= 10; i++)
      expect(book.add(decision({ request_id: `r${i}`, ts: T0 + i * 1000 }), 1000 + i)).toBeUndefined();
    // Another principal is another incident.
    expect(book.add(decision({ request_id: 'b1', principal: { sub: 'bob' } }), 1020)?.activity).toBe('open');
    // A revoke raises the severity: sent at once.
    const up = book.add(decision({ request_id: 'r11', ts: T0 + 11_000, action: 'revoke', score: 0.9999 }), 1030);
    expect(up).toMatchObject({ activity: 'update', incident: { severity: 'critical', action: 'revoke', events: 11 } });
    book.add(decision({ request_id: 'r12', ts: T0 + 12_000 }), 1040);
    expect(book.due(1040 + 599_999)).toEqual([]);
    const closed = book.due(1040 + 600_000);
    // alice had an event since her last message (a summary); bob had not (his open said it all).
    expect(
      closed.map((m) => [
        m.incident.entity_key,
        m.activity,
        m.incident.events,
        m.incident.first_seen,
        m.incident.last_seen,
      ]),
    ).toEqual([['sub:alice', 'close', 12, T0, T0 + 12_000]]);
    expect(book.size).toBe(0);
    // The same decisions replayed give the same alert id; a decision far later in event time opens a new incident.
    const again = new IncidentBook(600_000);
    expect(again.add(decision(), 5)?.incident.alert_id).toBe(open?.incident.alert_id);
    expect(again.add(decision({ ts: T0 + 3_600_000 }), 6)?.activity).toBe('open');
    expect(again.add(decision({ action: 'allow' }), 7)).toBeUndefined();
  });
});

describe('delivery', () => {
  const servers: ReturnType<typeof createServer>[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });
  async function receiver(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<string> {
    const s = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => handler(req, res, body));
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`;
  }
  const target = (url: string, over: Partial<ReceiverTarget> = {}): ReceiverTarget => ({
    name: 'soc',
    url,
    secrets: [SECRET],
    timeoutMs: 300,
    maxAttempts: 5,
    initialBackoffMs: 5,
    maxBackoffMs: 20,
    ...over,
  });

  it('retries 500s, 429s and timeouts with the same webhook-id and a fresh signature, then delivers', async () => {
    const seen: { id: string; ok: boolean }[] = [];
    let n = 0;
    const url = await receiver((req, res, body) => {
      n++;
      let ok = true;
      try {
        new Webhook(SECRET).verify(body, req.headers as Record<string, string>);
      } catch {
        ok = false;
      }
      seen.push({ id: String(req.headers['webhook-id']), ok });
      if (n === 1) return void res.writeHead(500).end();
      if (n === 2) return void res.writeHead(429).end();
      if (n === 3) return; // never answers: a timeout
      res.writeHead(204).end();
    });
    const r = await deliver(target(url), 'va_1.1', '{"a":1}');
    expect(r).toEqual({ outcome: 'delivered', attempts: 4, status: 204 });
    expect(seen.every((s) => s.id === 'va_1.1' && s.ok)).toBe(true);
  });

  it('dead-letters a refusal at once and a receiver still failing after the last attempt', async () => {
    let calls = 0;
    const refusing = await receiver((_req, res) => {
      calls++;
      res.writeHead(400).end();
    });
    expect(await deliver(target(refusing), 'x', '{}')).toEqual({
      outcome: 'dead_lettered',
      attempts: 1,
      status: 400,
      reason: 'refused',
    });
    expect(calls).toBe(1);
    const failing = await receiver((_req, res) => void res.writeHead(503).end());
    expect(await deliver(target(failing, { maxAttempts: 3 }), 'x', '{}')).toEqual({
      outcome: 'dead_lettered',
      attempts: 3,
      status: 503,
      reason: 'attempts_exhausted',
    });
  });

  it(
    'the alerter sends each incident once to every ' + 'receiver whose minimum severity it reaches, and audits',
    async () => {
      const got: string[] = [];
      const url = await receiver((req, res) => {
        got.push(String(req.headers['webhook-id']));
        res.writeHead(200).end();
      });
      const audit: AlertAudit[] = [];
      const dead: DeadLetter[] = [];
      const alerter = new Alerter({
        receivers: [
          { target: target(url, { name: 'all' }), format: 'ocsf', minSeverity: 'low' },
          { target: target(url, { name: 'pager' }), format: 'slack', minSeverity: 'critical' },
        ],
        caep: [],
        windowMs: 60_000,
        audit: async (rows) => {
          audit.push(...rows);
        },
        deadLetter: async (items) => {
          dead.push(...items);
        },
      });
      await alerter.handle(Array.from({ length: 50 }, (_, i) => decision({ request_id: `r${i}`, ts: T0 + i * 100 })));
      await alerter.handle([decision({ request_id: 'rv', ts: T0 + 6000, action: 'revoke', score: 0.9999 })]);
      expect(got).toHaveLength(3); // open to "all"; the escalation to "all" and "pager"
      expect(audit.map((a) => [a.receiver, a.message.activity, a.result.outcome])).toEqual([
        ['all', 'open', 'delivered'],
        ['all', 'update', 'delivered'],
        ['pager', 'update', 'delivered'],
      ]);
      expect(dead).toEqual([]);
    },
  );
});

describe('CAEP session-revoked', () => {
  it('builds a SET for a revoked subject, signed so the public key verifies it; none for a token', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const set = sessionRevokedSet(
      {
        kind: 'sub',
        value: 'alice',
        enforced_at: T0,
        request_id: 'r1',
        reasons: ['rule:impossible_travel:geo_speed_kmh'],
      },
      {
        issuer: 'https://vigil.example',
        audience: 'https://idp.example',
        subjectIssuer: 'https://idp.example',
        privateKeyPem: pem,
        keyId: 'k1',
      },
      T0 + 5,
    ) as string;
    const [h, c, s] = set.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({
      alg: 'ES256',
      typ: 'secevent+jwt',
      kid: 'k1',
    });
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString());
    expect(claims).toMatchObject({
      iss: 'https://vigil.example',
      aud: 'https://idp.example',
      sub_id: { format: 'iss_sub', iss: 'https://idp.example', sub: 'alice' },
    });
    expect(claims.events[SESSION_REVOKED].event_timestamp).toBe(T0 / 1000);
    expect(
      verifySignature(
        'sha256',
        Buffer.from(`${h}.${c}`),
        { key: publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(s, 'base64url'),
      ),
    ).toBe(true);
    expect(
      sessionRevokedSet({ kind: 'jti', value: 't', request_id: 'r', reasons: [] }, { issuer: 'i', audience: 'a' }, T0),
    ).toBeUndefined();
    expect(
      sessionRevokedSet(
        { kind: 'session', value: 's-1', request_id: 'r', reasons: [] },
        { issuer: 'i', audience: 'a' },
        T0,
      )?.endsWith('.'),
    ).toBe(true);
  });
});
