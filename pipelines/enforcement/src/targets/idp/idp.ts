// An identity provider's admin API: a revoked session is ended there (DELETE <base_url>/sessions/{sid}), so its
// refresh token stops working too. An HTTP target with the request filled in.
import type { HttpAdapterOptions } from '../http/http.js';

export function idpSessionPreset(baseUrl: string, tokenEnv?: string): Omit<HttpAdapterOptions, 'timeoutMs'> {
  return {
    name: 'idp',
    kinds: ['session'],
    actions: ['revoke'],
    apply: {
      method: 'DELETE',
      url: `${baseUrl.replace(/\/$/, '')}/sessions/{sid}`,
      headers: tokenEnv ? { Authorization: `Bearer {env:${tokenEnv}}` } : {},
    },
  };
}
