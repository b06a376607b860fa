// The decision record of the brief: one JSON object per line in replay output, and the value on vigil.decisions.
import { z } from 'zod';
import { principalSchema } from './access-event.js';

export const ACTIONS = ['allow', 'alert', 'throttle', 'step_up', 'revoke'] as const;
export type Action = (typeof ACTIONS)[number];
export const ENTITIES = ['principal', 'ip', 'username', 'account', 'tenant'] as const;
export type Entity = (typeof ENTITIES)[number];

export const reasonSchema = z.strictObject({
  feature: z.string(),
  value: z.number(),
  baseline: z.number(),
  contribution: z.number(),
});

export const decisionSchema = z.strictObject({
  ts: z.number().int().describe('Event time of the triggering request, epoch ms.'),
  decided_at: z.number().int().describe('Wall-clock time of the decision, epoch ms.'),
  request_id: z.string(),
  action: z.enum(ACTIONS),
  entity: z.enum(ENTITIES),
  score: z.number().min(0).max(1),
  scores: z.strictObject({ iforest: z.number(), autoencoder: z.number(), rules: z.number().optional() }),
  principal: principalSchema,
  reasons: z.array(reasonSchema),
  bundle: z.string(),
  dry_run: z.boolean(),
  context: z
    .strictObject({
      route: z.string().describe('Route template of the triggering request.'),
      route_class: z.string().describe('The policy’s route class (login, payments …; "default" when none matches).'),
      tenant: z.string().optional().describe('The tenant the policy maps the request to, when tenants are configured.'),
      country: z.string().optional().describe('ISO country of the client IP, when GeoIP knows it.'),
    })
    .optional()
    .describe('vigil’s addition to the brief’s record: what per-route and per-tenant caps and alerts need.'),
});
export type Decision = z.infer<typeof decisionSchema>;
