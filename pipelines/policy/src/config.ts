// The policy's configuration, as data: route classes and their threshold overrides, how a tenant is recognised, and
// the explicit rules. `vigil config check` validates it with the rest of the detector's config.
import { z } from 'zod';

const ACTING = ['alert', 'throttle', 'step_up', 'revoke'] as const;
const countries = z.array(z.string().regex(/^[A-Z]{2}$/, 'use ISO 3166-1 alpha-2 codes in capitals, e.g. "DE"'));
const threshold = z.number().min(0).max(1);

export const policyConfigSchema = z
  .strictObject({
    route_classes: z
      .record(z.string().min(1), z.array(z.string().startsWith('/', 'route prefixes start with "/"')).min(1))
      .default({})
      .describe(
        'Route class → route prefixes (of the route template); the longest matching prefix wins, no match is class ' +
          '"default".',
      )
      .meta({ examples: [{ login: ['/oauth/token', '/login'], payments: ['/v1/payments'], reads: ['/v1/accounts'] }] }),
    thresholds: z
      .record(
        z.string().min(1),
        z.strictObject({ alert: threshold.optional(), step_up: threshold.optional(), revoke: threshold.optional() }),
      )
      .default({})
      .describe('Per route class: calibrated-score thresholds that override the bundle’s defaults.')
      .meta({ examples: [{ payments: { alert: 0.9, step_up: 0.99 } }] }),
    login_model_action: z
      .enum(['allow', 'alert', 'step_up', 'revoke'])
      .default('alert')
      .describe(
        'The strongest action the models alone may take on a login (a request whose principal is a username, no ' +
          'token yet): a gateway can only answer a login by throttling the username — locking a customer out over ' +
          'one odd login (a typo, a new network). Rules (credential stuffing, impossible travel) are not capped.',
      ),
    model_alone_action: z
      .enum(['allow', 'alert', 'step_up', 'revoke'])
      .default('step_up')
      .describe(
        'The strongest action the models may take when no rule that acts (above alert) fires on the request: two ' +
          'independent signals before vigil ends a session. An anomaly score alone (an unusual payment, an odd mix ' +
          'of features) earns a challenge; a revocation needs a rule to corroborate it — not an alert-level one such ' +
          'as a probe — and then the models keep their own action. revoke lifts the cap.',
      ),
    tenant: z
      .strictObject({
        by: z
          .enum(['none', 'client_id', 'service', 'route_prefix'])
          .default('none')
          .describe('What identifies a tenant.'),
        route_prefixes: z
          .record(z.string().min(1), z.array(z.string().startsWith('/')))
          .default({})
          .describe('Tenant → route prefixes, when by = route_prefix.'),
      })
      .prefault({})
      .describe('Tenants: caps and overrides may be set per tenant.'),
    rules: z
      .strictObject({
        impossible_travel: z
          .strictObject({
            enabled: z.boolean().default(true),
            min_speed_kmh: z
              .number()
              .positive()
              .default(1000)
              .describe('Travel faster than this between two requests, across a border, fires the rule.'),
            only_new_countries: z
              .boolean()
              .default(true)
              .describe(
                'Fire only when the country is new to the principal (a VPN user returning to a usual exit is not ' +
                  'travelling).',
              ),
            action: z
              .enum(ACTING)
              .default('revoke')
              .describe('When a token already used from another network jumps: a copied token.'),
            new_session_action: z
              .enum(ACTING)
              .default('step_up')
              .describe(
                'When a fresh login or token appears far away: a challenge a traveller passes and a phisher may not.',
              ),
          })
          .prefault({}),
        stuffing_success: z
          .strictObject({
            enabled: z.boolean().default(true),
            min_failures: z
              .number()
              .int()
              .positive()
              .default(10)
              .describe('Failed logins of the username in the hour before a success.'),
            action: z.enum(ACTING).default('step_up'),
          })
          .prefault({}),
        surge_login: z
          .strictObject({
            enabled: z.boolean().default(true),
            min_failure_ratio: z
              .number()
              .positive()
              .default(2)
              .describe(
                "tenant_failure_ratio_1m (log2 of the last minute's failed logins over the tenant's usual minute, an " +
                  "hour's average that a surge does not teach itself) at or above which a successful login from a " +
                  'country new to the principal, or from an address GeoIP cannot place, on a client the principal is ' +
                  'not known to use (agent_known), is one the surge cracked (distributed credential stuffing: one ' +
                  "attempt per address, so only the tenant's failure rate shows it). 2 = four times the tenant's " +
                  'usual rate; the floor under the threshold vigil train fits.',
              ),
            action: z.enum(ACTING).default('revoke'),
          })
          .prefault({}),
        ip_stuffing: z
          .strictObject({
            enabled: z.boolean().default(true),
            min_failures: z
              .number()
              .int()
              .positive()
              .default(30)
              .describe('Failed logins from one IP in 10 minutes; the floor under the threshold vigil train fits…'),
            min_usernames: z
              .number()
              .int()
              .positive()
              .default(10)
              .describe('…spread over at least this many usernames.'),
            shared_ip_usernames: z
              .number()
              .int()
              .positive()
              .default(50)
              .describe(
                'An IP with this many usernames in 10 minutes is treated as shared (carrier NAT, office proxy)…',
              ),
            shared_ip_factor: z
              .number()
              .min(1)
              .default(4)
              .describe('…and needs this many times the failures before it is throttled.'),
            action: z.enum(ACTING).default('throttle'),
            session_action: z
              .enum(ACTING)
              .default('revoke')
              .describe(
                'A session (a token or credential) used from that IP while it is stuffing — an account the stuffing ' +
                  'just cracked — gets this on its principal.',
              ),
          })
          .prefault({}),
        ip_stuffing_probe: z
          .strictObject({
            enabled: z.boolean().default(true),
            min_failures: z
              .number()
              .int()
              .positive()
              .default(3)
              .describe(
                'The early warning of credential stuffing from one address: failed logins from one IP in 10 minutes ' +
                  '(a shared address’s divided by ip_stuffing.shared_ip_factor), the floor under the threshold ' +
                  'vigil train fits at the alert budget — the SOC hears of it at its first attempts; ip_stuffing ' +
                  'throttles once it is unmistakable…',
              ),
            min_usernames: z
              .number()
              .int()
              .positive()
              .default(3)
              .describe('…spread over at least this many usernames.'),
            action: z.enum(ACTING).default('alert'),
          })
          .prefault({}),
        token_replay: z
          .strictObject({
            enabled: z.boolean().default(true),
            action: z
              .enum(ACTING)
              .default('revoke')
              .describe(
                'One token from another client (user agent or certificate) and another network within 10 minutes: a ' +
                  'copied token.',
              ),
          })
          .prefault({}),
        enumeration: z
          .strictObject({
            enabled: z.boolean().default(true),
            min_denied: z.number().int().positive().default(10).describe('Requests refused 403/404 in the last hour…'),
            min_objects: z
              .number()
              .int()
              .positive()
              .default(10)
              .describe('…over at least this many distinct object ids (BOLA).'),
            action: z.enum(ACTING).default('revoke'),
          })
          .prefault({}),
        enumeration_probe: z
          .strictObject({
            enabled: z.boolean().default(true),
            min_denied: z
              .number()
              .int()
              .positive()
              .default(2)
              .describe(
                'The early warning of an enumeration: requests refused 403/404 in the last hour, the floor under the ' +
                  'threshold vigil train fits at the alert budget (a SOC hears of a walk over other customers’ ' +
                  'objects at its first refusals; enumeration acts once it is unmistakable)…',
              ),
            min_objects: z
              .number()
              .int()
              .positive()
              .default(2)
              .describe('…over at least this many distinct object ids.'),
            action: z.enum(ACTING).default('alert'),
          })
          .prefault({}),
        velocity: z
          .strictObject({
            enabled: z.boolean().default(true),
            max_per_minute: z
              .number()
              .int()
              .positive()
              .default(60)
              .describe('More requests than this from one principal in a minute.'),
            own_peak_factor: z
              .number()
              .min(1)
              .default(1.5)
              .describe(
                "…and more than this many times the principal's own busiest minute on earlier days " +
                  "(req_1m_own_peak_log), where it has one: a payroll account's burst is its norm. A principal " +
                  'without that history is judged by the threshold alone.',
              ),
            action: z.enum(ACTING).default('throttle'),
          })
          .prefault({}),
        sustained_activity: z
          .strictObject({
            enabled: z.boolean().default(true),
            min_active_minutes: z
              .number()
              .int()
              .min(2)
              .max(60)
              .default(20)
              .describe(
                'Minutes of the last hour with requests: a paced script keeps a cadence people do not. The floor ' +
                  'under the threshold vigil train fits on the user’s own traffic (a low-and-slow scraper at one ' +
                  'page every 2.5 minutes is active 24 minutes an hour; busy people set the fitted bar).',
              ),
            action: z.enum(ACTING).default('alert'),
          })
          .prefault({}),
        payment_anomaly: z
          .strictObject({
            enabled: z.boolean().default(true),
            min_risk: z
              .number()
              .positive()
              .default(5)
              .describe(
                "tx_risk_1h (the account's payment risk of the last hour in nats: each payment to a new payee adds " +
                  "how rare new payees are for the account, its amount's z-score and the surprise of its hour, at " +
                  'most 3) at or above this; the floor under the threshold vigil train fits.',
              ),
            corroborating_hour_unusual: z
              .number()
              .min(0)
              .max(1)
              .default(0.5)
              .describe(
                "A burst of payments that outnumbers the account's history (a business's first payroll run) is " +
                  'fitted its own threshold by vigil train, unless it began at an hour at least this unusual for the ' +
                  'principal (tx_burst_hour_unusual: 0 its busiest hour, 1 never seen): then it is judged with every ' +
                  'account — the second signal a cold start needs.',
              ),
            batch_max_gap_s: z
              .number()
              .positive()
              .default(2)
              .describe(
                "A burst two of whose payments came at most this many seconds apart (tx_burst_gap_s_log, the burst's " +
                  'shortest gap: a payroll file, an API loop — faster than anyone enters a payment by hand) is ' +
                  "fitted its own threshold by vigil train, so a batch's dozens of new payees do not set the bar for " +
                  "a drain typed in through the customer's own app.",
              ),
            action: z.enum(ACTING).default('step_up'),
          })
          .prefault({}),
        geo_fence: z
          .array(
            z.strictObject({
              route_prefix: z.string().startsWith('/'),
              allow: countries.optional().describe('Only these countries may call the routes.'),
              deny: countries.optional().describe('These countries may not.'),
              action: z.enum(ACTING).default('step_up'),
            }),
          )
          .default([])
          .describe('Country allow/deny lists per route prefix.'),
      })
      .prefault({}),
  })
  .prefault({})
  .describe('Decision policy: how model scores and rules become actions.');
