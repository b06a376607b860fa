// The alerter's configuration schema, as data (see config/alerter.example.yaml); every key can be overridden by
// environment variable (VIGIL_…). Secrets are never in the file: each receiver names the environment variable that
// holds its secret (not a VIGIL_ one — those are config overrides).

import { PAYLOAD_FORMATS, RECEIVER_KINDS, SEVERITIES } from '@vigil/alerting';
import { clickhouseConfigSchema, kafkaConnectionSchema, kafkaConsumerSchema } from '@vigil/connectors';
import { z } from 'zod';

const envName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name in capitals, e.g. SOC_WEBHOOK_SECRET')
  .refine(
    (n) => !n.startsWith('VIGIL_'),
    'VIGIL_* variables are config overrides — name the secret’s variable otherwise, e.g. SOC_WEBHOOK_SECRET',
  );
const retries = {
  timeout_ms: z.number().int().positive().default(5000),
  max_attempts: z
    .number()
    .int()
    .min(1)
    .default(3)
    .describe(
      'Attempts in line (retried on 5xx, 429, timeouts, connection errors) before a webhook goes to the ' +
        'durable retry queue (topics.retry, retry.budget_ms); CAEP pushes are dead-lettered after them.',
    ),
  initial_backoff_ms: z.number().int().positive().default(500),
  max_backoff_ms: z.number().int().positive().default(30_000),
};

export const alerterConfigSchema = z
  .strictObject({
    kafka: kafkaConnectionSchema,
    consumer: kafkaConsumerSchema
      .extend({
        group_id: z.string().min(1).default('vigil-alerter').describe('Consumer group of the alerters.'),
        topics: z.array(z.string().min(1)).min(1).default(['vigil.decisions']).describe('Decision topics.'),
      })
      .prefault({}),
    topics: z
      .strictObject({
        revocations: z
          .string()
          .min(1)
          .default('vigil.revocations')
          .describe('Read for CAEP session-revoked events (only new revocations).'),
        dead_letter: z
          .string()
          .min(1)
          .default('vigil.alerts.dlq')
          .describe('Messages a receiver refused, or could not take within retry.budget_ms, with the reason.'),
        retry: z
          .string()
          .min(1)
          .default('vigil.alerts.retry')
          .describe(
            'Prefix of the durable retry queues, one topic per receiver ("<prefix>.<receiver name>"): ' +
              'messages a receiver could not take yet, keyed by incident (kept in order per incident).',
          ),
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
      .describe('Delivery audit (alerts table) and analysts’ verdicts (labels table).'),
    retry: z
      .strictObject({
        budget_ms: z
          .number()
          .int()
          .positive()
          .default(3_600_000)
          .describe('How long after its first attempt a queued message is still retried; then it is dead-lettered.'),
        concurrency: z
          .number()
          .int()
          .positive()
          .default(8)
          .describe('Incidents delivered at once (one incident’s messages stay in order).'),
      })
      .prefault({})
      .describe('Alerts outlive a receiver’s outage: undelivered messages wait on topics.retry.'),
    incident_window_ms: z
      .number()
      .int()
      .positive()
      .default(900_000)
      .describe(
        'Decisions about one entity this close together are one incident: ' +
          'one alert, updates on escalation, a summary at close.',
      ),
    receivers: z
      .array(
        z.strictObject({
          name: z
            .string()
            .regex(
              /^[A-Za-z0-9._-]{1,100}$/,
              'letters, digits, ".", "_" and "-" only: the name is part of the receiver’s retry topic',
            )
            .describe('Names the receiver in audit rows, metrics and its retry topic.'),
          url: z.url(),
          format: z
            .enum(PAYLOAD_FORMATS)
            .default('ocsf')
            .describe('ocsf (Detection Finding 2004), generic (JSON) or slack (incoming-webhook text).'),
          secret_env: envName
            .optional()
            .describe(
              'Variable holding the Standard Webhooks secret(s), "whsec_…", ' +
                'comma-separated during a rotation. Required unless format is slack.',
            ),
          min_severity: z.enum(SEVERITIES).default('low'),
          ...retries,
        }),
      )
      .default([]),
    caep: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          url: z.url().describe('The receiver’s RFC 8935 push endpoint.'),
          issuer: z.string().min(1).describe('This deployment as the SET issuer.'),
          audience: z.string().min(1),
          subject_issuer: z
            .string()
            .optional()
            .describe('Issuer of your tokens (the IdP): subjects are sent as iss_sub.'),
          private_key_file: z
            .string()
            .optional()
            .describe('PEM private key (RSA, EC P-256 or Ed25519) to sign SETs; without one they are unsigned.'),
          key_id: z.string().optional(),
          ...retries,
        }),
      )
      .default([]),
    labels: z
      .strictObject({
        port: z
          .number()
          .int()
          .min(0)
          .max(65535)
          .default(9467)
          .describe('Port of the label callback (POST /v1/labels).'),
        token_env: envName
          .optional()
          .describe('Variable holding the bearer token the SOC presents; without it the callback is off.'),
      })
      .prefault({}),
    telemetry: z.strictObject({ port: z.number().int().min(0).max(65535).default(9466) }).prefault({}),
  })
  .describe('vigil alerter');
export type AlerterConfig = z.output<typeof alerterConfigSchema>;

export function lintAlerterConfig(config: AlerterConfig): string[] {
  const problems: string[] = [];
  for (const r of config.receivers) {
    if (RECEIVER_KINDS[r.format].needsSecret && r.secret_env === undefined)
      problems.push(`receivers.${r.name}: set secret_env — ${r.format} deliveries are signed (Standard Webhooks)`);
  }
  const names = [...config.receivers.map((r) => r.name), ...config.caep.map((c) => c.name)];
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) problems.push(`two receivers are named "${dup}" — names label audit rows and metrics`);
  if (config.labels.token_env !== undefined && !config.clickhouse)
    problems.push('labels.token_env is set but clickhouse is not: verdicts are stored in ClickHouse');
  return problems;
}
