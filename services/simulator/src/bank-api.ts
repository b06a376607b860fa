// The demo bank API: the small service the gateway fronts in the end-to-end test and the compose stack, serving the
// calls the bank simulator makes. Customers, accounts and passwords follow the simulator's numbering (customers.ts),
// so a driven simulation (drive.ts) meets the same bank it logs. Access tokens are the demo IdP's HS256 JWTs
// (tokens.ts), checked for signature and expiry on every call; an account another customer owns answers 403, one that
// does not exist 404 — what BOLA probing looks like in a real API's access log.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { accountOwner, customerIds, customerOfSub, customerOfUsername } from './customers.js';
import { seeded } from './random.js';
import { issueToken, verifyDemoToken } from './tokens.js';

/** A demo customer's password (what a successful login sends; anything else is a failed login). */
export const demoPassword = (username: string) =>
  createHmac('sha256', 'vigil-demo-bank-passwords').update(username).digest('base64url').slice(0, 16);

const TOKEN_TTL_S = 900;
const MAX_BODY = 16 * 1024;

export interface BankApiOptions {
  /** Customers 0 … customers-1 exist (the simulator's numbering). */
  customers: number;
  /** Seeds the ids of tokens the API issues itself. */
  seed?: number;
  /** Wall clock, epoch ms (tests move it). */
  now?: () => number;
}

