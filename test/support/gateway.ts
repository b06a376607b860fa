// Real gateway parts for the enforcement tests: Debian's HAProxy running config/haproxy/haproxy.cfg (the file the
// README tells users to start from) in front of a small backend, Debian's nginx asking vigil's check endpoint
// (auth_request, the configuration of docs/gateways.md), and a real redis-server — each on free loopback ports, in a
// private directory, started and stopped by the test.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
    const c =
      typeof target === 'number' ? createConnection({ port: target, host: '127.0.0.1' }) : createConnection(target);
    c.on('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });

/**
 * Stops a service the test started (SIGKILL unless told) and waits until it is gone (a restart must not race the old
 * process).
 */
async function killAndWait(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.on('exit', r));
  child.kill(signal);
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
  return {
    port: (server.address() as AddressInfo).port,
    hits: () => hits,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A gateway process a test started (HAProxy, nginx), with requests through it. */
export interface Gateway {
  port: number;
  output(): string;
  exitCode(): number | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Sends a request with a bearer token; returns the status. */
  request(
    token: string | undefined,
    init?: { method?: string; body?: string; path?: string; from?: string; agent?: string },
  ): Promise<number>;
}

export interface Haproxy extends Gateway {
  socket: string;
  maps: Record<string, string>;
}

/**
 * A gateway that runs in the foreground (`command args`), listening on `port` once `ready` says so; `logFile` is
 * where it writes besides stdout and stderr; stopped with `stopSignal` (SIGKILL by default). Started by `start()`,
 * again after `stop()`.
 */
function gatewayProcess(
  name: string,
  o: {
    port: number;
    command: string;
    args: string[];
    env?: NodeJS.ProcessEnv;
    ready: () => Promise<boolean>;
    logFile?: string;
    stopSignal?: NodeJS.Signals;
  },
): Gateway {
  let child: ChildProcess | undefined;
  let output = '';
  const all = () => output + (o.logFile && existsSync(o.logFile) ? readFileSync(o.logFile, 'utf8') : '');
  return {
    port: o.port,
    output: all,
    exitCode: () => child?.exitCode ?? null,
    async start() {
      child = spawn(o.command, o.args, { env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.stderr?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      const c = child;
      await waitFor(
        `${name} to listen`,
        async () => {
          if (c.exitCode !== null) throw new Error(`${name} exited: ${all().slice(-1000)}`);
          return o.ready();
        },
        15_000,
        50,
      );
    },
    async stop() {
      if (child) await killAndWait(child, o.stopSignal);
    },
    async request(token, init = {}) {
      const res = await fetch(`http://127.0.0.1:${o.port}${init.path ?? '/v1/accounts/1'}`, {
        method: init.method ?? 'GET',
        // No pooled connections: a restarted gateway must not meet a socket of the killed one.
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
}

export async function startHaproxy(
  backendPort: number,
  pepper: string,
  options: { syslog?: string; trustXff?: boolean } = {},
): Promise<Haproxy> {
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
  const h: Haproxy = {
    ...gatewayProcess('haproxy', {
      port,
      command: '/usr/sbin/haproxy',
      args: ['-db', '-f', join(ROOT, 'config/haproxy/haproxy.cfg')],
      env,
      ready: async () => (await connects(port)) && (await connects(socket)),
    }),
    socket,
    maps,
  };
  await h.start();
  return h;
}

export interface NginxOptions {
  /** host:port of vigil's check endpoint (the revoker's `check`). */
  check: string;
  /**
   * What nginx does when the check endpoint is unreachable, errs or times out: let the request through (the default) or
   * answer 503.
   */
  failOpen?: boolean;
  /**
   * How long nginx waits for the check endpoint (connect, and then its answer); generous by default, for a shared test
   * machine.
   */
  checkTimeoutMs?: number;
  /** host:port of the syslog (UDP) the JSON access log goes to; none by default. */
  syslog?: string;
  /** Take the client's address from X-Forwarded-For (only behind a proxy you trust to set it). */
  trustXff?: boolean;
}

/**
 * nginx in front of `backend`, asking vigil's check endpoint before every request (auth_request) and logging each
 * one as the JSON `--format nginx` reads — docs/gateways.md shows this configuration. The check endpoint's 401 is
 * passed on with its WWW-Authenticate, its 429 becomes 429 with Retry-After (auth_request itself knows only 2xx, 401
 * and 403); when the check endpoint is unreachable, errs or times out, `$vigil_fail_open` decides.
 */
export function nginxConfig(backend: string, listen: string, o: NginxOptions): string {
  const timeout = `${o.checkTimeoutMs ?? 2000}ms`;
  const realIp = '  set_real_ip_from 127.0.0.1;\n  real_ip_header X-Forwarded-For;\n';
  return `
log_format vigil escape=json '{"msec":"$msec","remote_addr":"$remote_addr","request_method":"$request_method",'
  '"request_uri":"$request_uri","status":"$status","request_time":"$request_time","request_length":"$request_length",'
  '"bytes_sent":"$bytes_sent","request_id":"$request_id","http_user_agent":"$http_user_agent","host":"$host",'
  '"http_authorization":"$http_authorization"}';

upstream api { server ${backend}; keepalive 16; }
upstream vigil_check { server ${o.check}; keepalive 16; keepalive_timeout 4s; }

server {
  listen ${listen};
  access_log ${o.syslog ? `syslog:server=${o.syslog},tag=vigil vigil` : 'off'};     # rsyslog omkafka → vigil.access
${o.trustXff ? realIp : ''}  proxy_http_version 1.1;
  proxy_set_header Connection "";
  set $vigil_fail_open ${o.failOpen === false ? 0 : 1};      # 0: refuse (503) while the check endpoint is unreachable

  location / {
    auth_request /_vigil_check;
    error_page 403 = @vigil_throttled;
    error_page 500 = @vigil_unavailable;
    proxy_pass http://api;
  }

  location = /_vigil_check {
    internal;
    proxy_pass http://vigil_check;
    proxy_pass_request_body off;
    proxy_set_header Connection "";        # proxy_set_header here replaces the server's: repeated for keepalive
    proxy_set_header Content-Length "";
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_connect_timeout ${timeout};
    proxy_send_timeout ${timeout};
    proxy_read_timeout ${timeout};
    proxy_intercept_errors on;
    error_page 429 = @vigil_check_throttled;
    error_page 500 502 503 504 = @vigil_check_failed;
  }
  location @vigil_check_throttled { return 403; }
  location @vigil_check_failed {
    if ($vigil_fail_open) { return 204; }
    return 503;
  }
  location @vigil_throttled {
    add_header Retry-After 60 always;
    default_type application/json;
    return 429 '{"error":"too_many_requests"}';
  }
  location @vigil_unavailable {
    default_type application/json;
    return 503 '{"error":"temporarily_unavailable"}';
  }
}
`;
}

/**
 * Debian's nginx with `nginxConfig` in a private directory: its own prefix, pid, error log and temporary files (no
 * /var paths), in the foreground, as the current user.
 */
export async function startNginx(backendPort: number, options: NginxOptions): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-nginx-'));
  const port = await freePort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `${t}_temp_path ${join(dir, t)};`)
    .join('\n  ');
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
lock_file ${join(dir, 'nginx.lock')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  ${temp}
  ${nginxConfig(`127.0.0.1:${backendPort}`, `127.0.0.1:${port}`, options).trim().split('\n').join('\n  ')}
}
`,
  );
  const n = gatewayProcess('nginx', {
    port,
    command: '/usr/sbin/nginx',
    args: ['-p', `${dir}/`, '-e', join(dir, 'error.log'), '-c', conf],
    ready: () => connects(port),
    logFile: join(dir, 'error.log'),
    // A SIGKILLed master leaves its worker serving on the port: TERM makes it stop the worker first.
    stopSignal: 'SIGTERM',
  });
  await n.start();
  return n;
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
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--maxmemory-policy',
        'noeviction',
        '--dir',
        dir,
      ],
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

/**
 * Debian's rsyslogd with config/rsyslog/vigil-kafka.conf: UDP syslog in, each message's JSON produced to a Kafka topic.
 */
export async function startRsyslog(
  brokers: string,
  topic: string,
): Promise<{ address: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-rsyslog-'));
  const child = spawn(
    '/usr/sbin/rsyslogd',
    ['-n', '-f', join(ROOT, 'config/rsyslog/vigil-kafka.conf'), '-i', join(dir, 'pid')],
    {
      env: {
        ...process.env,
        VIGIL_SYSLOG_ADDRESS: '127.0.0.1',
        VIGIL_SYSLOG_PORT: String(port),
        VIGIL_KAFKA_BROKERS: brokers,
        VIGIL_ACCESS_TOPIC: topic,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
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
