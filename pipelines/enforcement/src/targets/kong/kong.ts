// Kong: a revoked token's credential is deleted through the Admin API (DELETE /consumers/{consumer}/<plugin>/{id}),
// so the gateway refuses it at once. An HTTP target with the request filled in.
import type { HttpAdapterOptions } from '../http/http.js';

export function kongPreset(
  adminUrl: string,
  credentialType: string,
  adminTokenEnv?: string,
): Omit<HttpAdapterOptions, 'timeoutMs'> {
  return {
    name: 'kong',
    kinds: ['credential'],
    actions: ['revoke'],
    apply: {
      method: 'DELETE',
      url: `${adminUrl.replace(/\/$/, '')}/consumers/{consumer_id}/${credentialType}/{credential_id}`,
      headers: adminTokenEnv ? { 'Kong-Admin-Token': `{env:${adminTokenEnv}}` } : {},
    },
  };
}
