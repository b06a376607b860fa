// Drives simulated traffic over HTTP: each simulated request, at its simulated time (scaled by `speed`), is sent to a
// gateway in front of the demo bank API (bank-api.ts) as the customer's app or the attacker would send it — the
// client address in X-Forwarded-For (the gateway trusts it only when told to), the agent, the bearer token, a login
// form with the right password when the simulation says the login succeeds and a wrong one when it fails. The gateway
// then writes the access log itself, in its own format and clock: the end-to-end test and the compose stack run on
// that log rather than on a rendered one.
import { demoPassword } from './bank-api.js';
import { seeded } from './random.js';
import { issueToken } from './tokens.js';
import type { SimRequest } from './traffic.js';

export interface DriveOptions {
  /** Base URL of the gateway (or of the API itself). */
  target: string;
  /** Simulated milliseconds per wall-clock millisecond (1: real time). */
  speed?: number;
  /** Requests in flight at most; past it the driver waits (and falls behind schedule rather than piling up). */
  maxInFlight?: number;
  signal?: AbortSignal;
  /** Each answer, as it arrives (the status is 0 when the request failed to get one). */
  onAnswer?: (request: SimRequest, status: number) => void;
}

export interface DriveReport {
  sent: number;
  /** Answers by HTTP status (0: no answer — connection refused, reset, timed out). */
  statuses: Record<number, number>;
  /** Answers whose status is the one the simulation logged (differences: the gateway refusing, the API disagreeing). */
  asSimulated: number;
  /** How far behind schedule the driver fell at worst, ms. */
  maxLagMs: number;
}

/** The HTTP request a simulated one becomes: method, path, headers and body. */
export function httpRequestOf(
  r: SimRequest,
  previousToken: (sub: string) => string | undefined,
): { method: string; path: string; headers: Record<string, string>; body?: string } {
  const headers: Record<string, string> = {
    'x-forwarded-for': r.clientIp,
    'user-agent': r.userAgent,
    'x-request-id': r.requestId,
  };
  if (r.token) headers.authorization = `Bearer ${r.token}`;
  let body: string | undefined;
  if (r.grantType === 'password') {
    const username = r.loginUsername ?? '';
    const password = r.status === 200 ? demoPassword(username) : `not-${demoPassword(username)}`;
    body = new URLSearchParams({
      grant_type: 'password',
      username,
      password,
      client_id: r.claims?.client_id ?? 'vigil-bank-app',
    }).toString();
  } else if (r.grantType === 'refresh_token') {
    // The session's last token, or — when the app's session began before the drive did — one the app remembers.
    const sub = r.who?.sub ?? '';
    const refresh = previousToken(sub) ?? issueToken(seeded(r.ts), sub, r.ts - 86_400_000, { ttlS: 900 }).token;
    body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh }).toString();
  } else if (r.tx) {
    body = JSON.stringify(r.tx);
  }
  if (body !== undefined)
    headers['content-type'] = r.grantType ? 'application/x-www-form-urlencoded' : 'application/json';
  return { method: r.method, path: r.uri, headers, ...(body !== undefined ? { body } : {}) };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export async function drive(requests: Iterable<SimRequest>, o: DriveOptions): Promise<DriveReport> {
  const speed = o.speed ?? 1;
  const maxInFlight = o.maxInFlight ?? 64;
  const base = o.target.replace(/\/$/, '');
  const report: DriveReport = { sent: 0, statuses: {}, asSimulated: 0, maxLagMs: 0 };
  const lastToken = new Map<string, string>();
  const inFlight = new Set<Promise<void>>();
  let simStart: number | undefined;
  const wallStart = Date.now();

  const send = async (r: SimRequest) => {
    const req = httpRequestOf(r, (sub) => lastToken.get(sub));
    let status = 0;
    try {
      const res = await fetch(`${base}${req.path}`, {
        method: req.method,
        headers: req.headers,
        ...(req.body !== undefined ? { body: req.body } : {}),
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      status = res.status;
    } catch {
      status = 0;
    }
    report.statuses[status] = (report.statuses[status] ?? 0) + 1;
    if (status === r.status) report.asSimulated++;
    o.onAnswer?.(r, status);
  };

  for (const r of requests) {
    if (o.signal?.aborted) break;
    simStart ??= r.ts;
    const due = wallStart + (r.ts - simStart) / speed;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait, o.signal);
    else report.maxLagMs = Math.max(report.maxLagMs, -wait);
    if (r.token && r.claims) lastToken.set(r.claims.sub, r.token);
    const p = send(r).finally(() => inFlight.delete(p));
    inFlight.add(p);
    report.sent++;
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return report;
}
