// Finds the credential in what a gateway logged (an Authorization header value, an API key), skipping the
// placeholders gateways write in place of a redacted one.

/** Values gateways write in place of a redacted header; they are not credentials. */
const PLACEHOLDERS = new Set(['', '-', 'redacted', '[redacted]', '***', 'null', 'undefined']);

/** The credential inside an Authorization header value ("Bearer x", "Basic x", or a bare token). */
export function credentialFromAuthorization(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (PLACEHOLDERS.has(value.toLowerCase())) return undefined;
  const space = value.indexOf(' ');
  const credential = space > 0 ? value.slice(space + 1).trim() : value;
  return PLACEHOLDERS.has(credential.toLowerCase()) ? undefined : credential;
}
