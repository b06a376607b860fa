// The detector's configuration schema: written once, as data. `vigil config check` and the sample config come
// from it; every key can be overridden by environment variable (see @vigil/runtime).

import { clickhouseConfigSchema, kafkaConnectionSchema, kafkaConsumerSchema } from '@vigil/connectors';
import { DEAD_LETTER_ORIGINAL_MODES, GATEWAY_FORMATS } from '@vigil/events';
import { parseEncryptionKey } from '@vigil/ingest';
import { lintPolicyConfig, policyConfigSchema } from '@vigil/policy';
import { pepperSecretSchema } from '@vigil/runtime';
import { DEFAULT_TOPIC_NAMES } from '@vigil/topology';
import { z } from 'zod';

export const detectorConfigSchema = z
  .strictObject({
    format: z
      .enum(GATEWAY_FORMATS)
      .describe('Log format on the input topics (docs/gateways.md: the gateway config that produces it).'),
    topic_formats: z
      .record(z.string().min(1), z.enum(GATEWAY_FORMATS))
      .default({})
      .describe('Per-topic format where input topics carry different gateways’ logs; other topics use `format`.')
      .meta({ examples: [{ 'logs.nginx': 'nginx' }] }),
    pepper: z
      .strictObject({
        version: z.number().int().min(1).default(1).describe('Written into fingerprints ("v1:…"); bump on rotation.'),
        secret: pepperSecretSchema.describe('HMAC key for token fingerprints. Set it through VIGIL_PEPPER__SECRET.'),
      })
      .describe('Key of the token fingerprints.'),
    kafka: kafkaConnectionSchema,
    consumer: kafkaConsumerSchema
      .extend({
        group_id: z.string().min(1).default('vigil-detector').describe('Consumer group of the detectors.'),
        topics: z.array(z.string().min(1)).min(1).default(['vigil.access']).describe('Access-log topics.'),
      })
      .prefault({})
      .describe('Consumer of the access-log topic.'),
    topics: z
      .strictObject({
        keyed: z
          .string()
          .min(1)
          .default(DEFAULT_TOPIC_NAMES.keyed)
          .describe('Events re-keyed by principal (and the entity parts joined onto them).'),
        entities: z
          .string()
          .min(1)
          .default(DEFAULT_TOPIC_NAMES.entities)
          .describe(
            'Events re-keyed by entity (client IP; username and tenant for logins), for the entity feature stage.',
          ),
        dead_letter: z
          .string()
          .min(1)
          .default(DEFAULT_TOPIC_NAMES.deadLetters)
          .describe('Records that could not be parsed, with reason codes.'),
        partitions: z.number().int().positive().default(6).describe('Partitions of topics vigil creates.'),
        packed: z
          .boolean()
          .default(true)
          .describe(
            'Pack the records of the keyed and entity topics, ' +
              'many per Kafka record, per partition (readers take both forms).',
          ),
      })
      .prefault({}),
    dead_letters: z
      .strictObject({
        original: z
          .enum(DEAD_LETTER_ORIGINAL_MODES)
          .default('redacted')
          .describe(
            'What a dead letter keeps of its record. redacted: the structure, methods, ' +
              'statuses, sizes, times, addresses and route templates, every other value as type, ' +
              'length and HMAC; dropped: nothing; encrypted: the original bytes ' +
              'under encryption_key (AES-256-GCM; `vigil dlq decrypt` reads them back).',
          ),
        encryption_key: z
          .string()
          .optional()
          .refine(
            (k) => k === undefined || parseEncryptionKey(k) !== undefined,
            'the key must be 32 bytes, base64 or hex — generate one with `openssl rand -base64 32`',
          )
          .describe('For original: encrypted. Set it through VIGIL_DEAD_LETTERS__ENCRYPTION_KEY, never in the file.'),
      })
      .prefault({})
      .describe('The dead-letter topic (topics.dead_letter).'),
    clickhouse: clickhouseConfigSchema.optional().describe('Analytics store; omit to run without one.'),
    features: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Run the feature stage on the keyed topic.'),
        topic: z.string().min(1).default(DEFAULT_TOPIC_NAMES.features).describe('Feature records, keyed by principal.'),
        reorder_bound_ms: z
          .number()
          .int()
          .min(0)
          .default(0)
          .describe(
            'Bounded out-of-orderness: events are held this much event time and released in event-time order. ' +
              'An event older than its key’s newest counts at that newest time (late, not lost). 0 (the default): ' +
              'none held, events computed in the order they reach the partition — the lowest latency (the ' +
              'gateway loop’s p99 halves against 20 ms) and still deterministic, as the partition’s order is its ' +
              'Kafka log’s. Give logs shipped out of order across hosts about the shipper’s batch delay (e.g. 2000).',
          ),
        idle_release: z
          .boolean()
          .default(false)
          .describe(
            'Let the wall clock stand in for event time while a partition idles: ' +
              'held events leave reorder_bound_ms after the newest arrival instead of waiting for ' +
              'newer traffic (lower latency on quiet partitions; an event arriving later ' +
              'than that counts as late, so live decisions can then differ from a replay).',
          ),
        state_budget_mb: z
          .number()
          .int()
          .min(16)
          .default(512)
          .describe(
            'Feature state this process may hold, in MiB (estimated; every keyed store of ' +
              "both feature stages shares it, with their changelogs' bookkeeping and, up to a quarter of it, " +
              'the requests waiting for their entity parts). ' +
              'Once full, each store evicts keys to make room — its own, or a whole principal from ' +
              "the stores keyed by principal — keys seen once first (a wave's), then the least recently seen " +
              '— and vigil_state_evicted counts them: an evicted principal or address starts ' +
              "again from the population's prior. Keeps a wave of new addresses from growing " +
              "the heap without bound; give Node's heap (--max-old-space-size) about three times this " +
              '(the state takes about the estimate, and garbage collection and the ' +
              'rest of the process need room besides; npm run bench:cardinality prints both).',
          ),
        geoip: z
          .string()
          .optional()
          .describe('Path of a MaxMind GeoIP2/GeoLite2 City .mmdb; default: the bundled GeoLite2 City.'),
        changelog_topic: z
          .string()
          .min(1)
          .optional()
          .describe(
            'Compacted topic of principal-stage state checkpoints; ' +
              'default "<consumer.group_id>.features-changelog" ' +
              '(the entity stage uses "<consumer.group_id>.entities-changelog").',
          ),
        commit_interval_ms: z
          .number()
          .int()
          .positive()
          .default(200)
          .describe(
            'How often feature state, feature records and offsets are committed together ' +
              '(one Kafka transaction per partition); also the latency it adds (exactly_once).',
          ),
        guarantee: z
          .enum(['exactly_once', 'at_least_once'])
          .default('at_least_once')
          .describe(
            'exactly_once: each stage publishes its records in a Kafka transaction at each checkpoint ' +
              '— one record per request whatever crashes, records appear at ' +
              'commit_interval_ms. at_least_once: records leave as soon as they are computed ' +
              "(lower latency: the gateway loop's enforcement path), state and offsets are " +
              'checkpointed every commit_interval_ms; after a crash the records since the ' +
              'last checkpoint are computed again and can appear twice, with the same values.',
          ),
      })
      .prefault({}),
    scoring: z
      .strictObject({
        bundle: z
          .string()
          .optional()
          .describe(
            'Directory of the model bundle (`vigil train --out`); ' +
              'omit to run without deciding. Replacing it (write a new bundle ' +
              'elsewhere, rename it into place) swaps bundles while running.',
          ),
        shadow_bundle: z
          .string()
          .optional()
          .describe(
            'A second bundle scored in shadow: its decisions go to shadow_topic, marked dry-run, never acted on.',
          ),
        topic: z
          .string()
          .min(1)
          .default(DEFAULT_TOPIC_NAMES.decisions)
          .describe('Decision records, keyed by principal.'),
        shadow_topic: z
          .string()
          .min(1)
          .default(DEFAULT_TOPIC_NAMES.shadowDecisions)
          .describe('Decision records of the shadow bundle.'),
        dry_run: z
          .boolean()
          .default(true)
          .describe(
            'Mark every decision dry-run: the revoker records what it would do and does nothing. Turn off to enforce.',
          ),
        write_allow: z.boolean().default(false).describe("Also write 'allow' decisions."),
        fused: z
          .boolean()
          .default(true)
          .describe(
            'Decide in the principal feature task, as it computes each request’s features: the decisions are a ' +
              'side output of its checkpoint (exactly once with the features under features.guarantee ' +
              'exactly_once) — no consumer group, fetch and decode of the feature records, one Kafka hop less from ' +
              'log line to enforcement. false: a decision stage of its own reads the features topic (decisions at ' +
              'least once), for comparison.',
          ),
        watch_interval_ms: z
          .number()
          .int()
          .positive()
          .default(5000)
          .describe('How often the bundle directory is checked for a new bundle.'),
      })
      .prefault({}),
    policy: policyConfigSchema,
    adapter: z
      .strictObject({
        max_record_bytes: z
          .number()
          .int()
          .positive()
          .default(1_048_576)
          .describe('Larger records are dead-lettered unparsed.'),
        max_past_skew_ms: z
          .number()
          .int()
          .positive()
          .default(7 * 86_400_000)
          .describe('Event time may precede the Kafka timestamp by this much.'),
        max_future_skew_ms: z
          .number()
          .int()
          .positive()
          .default(300_000)
          .describe('Event time may follow the Kafka timestamp by this much.'),
        tx_field: z.string().min(1).default('tx').describe('Kong custom field holding transaction data.'),
        openapi: z
          .string()
          .optional()
          .describe('Path of the API’s OpenAPI document (JSON or YAML) for exact route templates.'),
      })
      .prefault({}),
    telemetry: z
      .strictObject({
        port: z
          .number()
          .int()
          .min(0)
          .max(65535)
          .default(9464)
          .describe('Port of /metrics, /healthz and /readyz (0 picks a free one).'),
        trace_one_in: z
          .number()
          .int()
          .min(1)
          .default(100)
          .describe('Trace one record in N (records with a traceparent are always traced).'),
        otlp_traces_url: z
          .url()
          .optional()
          .describe('OTLP/HTTP traces endpoint of your collector; without it traceparent is still carried.')
          .meta({ examples: ['http://otel-collector:4318/v1/traces'] }),
      })
      .prefault({}),
  })
  .describe('vigil detector');
