// Real gateway parts for the enforcement tests: Debian's HAProxy running config/haproxy/haproxy.cfg (the file the
// README tells users to start from) in front of a small backend, and a real redis-server — each on free loopback
// ports, in a private directory, started and stopped by the test.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createConnection, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, waitFor } from './services.js';

export const MAP_NAMES = [
  'revoke_sub',
  'step_up_sub',
  'revoke_jti',
  'revoke_fingerprint',
  'step_up_jti',
  'step_up_fingerprint',
  'throttle_ip',
  'throttle_username',
] as const;

export async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const connects = (target: string | number) =>
  new Promise<boolean>((resolve) => {
    const c = typeof target === 'number' ? createConnection({ port: target, host: '127.0.0.1' }) : createConnection(target);
    c.on('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });

/** SIGKILLs a service the test started and waits until it is gone (a restart must not race the old process). */
async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** A backend that answers 200 to everything and counts what reached it. */
export async function startBackend(): Promise<{ port: number; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, hits: () => hits, close: () => new Promise((r) => server.close(() => r())) };
}

export interface Haproxy {
  port: number;
  socket: string;
  maps: Record<string, string>;
  output(): string;
  exitCode(): number | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Sends a request with a bearer token; returns the status. */
  request(token: string | undefined, init?: { method?: string; body?: string; path?: string; from?: string; agent?: string }): Promise<number>;
}

export async function startHaproxy(backendPort: number, pepper: string, options: { syslog?: string; trustXff?: boolean } = {}): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-haproxy-'));
  const maps = Object.fromEntries(MAP_NAMES.map((m) => [m, join(dir, `${m}.map`)]));
  for (const path of Object.values(maps)) writeFileSync(path, '');
  const port = await freePort();
  const socket = join(dir, 'admin.sock');
  const env = {
    ...process.env,
    VIGIL_HAPROXY_SOCKET: socket,
    VIGIL_HAPROXY_BIND: `127.0.0.1:${port}`,
    VIGIL_BACKEND: `127.0.0.1:${backendPort}`,
    VIGIL_MAPS: dir,
    VIGIL_PEPPER_B64: Buffer.from(pepper).toString('base64'),
    // Nobody listens on the discard port unless a test passes a syslog: UDP log lines are simply dropped.
    VIGIL_SYSLOG: options.syslog ?? '127.0.0.1:9',
    ...(options.trustXff ? { VIGIL_TRUST_XFF: '1' } : {}),
  };
  let child: ChildProcess | undefined;
  let output = '';
  const h: Haproxy = {
    port,
    socket,
    maps,
    output: () => output,
    exitCode: () => child?.exitCode ?? null,
    async start() {
      child = spawn('/usr/sbin/haproxy', ['-db', '-f', join(ROOT, 'config/haproxy/haproxy.cfg')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.stderr?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      const c = child;
      await waitFor(
        'haproxy to listen',
        async () => {
          if (c.exitCode !== null) throw new Error(`haproxy exited: ${output.slice(-1000)}`);
          return (await connects(port)) && (await connects(socket));
        },
        15_000,
        50,
      );
    },
    async stop() {
      if (child) await killAndWait(child);
    },
    async request(token, init = {}) {
      const res = await fetch(`http://127.0.0.1:${port}${init.path ?? '/v1/accounts/1'}`, {
        method: init.method ?? 'GET',
        // No pooled connections: a restarted HAProxy must not meet a socket of the killed one.
        headers: {
          connection: 'close',
          ...(init.from ? { 'x-forwarded-for': init.from } : {}),
          ...(init.agent ? { 'user-agent': init.agent } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(init.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(init.body ? { body: init.body } : {}),
      });
      await res.arrayBuffer();
      return res.status;
    },
  };
  await h.start();
  return h;
}

export interface Redis {
  url: string;
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (a restart without persistence). */
  start(): Promise<void>;
}

export async function startRedis(): Promise<Redis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-redis-'));
  // No persistence, as many deployments run a denylist: a restarted Redis comes back empty.
  const spawnServer = async () => {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--dir', dir],
      { stdio: 'ignore' },
    );
    await waitFor('redis to listen', async () => connects(port), 15_000, 50);
    return child;
  };
  let child: ChildProcess | undefined = await spawnServer();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      if (child) await killAndWait(child);
      child = undefined;
    },
    start: async () => {
      child ??= await spawnServer();
    },
  };
}

/** An unsigned JWT with the given claims (the gateway decodes, the backend would verify). */
export function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.c2ln`;
}

/** The entries of one HAProxy map, through the Runtime API: [key, value] pairs. */
export function showMap(socket: string, map: string): Promise<[string, string][]> {
  return new Promise((resolve, reject) => {
    const c = createConnection(socket);
    let out = '';
    c.setEncoding('utf8');
    c.on('data', (d) => {
      out += d;
    });
    c.on('error', reject);
    c.on('close', () =>
      resolve(
        out
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => l.trim().split(/\s+/).slice(1, 3) as [string, string]),
      ),
    );
    c.write(`show map ${map}\n`);
  });
}

/** Debian's rsyslogd with config/rsyslog/vigil-kafka.conf: UDP syslog in, each message's JSON produced to a Kafka topic. */
export async function startRsyslog(brokers: string, topic: string): Promise<{ address: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-rsyslog-'));
  const child = spawn('/usr/sbin/rsyslogd', ['-n', '-f', join(ROOT, 'config/rsyslog/vigil-kafka.conf'), '-i', join(dir, 'pid')], {
    env: { ...process.env, VIGIL_SYSLOG_ADDRESS: '127.0.0.1', VIGIL_SYSLOG_PORT: String(port), VIGIL_KAFKA_BROKERS: brokers, VIGIL_ACCESS_TOPIC: topic },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  // UDP has no handshake to wait for: give rsyslogd a moment, and fail if it has exited.
  await new Promise((r) => setTimeout(r, 700));
  if (child.exitCode !== null) throw new Error(`rsyslogd exited: ${output.slice(-1000)}`);
  return {
    address: `127.0.0.1:${port}`,
    stop: () => killAndWait(child),
  };
}
