// The Kong target: revoked tokens' credentials deleted through Kong's Admin API (see kong.ts).
import { z } from 'zod';
import { HttpAdapter } from '../http/http.js';
import { defineTarget } from '../target.js';
import { kongPreset } from './kong.js';

export const kongTarget = defineTarget({
  key: 'kong',
  schema: z.strictObject({
    admin_url: z.url(),
    credential_type: z.enum(['jwt', 'key-auth', 'basic-auth', 'oauth2', 'hmac-auth']).default('jwt'),
    admin_token_env: z.string().optional().describe('Environment variable holding the Kong-Admin-Token.'),
    timeout_ms: z.number().int().positive().default(2000),
  }),
  nameOf: (_, i) => `kong${i || ''}`,
  build: (k, name) =>
    new HttpAdapter({
      ...kongPreset(k.admin_url, k.credential_type, k.admin_token_env),
      name,
      timeoutMs: k.timeout_ms,
    }),
});
