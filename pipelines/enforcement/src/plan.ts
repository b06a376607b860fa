// From a decision record to the enforcements it asks for. The decision names an action and an entity; the plan picks
// every identifier of that entity a gateway can refuse:
// - revoke a principal: its subject "issued before now" (kills every token it holds, refresh included where the
//   gateway or IdP checks iat; the victim's next login works), plus the very token (jti, fingerprint) until it expires,
//   plus the IdP session (sid) and the gateway credential where adapters for them are configured;
// - step_up a principal: its subject "issued before now" on the step-up list (RFC 9470: the gateway answers
//   insufficient_user_authentication until a fresh login), else the token's fingerprint;
// - throttle: the IP or the username, for a while;
// - a principal with only a username (failed logins, no token): revoke and step_up throttle the username.
// `alert` plans nothing: it is the alerter's.
import type { Decision } from '@vigil/events';
import { type EnforcedAction, type Enforcement, enforcementId, type TargetKind } from './enforcement.js';

export interface PlanOptions {
  /** How long a subject's "issued before" cut-off and a token without exp stay listed. */
  revokeTtlMs: number;
  throttleTtlMs: number;
  stepUpTtlMs: number;
  /** Wall clock (epoch ms): the cut-off for "issued before", and the base of expiries. */
  now: number;
}

export function planEnforcements(d: Decision, o: PlanOptions): Enforcement[] {
  if (d.action === 'allow' || d.action === 'alert') return [];
  const p = d.principal;
  const make = enforcementMaker(d);
  const throttle = (kind: 'ip' | 'username', value: string | undefined) =>
    value ? [make(kind, value, 'throttle', o.now + o.throttleTtlMs)] : [];

  if (d.entity === 'ip') return d.action === 'throttle' || d.action === 'revoke' ? throttle('ip', p.client_ip) : [];
  if (d.entity === 'username') return throttle('username', p.username);
  if (d.entity !== 'principal') return [];

  const hasToken = p.sub !== undefined || p.jti !== undefined || p.token_fingerprint !== undefined;
  if (d.action === 'throttle' || !hasToken)
    return p.username ? throttle('username', p.username) : throttle('ip', p.client_ip);
  if (d.action === 'revoke') return revokePrincipal(p, make, o);
  if (d.action === 'step_up') return stepUpPrincipal(p, make, o);
  return [];
}

type Make = (
  kind: TargetKind,
  value: string,
  action: EnforcedAction,
  expiresAt: number,
  notBefore?: number,
) => Enforcement;

/** Builds the enforcements of one decision: each carries the decision's request, time, tenant, principal, reasons. */
function enforcementMaker(d: Decision): Make {
  const base = {
    request_id: d.request_id,
    decision_ts: d.ts,
    ...(d.context?.tenant !== undefined ? { tenant: d.context.tenant } : {}),
    principal: pick(d.principal),
    reasons: d.reasons.map((r) => r.feature),
  };
  return (kind, value, action, expiresAt, notBefore) => ({
    id: enforcementId(kind, value),
    kind,
    value,
    action,
    expires_at: expiresAt,
    ...(notBefore !== undefined ? { not_before: notBefore } : {}),
    ...base,
  });
}

/** The cut-off for "issued before now" (seconds, as JWT iat), and when the very token stops needing a listing. */
function tokenTimes(p: Decision['principal'], o: PlanOptions) {
  return {
    cutoff: Math.ceil(o.now / 1000),
    tokenExpiry: p.exp !== undefined ? Math.max(p.exp * 1000, o.now + 60_000) : o.now + o.revokeTtlMs,
  };
}

function revokePrincipal(p: Decision['principal'], make: Make, o: PlanOptions): Enforcement[] {
  const { cutoff, tokenExpiry } = tokenTimes(p, o);
  const out: Enforcement[] = [];
  if (p.sub) out.push(make('sub', p.sub, 'revoke', o.now + o.revokeTtlMs, cutoff));
  if (p.jti) out.push(make('jti', p.jti, 'revoke', tokenExpiry));
  if (p.token_fingerprint) out.push(make('fingerprint', p.token_fingerprint, 'revoke', tokenExpiry));
  if (p.sid) out.push(make('session', p.sid, 'revoke', o.now + o.revokeTtlMs));
  if (p.credential_id) out.push(make('credential', p.credential_id, 'revoke', o.now + o.revokeTtlMs));
  return out;
}

/** One listing: the subject where there is one (every token it holds), else the very token. */
function stepUpPrincipal(p: Decision['principal'], make: Make, o: PlanOptions): Enforcement[] {
  const { cutoff, tokenExpiry } = tokenTimes(p, o);
  const until = Math.min(tokenExpiry, o.now + o.stepUpTtlMs);
  if (p.sub) return [make('sub', p.sub, 'step_up', o.now + o.stepUpTtlMs, cutoff)];
  if (p.token_fingerprint) return [make('fingerprint', p.token_fingerprint, 'step_up', until)];
  if (p.jti) return [make('jti', p.jti, 'step_up', until)];
  return [];
}

function pick(p: Decision['principal']): Enforcement['principal'] {
  const out: Enforcement['principal'] = {};
  for (const k of ['sub', 'sid', 'jti', 'client_id', 'consumer_id', 'credential_id', 'username'] as const)
    if (p[k] !== undefined) out[k] = p[k] as string;
  return out;
}
