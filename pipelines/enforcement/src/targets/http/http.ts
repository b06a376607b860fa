// A templated HTTP call per enforcement — for gateways with an admin API and for identity providers.
// Placeholders {kind} {value} {action} {sub} {sid} {jti} {client_id} {consumer_id} {credential_id} {username}
// {not_before} {expires_at} are filled from the enforcement (URL-encoded in the URL, JSON-escaped in a JSON body);
// {env:NAME} reads a secret from the environment (an admin token, say) so it never sits in the config file. An entry
// missing a placeholder's value is not this adapter's to enforce. 2xx confirms, and so does 404 on removal (already
// gone); 5xx, 429, timeouts and connection errors are retried; any other 4xx is a refusal that retrying cannot mend.
//
// Presets (each a target of its own, in ../kong and ../idp):
// - `kong`: DELETE <admin>/consumers/{consumer_id}/<credential type>/{credential_id} — removes the credential the
//   token was issued to (Kong's authenticated_entity), so the token stops working at once.
// - `idp_session`: DELETE <base>/sessions/{sid} — ends an IdP session and with it the refresh-token family
//   (Keycloak's admin API has this shape: /admin/realms/<realm>/sessions/{sid}).
import { nonRetriable, retriable } from '@vigil/core';
import type { EnforcedAction, Enforcement, TargetKind } from '../../enforcement.js';
import type { GatewayAdapter } from '../target.js';

export interface HttpRequestTemplate {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface HttpAdapterOptions {
  name: string;
  /** Which enforcements this adapter handles. */
  kinds: TargetKind[];
  actions: EnforcedAction[];
  apply: HttpRequestTemplate;
  /** How to lift an enforcement (undo, expiry); without it removal is a no-op (the IdP has nothing to restore). */
  remove?: HttpRequestTemplate;
  timeoutMs: number;
  env?: Record<string, string | undefined>;
}

type Fields = Record<string, string | undefined>;

function fields(e: Enforcement): Fields {
  return {
    kind: e.kind,
    value: e.value,
    action: e.action,
    ...e.principal,
    not_before: e.not_before === undefined ? undefined : String(e.not_before),
    expires_at: String(e.expires_at),
  };
}

/** Fills a template; undefined when a placeholder has no value. */
export function fill(
  template: string,
  values: Fields,
  encode: (s: string) => string,
  env: Record<string, string | undefined>,
): string | undefined {
  let missing = false;
  const out = template.replace(
    /\{(env:)?([A-Za-z_][A-Za-z0-9_]*)\}/g,
    (_m, isEnv: string | undefined, name: string) => {
      const v = isEnv ? env[name] : values[name];
      if (v === undefined) {
        missing = true;
        return '';
      }
      return isEnv ? v : encode(v);
    },
  );
  return missing ? undefined : out;
}

const jsonEscape = (s: string) => JSON.stringify(s).slice(1, -1);

export class HttpAdapter implements GatewayAdapter {
  readonly name: string;
  private readonly env: Record<string, string | undefined>;

  constructor(private readonly options: HttpAdapterOptions) {
    this.name = options.name;
    this.env = options.env ?? process.env;
  }

  supports(e: Enforcement): boolean {
    return (
      this.options.kinds.includes(e.kind) &&
      this.options.actions.includes(e.action) &&
      this.request(this.options.apply, e) !== undefined
    );
  }

  private request(
    t: HttpRequestTemplate,
    e: Enforcement,
  ): { method: string; url: string; headers: Record<string, string>; body?: string } | undefined {
    const values = fields(e);
    const url = fill(t.url, values, encodeURIComponent, this.env);
    if (url === undefined) return undefined;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(t.headers)) {
      const filled = fill(v, values, (s) => s, this.env);
      if (filled === undefined) return undefined;
      headers[k] = filled;
    }
    if (t.body === undefined) return { method: t.method, url, headers };
    const body = fill(t.body, values, jsonEscape, this.env);
    return body === undefined ? undefined : { method: t.method, url, headers, body };
  }

  async apply(e: Enforcement): Promise<void> {
    await this.send(this.options.apply, e, false);
  }

  async remove(e: Enforcement): Promise<void> {
    if (this.options.remove) await this.send(this.options.remove, e, true);
  }

  private async send(t: HttpRequestTemplate, e: Enforcement, removing: boolean): Promise<void> {
    const req = this.request(t, e);
    if (!req) return;
    let res: Response;
    try {
      res = await fetch(req.url, {
        method: req.method,
        headers: req.body !== undefined ? { 'content-type': 'application/json', ...req.headers } : req.headers,
        ...(req.body !== undefined ? { body: req.body } : {}),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      throw retriable(
        'http_unavailable',
        `${this.name}: ${(err as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable'}`,
        err,
      );
    }
    if (res.ok || (res.status === 404 && (removing || req.method === 'DELETE'))) return;
    if (res.status >= 500 || res.status === 429 || res.status === 408)
      throw retriable('http_unavailable', `${this.name}: answered ${res.status}`);
    throw nonRetriable('http_refused', `${this.name}: answered ${res.status}`);
  }

  async close(): Promise<void> {}
}
