// A Redis denylist: one key per enforcement, `SET <prefix><kind>:<value> <json> EX <seconds>` (never 0 or negative:
// an expired entry is removed, not set), and a `PUBLISH` on the channel so gateways holding a local cache (Kong with
// a Redis-backed plugin, nginx/OpenResty with Lua) drop the token at once. The keys are the truth a gateway re-syncs
// from; Redis must not evict them (`maxmemory-policy noeviction`, docs/enforcement.md). Commands fail fast while Redis
// is down (no offline queue), so the revoker's retry loop — not a silent client buffer — owns the waiting. A Redis
// that restarts without persistence comes back empty: `lostState` notices a new server (its run_id changes at every
// start), and the revoker re-syncs it from vigil.revocations, as it does HAProxy.
import { retriable } from '@vigil/core';
import { createClient } from 'redis';
import type { Enforcement } from '../../enforcement.js';
import type { GatewayAdapter } from '../target.js';

export interface RedisAdapterOptions {
  url: string;
  prefix: string;
  channel: string;
  name?: string;
  now?: () => number;
}

export class RedisAdapter implements GatewayAdapter {
  readonly name: string;
  private readonly client: ReturnType<typeof createClient>;
  private connecting: Promise<unknown> | undefined;

  constructor(private readonly options: RedisAdapterOptions) {
    this.name = options.name ?? 'redis';
    this.client = createClient({
      url: options.url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 2000, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2000) },
    });
    // Errors surface through the commands (retried by the revoker); the client's own event must not crash the process.
    this.client.on('error', () => undefined);
  }

  supports(_e: Enforcement): boolean {
    return true;
  }

  key(e: Pick<Enforcement, 'id'>): string {
    return `${this.options.prefix}${e.id}`;
  }

  private async ready() {
    if (!this.client.isOpen) {
      this.connecting ??= this.client.connect().finally(() => {
        this.connecting = undefined;
      });
      await this.connecting;
    }
    if (!this.client.isReady) throw retriable('redis_unavailable', 'redis is not reachable');
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      await this.ready();
      return await fn();
    } catch (err) {
      throw retriable('redis_unavailable', `redis: ${(err as Error).message}`, err);
    }
  }

  static record(e: Enforcement) {
    return JSON.stringify({
      action: e.action,
      kind: e.kind,
      value: e.value,
      ...(e.not_before !== undefined ? { not_before: e.not_before } : {}),
      expires_at: e.expires_at,
      request_id: e.request_id,
    });
  }

  async apply(e: Enforcement): Promise<void> {
    const seconds = Math.ceil((e.expires_at - (this.options.now ?? Date.now)()) / 1000);
    if (seconds <= 0) return this.remove(e);
    await this.run(() =>
      this.client
        .multi()
        .set(this.key(e), RedisAdapter.record(e), { expiration: { type: 'EX', value: seconds } })
        .publish(this.options.channel, JSON.stringify({ op: 'add', id: e.id, ...JSON.parse(RedisAdapter.record(e)) }))
        .exec(),
    );
  }

  async remove(e: Enforcement): Promise<void> {
    await this.run(() =>
      this.client
        .multi()
        .del(this.key(e))
        .publish(this.options.channel, JSON.stringify({ op: 'del', id: e.id }))
        .exec(),
    );
  }

  /** The server's run_id: random at every start of a Redis process, so a change means a restart. */
  private runId: string | undefined;

  private async serverRunId(): Promise<string> {
    const info = await this.run(() => this.client.info('server'));
    return /run_id:([0-9a-f]+)/.exec(info)?.[1] ?? '';
  }

  async lostState(): Promise<boolean> {
    const now = await this.serverRunId();
    return this.runId === undefined || now !== this.runId;
  }

  /** Sets every entry again and deletes vigil keys that are no longer listed. */
  async resync(entries: Enforcement[]): Promise<void> {
    const runId = await this.serverRunId();
    const keep = new Set(entries.map((e) => this.key(e)));
    const stale: string[] = [];
    await this.run(async () => {
      for await (const keys of this.client.scanIterator({ MATCH: `${this.options.prefix}*`, COUNT: 500 })) {
        for (const k of keys) if (!keep.has(k)) stale.push(k);
      }
    });
    for (const k of stale) await this.run(() => this.client.del(k));
    for (const e of entries) await this.apply(e);
    // Recorded only once the server holds the whole list: a restart during the re-sync is noticed next time.
    this.runId = runId;
  }

  async close(): Promise<void> {
    if (this.client.isOpen) await this.client.close().catch(() => undefined);
  }
}
