// Route classes (login, reads, payments …) and tenants: both come from the request's route template and
// identifiers, by the longest configured prefix, so `/v1/payments/{id}/refunds` can belong to another class than
// `/v1/payments`.
import type { Principal } from '@vigil/events';
import type { PolicyConfig } from './config.js';

export const DEFAULT_CLASS = 'default';

/** Maps a route template to the value of its longest matching prefix. */
export class PrefixMap {
  private readonly entries: [string, string][];

  constructor(map: Record<string, string[]>) {
    this.entries = Object.entries(map)
      .flatMap(([value, prefixes]) => prefixes.map((p): [string, string] => [p, value]))
      .sort((a, b) => b[0].length - a[0].length);
  }

  lookup(route: string): string | undefined {
    for (const [prefix, value] of this.entries) {
      // A prefix matches whole segments: /v1/pay does not match /v1/payments.
      if (matchesPrefix(route, prefix)) return value;
    }
    return undefined;
  }
}

export function matchesPrefix(route: string, prefix: string): boolean {
  return route === prefix || route.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

export class TenantResolver {
  private readonly prefixes: PrefixMap;

  constructor(private readonly config: PolicyConfig['tenant']) {
    this.prefixes = new PrefixMap(config.route_prefixes);
  }

  /** The tenant a request belongs to; undefined when tenants are not configured or the request names none. */
  tenantOf(ctx: { route: string; service?: string }, ids: Principal): string | undefined {
    switch (this.config.by) {
      case 'client_id':
        return ids.client_id;
      case 'service':
        return ctx.service;
      case 'route_prefix':
        return this.prefixes.lookup(ctx.route);
      default:
        return undefined;
    }
  }
}
