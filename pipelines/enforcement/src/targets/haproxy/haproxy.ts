// HAProxy through its Runtime API (the stats socket, `level admin`): one map per (action, identifier kind), checked by
// the gateway's ACLs on every request (docs/gateways.md, "HAProxy"). A map entry takes effect on the next request, no
// reload.
// - Values: a subject's entry holds its cut-off (tokens with iat below it are refused); every other entry holds its
//   expiry in epoch seconds, which the ACL compares with `date`, so an entry vigil has not pruned yet cannot
//   outlive its time.
// - Runtime entries are not written to the map files and vanish when HAProxy restarts: `lostState` notices a new
//   process (Pid or uptime), and `resync` rebuilds each map atomically (prepare map → add map @version → commit
//   map).
// - `add map` does not check for an existing key, so apply is `set map` first and `add map` only when the entry is
//   absent: applying twice leaves one entry.
// - One command and its payload must fit HAProxy's buffer (tune.bufsize, 16 KB by default): bulk adds are cut into
//   payloads of at most 8 KB.

import { createConnection } from 'node:net';
import { nonRetriable, retriable } from '@vigil/core';
import type { Enforcement } from '../../enforcement.js';
import type { GatewayAdapter } from '../target.js';

export interface HaproxyAdapterOptions {
  /** Unix socket path, or host:port of a TCP stats socket. */
  socket: string;
  /** Map file per `${action}_${kind}`, e.g. revoke_sub, revoke_jti, revoke_fingerprint, step_up_sub, throttle_ip. */
  maps: Record<string, string>;
  timeoutMs?: number;
  name?: string;
}

const MAX_PAYLOAD = 8 * 1024;
// Keys and values go into a line-oriented protocol: nothing that could end a line or a word.
const SAFE = /^[A-Za-z0-9._:@/+=|~-]{1,512}$/;

export class HaproxyAdapter implements GatewayAdapter {
  readonly name: string;
  private identity: { pid: string; uptime: number } | undefined;

  constructor(private readonly options: HaproxyAdapterOptions) {
    this.name = options.name ?? 'haproxy';
  }

  private mapOf(e: Enforcement): string | undefined {
    return this.options.maps[`${e.action}_${e.kind}`];
  }

  supports(e: Enforcement): boolean {
    return this.mapOf(e) !== undefined;
  }

  static value(e: Enforcement): string {
    return String(e.kind === 'sub' && e.not_before !== undefined ? e.not_before : Math.ceil(e.expires_at / 1000));
  }

  async apply(e: Enforcement): Promise<void> {
    const map = this.mapOf(e);
    if (!map) return;
    const key = checked(e.value);
    const value = HaproxyAdapter.value(e);
    const set = await this.command(`set map ${map} ${key} ${value}`);
    if (set === '') return;
    if (!/not found/i.test(set)) throw nonRetriable('haproxy_refused', `haproxy refused set map: ${set.slice(0, 200)}`);
    const add = await this.command(`add map ${map} ${key} ${value}`);
    if (add !== '') throw nonRetriable('haproxy_refused', `haproxy refused add map: ${add.slice(0, 200)}`);
  }

  async remove(e: Enforcement): Promise<void> {
    const map = this.mapOf(e);
    if (!map) return;
    const out = await this.command(`del map ${map} ${checked(e.value)}`);
    if (out !== '' && !/not found/i.test(out))
      throw nonRetriable('haproxy_refused', `haproxy refused del map: ${out.slice(0, 200)}`);
  }

  async resync(entries: Enforcement[]): Promise<void> {
    const byMap = new Map<string, Enforcement[]>(Object.values(this.options.maps).map((m) => [m, []]));
    for (const e of entries) {
      const map = this.mapOf(e);
      if (map) byMap.get(map)?.push(e);
    }
    for (const [map, list] of byMap) {
      const prepared = await this.command(`prepare map ${map}`);
      const version = /New version created:\s*(\d+)/.exec(prepared)?.[1];
      if (version === undefined)
        throw nonRetriable('haproxy_refused', `haproxy refused prepare map ${map}: ${prepared.slice(0, 200)}`);
      let payload = '';
      const send = async () => {
        if (payload === '') return;
        const out = await this.command(`add map @${version} ${map} <<\n${payload}\n`);
        if (out !== '') throw nonRetriable('haproxy_refused', `haproxy refused add map: ${out.slice(0, 200)}`);
        payload = '';
      };
      for (const e of list) {
        const line = `${checked(e.value)} ${HaproxyAdapter.value(e)}\n`;
        if (payload.length + line.length > MAX_PAYLOAD) await send();
        payload += line;
      }
      await send();
      const committed = await this.command(`commit map @${version} ${map}`);
      if (committed !== '')
        throw nonRetriable('haproxy_refused', `haproxy refused commit map: ${committed.slice(0, 200)}`);
    }
    this.identity = await this.processIdentity();
  }

  async lostState(): Promise<boolean> {
    const now = await this.processIdentity();
    const before = this.identity;
    if (before === undefined) return true;
    return now.pid !== before.pid || now.uptime < before.uptime;
  }

  private async processIdentity(): Promise<{ pid: string; uptime: number }> {
    const info = await this.command('show info');
    const pid = /^Pid:\s*(\d+)/m.exec(info)?.[1] ?? '';
    const uptime = Number(/^Uptime_sec:\s*(\d+)/m.exec(info)?.[1] ?? '0');
    return { pid, uptime };
  }

  /** Sends one command (non-interactive mode: HAProxy answers and closes); resolves with the trimmed answer. */
  command(cmd: string): Promise<string> {
    if (Buffer.byteLength(cmd) + 1 > 16_000)
      return Promise.reject(nonRetriable('haproxy_command_too_large', 'a Runtime API command must stay under 16 KB'));
    const socket = this.options.socket;
    const [host, port] = socket.includes('/') ? [undefined, undefined] : socket.split(':');
    return new Promise((resolve, reject) => {
      const conn = host !== undefined ? createConnection({ host, port: Number(port) }) : createConnection(socket);
      let out = '';
      const timer = setTimeout(() => conn.destroy(new Error('timed out')), this.options.timeoutMs ?? 2000);
      conn.setEncoding('utf8');
      conn.on('data', (d) => {
        out += d;
      });
      conn.on('error', (err) => {
        clearTimeout(timer);
        reject(retriable('haproxy_unavailable', `haproxy runtime API unavailable: ${err.message}`, err));
      });
      conn.on('close', (hadError) => {
        clearTimeout(timer);
        if (!hadError) resolve(out.trim());
      });
      conn.write(cmd.endsWith('\n') ? cmd : `${cmd}\n`);
    });
  }

  async close(): Promise<void> {}
}

function checked(s: string): string {
  if (!SAFE.test(s)) throw nonRetriable('haproxy_unsafe_key', 'identifier has characters the Runtime API cannot carry');
  return s;
}
