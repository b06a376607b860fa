// The HTTP target: a templated call per enforcement, for any gateway or IdP with an admin API (see http.ts).
import { z } from 'zod';
import { TARGET_KINDS } from '../../enforcement.js';
import { defineTarget } from '../target.js';
import { HttpAdapter } from './http.js';

/** A request template, as the http target's apply and remove take it. */
export const requestTemplateSchema = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  url: z
    .string()
    .min(1)
    .describe(
      'URL template: {sub} {sid} {jti} {client_id} {consumer_id} {credential_id} {username} {kind} {value} {action}.',
    ),
  headers: z
    .record(z.string(), z.string())
    .default({})
    .describe('Header templates; {env:NAME} reads a secret from the environment.'),
  body: z.string().optional().describe('JSON body template (values are JSON-escaped).'),
});

export const httpTarget = defineTarget({
  key: 'http',
  schema: z.strictObject({
    name: z.string().min(1),
    kinds: z.array(z.enum(TARGET_KINDS)).min(1),
    actions: z.array(z.enum(['revoke', 'throttle', 'step_up'])).min(1),
    apply: requestTemplateSchema,
    remove: requestTemplateSchema.optional(),
    timeout_ms: z.number().int().positive().default(2000),
  }),
  nameOf: (h) => h.name,
  build: (h, name) => new HttpAdapter({ ...h, name, timeoutMs: h.timeout_ms }),
});
