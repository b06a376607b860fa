// What each feature means, for the generated table of docs/features.md (`npm run docs`). The names, families, roles
// and parameters come from the code (FeatureExtractor.standard); only the words live here. A feature added to a family
// without an entry here shows up in the table as undescribed, and `vigil docs` names it.

export interface FeatureDescription {
  /** The window or horizon of event time the value covers. */
  window: string;
  /** The key the family's state sits under, where it is finer than the role (a token, an account). */
  key?: string;
  /** The definition, then what a high value means. */
  means: string;
}

const BURSTS = 'log1p(requests in the window) — bursts';
const NEW_OBJECTS = 'log1p(objects addressed that were not addressed in the hour before) — enumeration (BOLA)';
const ACCOUNT = 'account (else principal)';

export const FEATURE_DESCRIPTIONS: Readonly<Record<string, FeatureDescription>> = {
  req_10s_log: { window: '10 s', means: BURSTS },
  req_1m_log: { window: '1 min', means: BURSTS },
  req_10m_log: { window: '10 min', means: BURSTS },
  req_1h_log: { window: '1 h', means: BURSTS },
  rate_ratio_1m: {
    window: '1 min vs prior hour',
    means:
      'log2(last minute ÷ average minute of the hour before, with a population prior for new principals) — sudden acceleration',
  },
  active_minutes_1h: {
    window: '1 h',
    means:
      'minutes of the hour with at least one request — a paced script (low-and-slow scraping or BOLA) fills the hour, people bank in bursts of a few minutes',
  },
  req_1m_own_peak_log: {
    window: 'earlier days (decayed daily)',
    means:
      "log1p of the principal's own busiest minute before today — its habit; the velocity rule does not fire within `own_peak_factor` of it",
  },
  distinct_objects_10m_log: { window: '10 min', means: NEW_OBJECTS },
  distinct_objects_1h_log: { window: '1 h', means: NEW_OBJECTS },
  novel_object_share_1h: {
    window: '1 h',
    means: 'share of requests addressing a new object — near 1 for a walk, also low-and-slow',
  },
  denied_share_10m: { window: '10 min', means: "share of 403/404 answers — probing others' objects" },
  sequential_ids_10m_log: { window: '10 min', means: 'log1p(steps of ±1…3 between numeric ids) — id walking' },
  schema_reject_share_10m: { window: '10 min', means: 'share of 400/405/422 answers — fuzzing, method misuse' },
  denied_1h_log: { window: '1 h', means: 'log1p(403/404 answers) — low-and-slow probing' },
  geo_known: { window: 'last location', means: '1 when the IP is placed' },
  geo_country_changed: { window: 'last location', means: '1 when the country changed' },
  geo_distance_km_log: {
    window: 'since last city fix',
    means:
      'log1p(km beyond a tolerance: 500 km within a country for carrier hops, 100 km across borders) — impossible travel',
  },
  geo_speed_kmh_log: { window: 'since last city fix', means: 'log1p(km/h, at least 1 min apart) — impossible travel' },
  geo_country_new: {
    window: '30 days',
    means:
      '1 when the country is not among the (up to four) the principal was seen in — a VPN user back at a usual exit is not travelling',
  },
  token_agent_changed_10m: {
    window: '10 min',
    key: 'token',
    means: '1 when one token shows another user agent / client certificate — a copied token',
  },
  token_network_changed_10m: {
    window: '10 min',
    key: 'token',
    means: '1 when one token shows another /24 (/48) network — a copied token',
  },
  token_networks_1h_log: { window: '1 h', key: 'token', means: 'log1p(networks the token was used from)' },
  agent_known: {
    window: '30 d',
    means:
      "1 when the request's client (user agent, and TLS client certificate where logged) is one of the four the principal used most recently; 0 for a client new to it, or a principal with no history — a traveller's own phone is known, a stuffing tool is not",
  },
  tx_present: {
    window: 'the request',
    key: ACCOUNT,
    means: '1 when the request carries a payment (the other `tx_` features are 0 otherwise)',
  },
  tx_amount_z: {
    window: 'running',
    key: ACCOUNT,
    means:
      "z-score of ln(amount) against the account's robust running mean and deviation (a prior of a typical 50-unit payment at first, fading over 10 payments; deviation floor 0.25)",
  },
  tx_ratio_to_max_log2: { window: 'all time', key: ACCOUNT, means: 'log2(amount ÷ largest earlier payment)' },
  tx_new_payee: { window: '180 days', key: ACCOUNT, means: '1 for a payee not paid in 180 days' },
  tx_hour_unusual: {
    window: 'decayed',
    key: ACCOUNT,
    means:
      "1 − share of the account's payments in this UTC hour (read with its neighbours: ½ at ±1 h, ¼ at ±2 h) relative to its busiest hour; until the account has 3 payments, the same over all the principal's requests (its activity hours)",
  },
  tx_count_1h_log: { window: '1 h', key: ACCOUNT, means: 'log1p(payments in the hour)' },
  tx_conjunction: {
    window: 'the payment',
    key: ACCOUNT,
    means: 'new payee × positive z × unusual hour — the conjunction a forest sees weakly',
  },
  tx_risk_1h: {
    window: '1 h (decay)',
    key: ACCOUNT,
    means:
      "payment risk in nats: each payment to a new payee adds −ln(the account's own new-payee rate, Beta prior 0.2 over 2 payments) + its amount z-score (at most 6) + the hour's surprise −ln(1 − tx_hour_unusual) at the hour the burst began (at most 3); payments to known payees add nothing. The `payment_anomaly` rule's statistic",
  },
  tx_history_log: {
    window: 'before the current burst',
    key: ACCOUNT,
    means:
      "log1p(payments the account made before its current burst, payments no more than an hour apart) — a burst that outnumbers them is a cold start (a business's first payroll run): vigil train fits such bursts their own `payment_anomaly` threshold",
  },
  tx_burst_hour_unusual: {
    window: 'the current burst',
    key: ACCOUNT,
    means:
      "tx_hour_unusual at the current burst's first payment — kept for the burst, because a drain's own requests soon make its hour look usual; the second signal that judges a cold burst with every account",
  },
  tx_burst_gap_s_log: {
    window: 'the current burst',
    key: ACCOUNT,
    means:
      "log1p(mean seconds between the current burst's payments; an hour at its first) — low for a machine-paced batch (a payroll file, an API loop), which `payment_anomaly` judges apart from payments entered by hand",
  },
  tx_rhythm_known: {
    window: 'since the principal was first seen',
    means:
      '1 once the principal has been seen for a day (`rhythmMs`): before that its activity hours are no rhythm, and `payment_anomaly` judges its bursts as cold starts, uncorroborated by the hour',
  },
  ip_route_req_1m_log: {
    window: '1 min',
    key: 'client IP + route',
    means: 'log1p(requests) — scraping one endpoint from one address',
  },
  ip_failed_logins_10m_log: {
    window: '10 min',
    means: 'log1p(failed logins beyond the first: a typo is forgiven) — concentrated credential stuffing',
  },
  ip_distinct_usernames_10m_log: {
    window: '10 min',
    means: 'log1p(usernames tried) — concentrated credential stuffing',
  },
  user_failed_logins_1h_log: { window: '1 h', means: 'log1p(failed logins beyond the first) — guessing one account' },
  success_after_failures_log: {
    window: '1 h',
    means: 'on a successful login, log1p(failures before it, beyond the first) — a cracked account',
  },
  login_success: {
    window: 'the request',
    means:
      'on a login, 1 when it succeeded (0 for a failure and for other requests) — what a rule needs to tell a cracked login from an attempt',
  },
  tenant_failure_ratio_1m: {
    window: '1 min vs usual',
    means:
      "on logins, log2 of the tenant's failed logins in the last minute against its usual minute (an hour's average that a surge does not teach itself: each finished minute counts at most one bit above it), 0 at or below it (only a surge is evidence) — distributed stuffing",
  },
};
