// The revoker's configuration schema: written once, as data; `vigil config check --service revoker` and the README
// come from it; every key can be overridden by environment variable (VIGIL_…, see @vigil/runtime).
import { clickhouseConfigSchema, kafkaConnectionSchema, kafkaConsumerSchema } from '@vigil/connectors';
import { TARGETS, targetNames, targetsConfigSchema } from '@vigil/enforcement';
import { pepperSecretSchema } from '@vigil/runtime';
import { z } from 'zod';

export const revokerConfigSchema = z
  .strictObject({
    kafka: kafkaConnectionSchema,
    consumer: kafkaConsumerSchema
      .extend({
        group_id: z.string().min(1).default('vigil-revoker').describe('Consumer group of the revokers.'),
        topics: z.array(z.string().min(1)).min(1).default(['vigil.decisions']).describe('Decision topics.'),
      })
      .prefault({}),
    topics: z
      .strictObject({
        revocations: z
          .string()
          .min(1)
          .default('vigil.revocations')
          .describe('Compacted topic keyed by the revoked identifier: the durable record.'),
        notices: z
          .string()
          .min(1)
          .default('vigil.decisions')
          .describe('Where cap notices go (alert decisions the alerter delivers).'),
        poison: z
          .string()
          .min(1)
          .default('vigil.dlq')
          .describe(
            'Input records this service cannot read (poison): dead-lettered ' +
              "with reason 'unprocessable' and their position, then skipped.",
          ),
        partitions: z.number().int().positive().default(6),
      })
      .prefault({}),
    clickhouse: clickhouseConfigSchema
      .optional()
      .describe('Audit rows (the revocations table); omit to keep only the topic.'),
    enforce: z
      .boolean()
      .default(false)
      .describe(
        'Off (the default): every action is audited as dry_run and nothing ' +
          'reaches a gateway. Decisions marked dry_run are never enforced.',
      ),
    ttl: z
      .strictObject({
        revoke_s: z
          .number()
          .int()
          .positive()
          .default(86_400)
          .describe('How long a subject’s "issued before" cut-off, a session or a token without exp stays listed.'),
        throttle_s: z.number().int().positive().default(900),
        step_up_s: z.number().int().positive().default(3600),
      })
      .prefault({}),
    caps: z
      .strictObject({
        per_minute: z
          .number()
          .int()
          .positive()
          .default(60)
          .describe(
            'Decisions enforced per minute in all (one per decision, however many ' +
              'identifiers); beyond it decisions are only alerted, and the SOC is told.',
          ),
        per_tenant_per_minute: z.number().int().positive().default(20),
      })
      .prefault({}),
    allowlist: z
      .strictObject({
        subs: z.array(z.string()).default([]),
        usernames: z.array(z.string()).default([]),
        client_ids: z.array(z.string()).default([]),
        ips: z
          .array(z.string().regex(/^[0-9a-fA-F:.]+(\/\d{1,3})?$/, 'an address or CIDR block, e.g. 10.0.0.0/8'))
          .default([])
          .describe('Addresses or CIDR blocks never throttled (your office NAT, monitoring).'),
      })
      .prefault({})
      .describe('Never acted on.'),
    // One list per kind of target, from the registry in @vigil/enforcement (pipelines/enforcement/src/targets).
    adapters: targetsConfigSchema,
    pepper: z
      .strictObject({
        version: z.number().int().min(1).default(1),
        secret: pepperSecretSchema.describe('The detector’s pepper, from VIGIL_PEPPER__SECRET.'),
      })
      .optional()
      .describe('The detector’s fingerprint pepper: lets the check endpoint match tokens revoked by fingerprint.'),
    check: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            'Serve the check endpoint: an Envoy ext_authz HTTP service answering 200, 401 or 429 from the store.',
          ),
        port: z.number().int().min(0).max(65535).default(9468),
      })
      .prefault({}),
    prune_interval_ms: z.number().int().positive().default(30_000).describe('How often expired entries are lifted.'),
    resync_check_ms: z
      .number()
      .int()
      .positive()
      .default(5000)
      .describe('How often gateways are checked for a restart (lost lists).'),
    telemetry: z
      .strictObject({
        port: z
          .number()
          .int()
          .min(0)
          .max(65535)
          .default(9465)
          .describe('Port of /metrics, /healthz, /readyz (0 picks a free one).'),
      })
      .prefault({}),
  })
  .describe('vigil revoker');
export type RevokerConfig = z.output<typeof revokerConfigSchema>;

export function lintRevokerConfig(config: RevokerConfig): string[] {
  const problems: string[] = [];
  const names = targetNames(config.adapters);
  if (config.enforce && names.length === 0)
    problems.push(
      'enforce is true but no adapter is configured — add one ' +
        `under adapters (${TARGETS.map((t) => t.key).join(', ')})`,
    );
  if (config.consumer.topics.includes(config.topics.revocations))
    problems.push('consumer.topics must not include topics.revocations');
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) problems.push(`two adapters are named "${dup}" — give each its own name (audit rows and metrics use it)`);
  return problems;
}
