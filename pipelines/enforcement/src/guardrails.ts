// Guardrails between a decision and the gateway: an allowlist that is never acted on, and rate caps — global and per
// tenant — over a sliding minute of wall-clock time. Over a cap, decisions are only alerted, and the SOC hears about
// the cap itself once per minute per scope (a flood of revocations is an incident of its own: an attack on vigil,
// or a bad bundle).
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { Enforcement } from './enforcement.js';

export interface AllowlistConfig {
  subs: string[];
  usernames: string[];
  client_ids: string[];
  /** Addresses or CIDR blocks (v4 or v6). */
  ips: string[];
}

export class Allowlist {
  private readonly subs: Set<string>;
  private readonly usernames: Set<string>;
  private readonly clients: Set<string>;
  private readonly ips = new BlockList();

  constructor(config: AllowlistConfig) {
    this.subs = new Set(config.subs);
    this.usernames = new Set(config.usernames);
    this.clients = new Set(config.client_ids);
    for (const entry of config.ips) {
      const [addr, bits] = entry.split('/');
      const type = isIPv6(addr ?? '') ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.ips.addAddress(addr as string, type);
      else this.ips.addSubnet(addr as string, Number(bits), type);
    }
  }

  /** Why an enforcement must not happen, or undefined. */
  covers(e: Enforcement): string | undefined {
    const p = e.principal;
    if ((e.kind === 'sub' && this.subs.has(e.value)) || (p.sub !== undefined && this.subs.has(p.sub))) return 'sub';
    if (
      (e.kind === 'username' && this.usernames.has(e.value)) ||
      (p.username !== undefined && this.usernames.has(p.username))
    )
      return 'username';
    if (p.client_id !== undefined && this.clients.has(p.client_id)) return 'client_id';
    if (
      e.kind === 'ip' &&
      (isIPv4(e.value) || isIPv6(e.value)) &&
      this.ips.check(e.value, isIPv6(e.value) ? 'ipv6' : 'ipv4')
    )
      return 'ip';
    return undefined;
  }
}

export interface CapsConfig {
  /** Decisions enforced per minute across all tenants (a decision counts once, however many identifiers it covers). */
  per_minute: number;
  /** Decisions enforced per minute for any one tenant (decisions without a tenant count only globally). */
  per_tenant_per_minute: number;
}

export type CapVerdict = { ok: true } | { ok: false; scope: string; limit: number; firstInWindow: boolean };

/** Sliding one-minute windows of enforcement times, global and per tenant. */
export class RateCaps {
  private readonly global: number[] = [];
  private readonly tenants = new Map<string, number[]>();
  /** Last time each scope's cap was reported, so the SOC hears once per window. */
  private readonly reported = new Map<string, number>();

  constructor(private readonly config: CapsConfig) {}

  /** Takes a slot for one enforcement at `now`, or says which cap is full. */
  take(tenant: string | undefined, now: number): CapVerdict {
    const window = (times: number[]) => {
      while (times.length > 0 && (times[0] as number) <= now - 60_000) times.shift();
      return times;
    };
    const g = window(this.global);
    if (g.length >= this.config.per_minute) return this.full('global', this.config.per_minute, now);
    let t: number[] | undefined;
    if (tenant !== undefined) {
      t = window(this.tenants.get(tenant) ?? []);
      this.tenants.set(tenant, t);
      if (t.length >= this.config.per_tenant_per_minute)
        return this.full(`tenant:${tenant}`, this.config.per_tenant_per_minute, now);
    }
    g.push(now);
    t?.push(now);
    return { ok: true };
  }

  private full(scope: string, limit: number, now: number): CapVerdict {
    const last = this.reported.get(scope);
    const firstInWindow = last === undefined || now - last >= 60_000;
    if (firstInWindow) this.reported.set(scope, now);
    return { ok: false, scope, limit, firstInWindow };
  }
}
