// What a login is, for every family and for the re-keying that sends logins to their username's and the tenant's
// state (roles.ts): a request with login fields (username, grant type) or a POST to a login/token route. It failed
// when the API answered 401 or 403, or 400 on a token endpoint (OAuth's invalid_grant). Its own module so the
// families and the roles read it without importing each other.
import type { AccessEvent } from '@vigil/events';

export const LOGIN_ROUTE = /(^|\/)(login|signin|sign-in|token|oauth2?\/token|authenticate|session)s?($|\/)/i;

export type LoginOutcome = 'success' | 'failure' | undefined;

/** undefined: not a login, or a login answered with neither success nor an auth failure (a 5xx, say). */
export function loginOutcome(event: AccessEvent): LoginOutcome {
  const isLogin = event.login !== undefined || (event.method === 'POST' && LOGIN_ROUTE.test(event.route));
  if (!isLogin) return undefined;
  if (event.status === 401 || event.status === 403 || (event.status === 400 && /token/i.test(event.route)))
    return 'failure';
  return event.status >= 200 && event.status < 300 ? 'success' : undefined;
}

export const loginUsername = (event: AccessEvent) => event.login?.username ?? event.principal.username;
