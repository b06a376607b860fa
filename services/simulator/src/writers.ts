// Renders simulated requests as each gateway's JSON access log, the way the gateway configs in docs/gateways.md write
// them.
// `claims` mode logs decoded claims + a gateway-computed fingerprint (the recommended set-up); `bearer` logs the
// raw Authorization header (Kong's default serializer before 3.x redaction, nginx with $http_authorization).
import type { GatewayFormat } from '@vigil/events';
import type { SimRequest } from './traffic.js';

export type CredentialMode = 'bearer' | 'claims';

const iso = (ts: number) => new Date(ts).toISOString();

/** What a record may say of the request's credentials: the raw header (`bearer`) or the decoded claims (`claims`). */
interface Credentials {
  authorization: string | undefined;
  auth: Record<string, unknown> | undefined;
}

type Renderer = (r: SimRequest, c: Credentials) => Record<string, unknown>;

/** What envoy, HAProxy and nginx log after their own fields: credentials, the login's username, the payment. */
const loggedExtras = (r: SimRequest, { authorization, auth }: Credentials) => ({
  ...(authorization ? { authorization } : {}),
  ...(auth ? { auth } : {}),
  ...(r.loginUsername ? { username: r.loginUsername } : {}),
  ...(r.tx ? { tx: r.tx } : {}),
});

/** One renderer per gateway, each writing the fields its config in docs/gateways.md logs. */
const RENDERERS: Record<GatewayFormat, Renderer> = {
  kong: (r, { authorization, auth }) => {
    const headers: Record<string, string> = { host: 'api.vigil-bank.test', 'user-agent': r.userAgent };
    if (authorization) headers.authorization = authorization;
    const q = r.uri.indexOf('?');
    const querystring = q < 0 ? {} : Object.fromEntries(new URLSearchParams(r.uri.slice(q + 1)));
    return {
      started_at: r.ts,
      client_ip: r.clientIp,
      request: {
        id: r.requestId,
        method: r.method,
        uri: r.uri,
        url: `https://api.vigil-bank.test${r.uri}`,
        size: r.bytesIn,
        querystring,
        headers,
        ...(r.loginUsername ? { body_username: r.loginUsername } : {}),
        ...(r.grantType ? { body_grant_type: r.grantType, body_client_id: 'vigil-bank-app' } : {}),
      },
      response: { status: r.status, size: r.bytesOut, headers: { 'content-type': 'application/json' } },
      latencies: { request: r.latencyMs, kong: 1, proxy: r.latencyMs - 1 },
      route: { name: 'bank-api' },
      service: { name: 'bank' },
      ...(auth ? { auth } : {}),
      ...(r.tx ? { tx: r.tx } : {}),
    };
  },
  envoy: (r, c) => ({
    start_time: iso(r.ts),
    method: r.method,
    path: r.uri,
    response_code: r.status,
    duration: r.latencyMs,
    bytes_received: r.bytesIn,
    bytes_sent: r.bytesOut,
    downstream_remote_address: `${r.clientIp}:${40000 + (r.ts % 20000)}`,
    'x-request-id': r.requestId,
    'user-agent': r.userAgent,
    ':authority': 'api.vigil-bank.test',
    upstream_cluster: 'bank',
    ...loggedExtras(r, c),
  }),
  haproxy: (r, c) => ({
    ts: r.ts,
    client_ip: r.clientIp,
    frontend: 'fe_api',
    backend: 'be_bank',
    method: r.method,
    uri: r.uri,
    status: r.status,
    bytes_read: r.bytesOut,
    bytes_uploaded: r.bytesIn,
    ta_ms: r.latencyMs,
    request_id: r.requestId,
    user_agent: r.userAgent,
    ...loggedExtras(r, c),
  }),
  nginx: (r, { authorization, auth }) => ({
    time_iso8601: iso(r.ts).replace('Z', '+00:00'),
    msec: (r.ts / 1000).toFixed(3),
    remote_addr: r.clientIp,
    request: `${r.method} ${r.uri} HTTP/1.1`,
    status: String(r.status),
    request_time: (r.latencyMs / 1000).toFixed(3),
    request_length: String(r.bytesIn),
    bytes_sent: String(r.bytesOut),
    request_id: r.requestId,
    http_user_agent: r.userAgent,
    host: 'api.vigil-bank.test',
    http_authorization: authorization ?? '',
    // nginx logs the header as a field of its own, always present: the extras carry only the claims.
    ...loggedExtras(r, { authorization: undefined, auth }),
  }),
  canonical: (r, { authorization, auth }) => ({
    ts: r.ts,
    request_id: r.requestId,
    method: r.method,
    path: r.uri,
    status: r.status,
    client_ip: r.clientIp,
    latency_ms: r.latencyMs,
    bytes_in: r.bytesIn,
    bytes_out: r.bytesOut,
    user_agent: r.userAgent,
    ...(authorization ? { authorization } : {}),
    ...(auth ? { principal: auth } : {}),
    ...(r.loginUsername ? { login: { username: r.loginUsername } } : {}),
    ...(r.tx ? { tx: r.tx } : {}),
  }),
};

export function renderRecord(
  format: GatewayFormat,
  r: SimRequest,
  mode: CredentialMode = 'bearer',
): Record<string, unknown> {
  return RENDERERS[format](r, {
    authorization: r.token !== undefined && mode === 'bearer' ? `Bearer ${r.token}` : undefined,
    auth: r.claims !== undefined && mode === 'claims' ? { ...r.claims } : undefined,
  });
}

/** Records no gateway should send, one per reason code class, for tests and the demo's dead-letter path. */
export function malformedRecords(format: GatewayFormat, r: SimRequest): { line: string; reason: string }[] {
  const good = renderRecord(format, r);
  const withoutTime = { ...good };
  for (const k of ['started_at', 'start_time', 'ts', 'time_iso8601', 'msec']) delete withoutTime[k];
  return [
    { line: JSON.stringify(good).slice(0, 40), reason: 'invalid_json' },
    { line: JSON.stringify(withoutTime), reason: 'missing_field' },
    { line: '{"__proto__":{"admin":true}}', reason: 'forbidden_key' },
    { line: '42', reason: 'not_an_object' },
  ];
}