export type PolicyConfig = z.output<typeof policyConfigSchema>;

/** Cross-field checks; each message says how to fix the config. */
export function lintPolicyConfig(config: PolicyConfig): string[] {
  const problems: string[] = [];
  const classes = new Set(Object.keys(config.route_classes));
  for (const cls of Object.keys(config.thresholds)) {
    if (cls !== 'default' && !classes.has(cls))
      problems.push(
        `policy.thresholds names route class "${cls}", which policy.route_classes does not define — add it there or ` +
          `fix the name`,
      );
  }
  const seen = new Map<string, string>();
  for (const [cls, prefixes] of Object.entries(config.route_classes)) {
    for (const p of prefixes) {
      const other = seen.get(p);
      if (other !== undefined)
        problems.push(`route prefix ${p} is in both route classes "${other}" and "${cls}" — keep it in one`);
      seen.set(p, cls);
    }
  }
  for (const [cls, t] of Object.entries(config.thresholds)) {
    const order = [t.alert, t.step_up, t.revoke].filter((x): x is number => x !== undefined);
    if (order.some((x, i) => i > 0 && x < (order[i - 1] as number)))
      problems.push(`policy.thresholds.${cls}: thresholds must not fall from alert to step_up to revoke`);
  }
  for (const f of config.rules.geo_fence) {
    if (!f.allow && !f.deny)
      problems.push(`policy.rules.geo_fence for ${f.route_prefix} needs an allow or a deny list`);
  }
  if (config.tenant.by === 'route_prefix' && Object.keys(config.tenant.route_prefixes).length === 0) {
    problems.push(
      'policy.tenant.by is route_prefix but policy.tenant.route_prefixes is empty — map each tenant to its route ' +
        'prefixes',
    );
  }
  return problems;
}