export type DetectorConfig = z.output<typeof detectorConfigSchema>;

/** Rules that span fields; each message says how to fix the config. */
export function lintDetectorConfig(config: DetectorConfig): string[] {
  const problems: string[] = [];
  const t = config.topics;
  if (config.consumer.topics.includes(t.keyed) || config.consumer.topics.includes(t.dead_letter)) {
    problems.push(
      'consumer.topics must not include topics.keyed or topics.dead_letter ' +
        '— the detector would consume its own output',
    );
  }
  if (t.keyed === t.dead_letter) problems.push('topics.keyed and topics.dead_letter must differ');
  if (config.features.enabled && [t.keyed, t.dead_letter, ...config.consumer.topics].includes(config.features.topic)) {
    problems.push('features.topic must differ from the input, keyed and dead-letter topics');
  }
  for (const topic of Object.keys(config.topic_formats)) {
    if (!config.consumer.topics.includes(topic))
      problems.push(`topic_formats names ${topic}, which is not in consumer.topics — add it there or remove it`);
  }
  if (config.dead_letters.original === 'encrypted' && config.dead_letters.encryption_key === undefined) {
    problems.push(
      'dead_letters.original is encrypted but no key is set ' +
        '— set VIGIL_DEAD_LETTERS__ENCRYPTION_KEY (openssl rand -base64 32)',
    );
  }
  problems.push(...lintPolicyConfig(config.policy));
  return problems;
}
