// The IdP target: revoked sessions ended at the identity provider's admin API (see idp.ts).
import { z } from 'zod';
import { HttpAdapter } from '../http/http.js';
import { defineTarget } from '../target.js';
import { idpSessionPreset } from './idp.js';

export const idpTarget = defineTarget({
  key: 'idp',
  schema: z.strictObject({
    base_url: z.url().describe('Admin base URL; sessions are ended with DELETE <base_url>/sessions/{sid}.'),
    token_env: z.string().optional(),
    timeout_ms: z.number().int().positive().default(2000),
  }),
  nameOf: (_, i) => `idp${i || ''}`,
  build: (k, name) => new HttpAdapter({ ...idpSessionPreset(k.base_url, k.token_env), name, timeoutMs: k.timeout_ms }),
});