export interface BankApi {
  server: Server;
  port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Statement lines derived from the account number and page, so a page reads the same every time. */
function transactions(account: string, page: number) {
  const rng = seeded(Number(account) * 31 + page);
  return Array.from({ length: 20 }, (_, k) => ({
    id: `tx-${account}-${page}-${k}`,
    amount: -Math.round(rng.next() * 20_000) / 100,
    currency: 'GBP',
    description: rng.pick(['CARD PAYMENT', 'DIRECT DEBIT', 'TRANSFER', 'STANDING ORDER']),
  }));
}

export function createBankApi(options: BankApiOptions): Server {
  const now = options.now ?? Date.now;
  const rng = seeded(options.seed ?? 1);
  const { customers } = options;
  const invalidToken = (res: ServerResponse) =>
    send(
      res,
      401,
      { error: 'invalid_token' },
      {
        'www-authenticate': 'Bearer error="invalid_token", error_description="The access token is invalid or expired"',
      },
    );

  const tokenResponse = (res: ServerResponse, sub: string, clientId: string, sid?: string) => {
    const { token } = issueToken(rng, sub, now(), { clientId, ttlS: TOKEN_TTL_S, ...(sid ? { sid } : {}) });
    // The demo accepts a session's last access token as its refresh token (a real IdP issues a separate one).
    send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: TOKEN_TTL_S, refresh_token: token });
  };

  async function oauthToken(req: IncomingMessage, res: ServerResponse) {
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, { error: 'request_too_large' });
    const form = new URLSearchParams(body);
    const clientId = form.get('client_id') ?? 'vigil-bank-app';
    const grant = form.get('grant_type');
    if (grant === 'password') {
      const username = form.get('username') ?? '';
      const i = customerOfUsername(username, customers);
      // One answer for an unknown user and a wrong password: no account enumeration through the login.
      if (i === undefined || form.get('password') !== demoPassword(username))
        return send(res, 401, { error: 'invalid_grant' });
      return tokenResponse(res, customerIds(i).sub, clientId);
    }
    if (grant === 'refresh_token') {
      const claims = verifyDemoToken(form.get('refresh_token') ?? '');
      if (!claims || customerOfSub(claims.sub, customers) === undefined)
        return send(res, 401, { error: 'invalid_grant' });
      return tokenResponse(res, claims.sub, clientId, claims.sid);
    }
    return send(res, 400, { error: 'unsupported_grant_type' });
  }

  /** An account or its transactions: only its owner may read it (another customer's id is the BOLA the demo shows). */
  function accountRead(res: ServerResponse, me: number, id: string, history: boolean, url: URL) {
    const owner = accountOwner(id, customers);
    if (owner === undefined) return send(res, 404, { error: 'not_found' });
    if (owner !== me) return send(res, 403, { error: 'forbidden' });
    if (!history) return send(res, 200, { id, currency: 'GBP', balance: (Number(id) % 997_331) / 100 });
    const page = Math.max(1, Math.min(1000, Number(url.searchParams.get('page') ?? '1') || 1));
    return send(res, 200, { page, transactions: transactions(id, page) });
  }

  /** A payment from one of the caller's own accounts. */
  async function payment(req: IncomingMessage, res: ServerResponse, me: number) {
    const body = await readBody(req);
    let payment: { account_id?: unknown; payee_id?: unknown; amount?: unknown; currency?: unknown } | undefined;
    try {
      payment = body === undefined ? undefined : JSON.parse(body);
    } catch {
      payment = undefined;
    }
    if (
      !payment ||
      typeof payment.account_id !== 'string' ||
      typeof payment.payee_id !== 'string' ||
      typeof payment.amount !== 'number' ||
      !(payment.amount > 0)
    ) {
      return send(res, 400, {
        error: 'invalid_request',
        detail: 'a payment needs account_id, payee_id and a positive amount',
      });
    }
    const owner = accountOwner(payment.account_id, customers);
    if (owner === undefined) return send(res, 404, { error: 'not_found' });
    if (owner !== me) return send(res, 403, { error: 'forbidden' });
    return send(res, 201, { id: `pay-${rng.hex(12)}`, status: 'accepted' });
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://bank.invalid');
    const path = url.pathname;
    if (path === '/healthz') return send(res, 200, { status: 'ok' });
    if (path === '/oauth/token')
      return req.method === 'POST' ? oauthToken(req, res) : send(res, 405, { error: 'method_not_allowed' });
    if (!path.startsWith('/v1/')) return send(res, 404, { error: 'not_found' });

    const me = caller(req);
    if (me === undefined) return invalidToken(res);
    return customerRoute(req, res, url, me);
  }

  /** The customer a request's bearer token names, when it is valid and unexpired. */
  function caller(req: IncomingMessage): number | undefined {
    const auth = req.headers.authorization ?? '';
    const claims = auth.startsWith('Bearer ') ? verifyDemoToken(auth.slice(7)) : undefined;
    return claims && claims.exp * 1000 > now() ? customerOfSub(claims.sub, customers) : undefined;
  }

  /** The API a signed-in customer calls. */
  async function customerRoute(req: IncomingMessage, res: ServerResponse, url: URL, me: number) {
    const path = url.pathname;
    const mine = [customerIds(me).account, customerIds(me).savings];
    if (path === '/v1/accounts' && req.method === 'GET')
      return send(res, 200, { accounts: mine.map((id) => ({ id, currency: 'GBP' })) });
    if (path === '/v1/payees' && req.method === 'GET') {
      return send(res, 200, {
        payees: Array.from({ length: 5 }, (_, k) => ({ id: `payee-${me}-${k}`, name: `Payee ${k + 1}` })),
      });
    }
    const account = /^\/v1\/accounts\/([^/]+)(\/transactions)?$/.exec(path);
    if (account && req.method === 'GET')
      return accountRead(res, me, account[1] as string, account[2] !== undefined, url);
    if (path === '/v1/payments' && req.method === 'POST') return payment(req, res, me);
    return send(res, 404, { error: 'not_found' });
  }

  return createServer((req, res) => {
    handle(req, res).catch(() => {
      // Nothing internal leaves the API.
      if (!res.headersSent) send(res, 500, { error: 'internal_error' });
      else res.destroy();
    });
  });
}

/** Starts the demo bank API on host:port (port 0: a free one). */
export async function startBankApi(options: BankApiOptions & { port?: number; host?: string }): Promise<BankApi> {
  const server = createBankApi(options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
