// Signed alert delivery speed on loopback. Peers, same run: (1) signing alone, vigil's Standard Webhooks signer
// against the Standard Webhooks reference library (npm standardwebhooks); (2) delivering the same OCSF payloads
// signed and unsigned, one at a time and 32 in flight, to a local HTTP receiver (keep-alive) that verifies nothing —
// the ratio is what signing costs a delivery; (3) the whole alerter path — incidents, OCSF rendering, signing,
// delivery — one alert per incident.
// Run: npm run bench:webhooks [-- --messages N]
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Alerter, deliver, IncidentBook, payload, type ReceiverTarget, sign } from '@vigil/alerting';
import type { Decision } from '@vigil/events';
import { Webhook } from 'standardwebhooks';

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = flag('--messages', 5000);
const SECRET = `whsec_${Buffer.from('bench-secret-0123456789abcdef0123').toString('base64')}`;

const decision = (i: number): Decision => ({
  ts: 1_800_000_000_000 + i,
  decided_at: 1_800_000_000_100 + i,
  request_id: `r${i}`,
  action: 'alert',
  entity: 'principal',
  score: 0.97,
  scores: { iforest: 0.9, autoencoder: 0.97 },
  principal: { sub: `user-${i}`, client_ip: '198.51.100.7', token_fingerprint: `v1:${'c'.repeat(64)}` },
  reasons: [
    { feature: 'distinct_objects_10m_log', value: 4.2, baseline: 0.7, contribution: 0.5 },
    { feature: 'req_1m_log', value: 3.1, baseline: 1.2, contribution: 0.3 },
  ],
  bundle: 'bench',
  dry_run: false,
  context: { route: '/v1/accounts/{id}', route_class: 'reads', tenant: 'retail' },
});

const book = new IncidentBook(60_000);
const bodies = Array.from({ length: N }, (_, i) => {
  const m = book.add(decision(i), 0);
  if (!m) throw new Error('no message');
  return { id: m.id, body: payload('ocsf', m) };
});
const bytes = bodies.reduce((n, b) => n + b.body.length, 0) / N;

function rate(label: string, n: number, ms: number, peerRate?: number) {
  const r = (n / ms) * 1000;
  console.log(
    `${label.padEnd(58)} ${Math.round(r).toLocaleString('en').padStart(9)} ` +
      `/s${peerRate ? `   ×${(r / peerRate).toFixed(2)} the peer` : ''}`,
  );
  return r;
}

// 1. Signing alone.
const ts = Math.floor(Date.now() / 1000);
let t0 = performance.now();
const reference = new Webhook(SECRET);
for (const b of bodies) reference.sign(b.id, new Date(ts * 1000), b.body);
const refRate = rate('sign: standardwebhooks reference library (peer)', N, performance.now() - t0);
t0 = performance.now();
for (const b of bodies) sign([SECRET], b.id, ts, b.body);
rate('sign: vigil (node:crypto HMAC-SHA256)', N, performance.now() - t0, refRate);

// 2. Delivery to a local receiver.
let received = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received++;
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
const target = (secrets: string[]): ReceiverTarget => ({
  name: 'bench',
  url,
  secrets,
  timeoutMs: 5000,
  maxAttempts: 3,
  initialBackoffMs: 10,
  maxBackoffMs: 100,
});

async function run(label: string, secrets: string[], inFlight: number, peerRate?: number) {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < N) {
        const b = bodies[next++] as { id: string; body: string };
        const r = await deliver(target(secrets), b.id, b.body);
        if (r.outcome !== 'delivered') throw new Error(`not delivered: ${r.status}`);
      }
    }),
  );
  return rate(label, N, performance.now() - start, peerRate);
}
for (const inFlight of [1, 32]) {
  const plain = await run(`deliver, unsigned (peer), ${inFlight} in flight`, [], inFlight);
  await run(`deliver, signed, ${inFlight} in flight`, [SECRET], inFlight, plain);
}

// 3. The alerter path: decisions → incidents → OCSF → signed delivery, one alert per incident, sequential.
const alerter = new Alerter({
  receivers: [{ target: target([SECRET]), format: 'ocsf', minSeverity: 'low' }],
  caep: [],
  windowMs: 60_000,
  audit: async () => undefined,
  deadLetter: async () => undefined,
});
t0 = performance.now();
const ds = Array.from({ length: N }, (_, i) => decision(N + i));
for (let i = 0; i < N; i += 500) await alerter.handle(ds.slice(i, i + 500));
rate('alerter: decision → incident → OCSF → signed delivery', N, performance.now() - t0);
console.log(
  `(${N.toLocaleString('en')} messages, OCSF payload ${Math.round(bytes)} ` +
    `bytes on average; receiver got ${received.toLocaleString('en')})`,
);
server.close();
