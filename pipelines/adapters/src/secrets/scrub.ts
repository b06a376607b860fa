// Removes credentials from text that must be kept verbatim otherwise: the original bytes of a dead-lettered record,
// which may be any shape (valid JSON, broken JSON, or not JSON at all). Pattern-based on purpose: it must work on
// input that no parser accepts. Also used on anything else that echoes input.

const REDACTED = '[REDACTED]';

/** JSON members whose value is a credential, whatever the nesting ("authorization": "...", "password": "..."). */
const SECRET_MEMBER =
  /("(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|apikey|api_key|x-auth-token|password|passwd|pwd|client_secret|access_token|refresh_token|id_token|token|secret|key|body_password|http_authorization|http_cookie)"\s*:\s*)"(?:[^"\\]|\\.)*"?/gi;
/** key=value pairs in query strings and form bodies. */
const SECRET_PARAM =
  /((?:^|[?&;\s"])(?:access_token|refresh_token|id_token|token|password|passwd|pwd|secret|client_secret|api_key|apikey|key|code)=)[^&;\s"]*/gi;
/** "Bearer xxx", "Basic xxx", "Token xxx" anywhere. */
const AUTH_SCHEME = /\b(bearer|basic|token|digest|negotiate)(\s+)[A-Za-z0-9._~+/=-]{4,}/gi;
/** Anything shaped like a JWT, wherever it hides. */
const JWT = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;

export function scrubText(text: string): string {
  return text.replace(SECRET_MEMBER, `$1"${REDACTED}"`).replace(SECRET_PARAM, `$1${REDACTED}`).replace(AUTH_SCHEME, `$1$2${REDACTED}`).replace(JWT, REDACTED);
}
