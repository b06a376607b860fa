// Help texts: every command answers --help.
export const USAGE = `vigil — streaming detector for financial APIs (gateway access logs in, revocations and alerts out)

Usage: vigil <command> [options]

Commands:
  demo                      Simulated bank traffic through the pipeline in one process, no external service
  detect --config FILE      Run the detector service (Kafka in; keyed topic, dead-letter topic, ClickHouse out)
  alert --config FILE       Run the alerter service (vigil.decisions in; signed SOC webhooks, CAEP events, label callback)
  label --config FILE --verdict true_positive|false_positive (--request-id R | --alert-id A) [--analyst N] [--note T]
                            Record an analyst's verdict in the labels table
  revoke --config FILE      Run the revoker service (vigil.decisions in; gateway lists, vigil.revocations, audit out)
  revoke --undo ID --config FILE
                            Lift one enforcement (ID is kind:value, e.g. sub:alice) at every gateway
  parse --format F --input FILE [--out FILE] [--dead-letters FILE]
                            Parse a gateway log offline: canonical events and dead letters as JSON Lines
  features --format F --input FILE --out FILE [--bound-ms N]
                            Feature vectors of a gateway log, in event time (JSON Lines + FILE.schema.json)
  train --format F --input FILE --out DIR [--max-rows N] [--seed N] [--labels FILE]
                            Train a model bundle (scaler, isolation forest, autoencoder, calibration, thresholds)
  replay --format F --input FILE [--bundle DIR] --out FILE [--compare DIR [--diff FILE]] [--config FILE] [--all]
                            The detector offline over a log, in event time: decision records (JSON Lines)
  explain REQUEST_ID (--decisions FILE | --config FILE) [--json]
                            Why a decision was taken: action, scores, context, reasons
  simulate --format F --out FILE [--events N] [--seed N] [--profile bank|steady] [--attacks N --labels FILE]
                            Write seeded demo-bank traffic as a gateway log, with labelled attacks if asked
  simulate --target URL [--speed X] [--attacks N]
                            Send the demo bank's traffic over HTTP to a gateway in front of vigil bank-api
  bank-api [--port N] [--host H] [--customers N]
                            Run the demo bank API (for a gateway to front: the compose stack, trying a gateway set-up)
  config check [--service S] FILE
                            Validate a config of the detector (default), revoker or alerter (YAML; VIGIL_* overrides apply)
  config schema [--service S]
                            Print a service config's JSON Schema
  docs [--out DIR]          Regenerate the feature table and the config reference in DIR/features.md and
                            DIR/configuration.md (default DIR: docs) from the code
  doctor --config FILE [--service S] [--timeout-ms N] [--json]
                            Before starting a service: probe the Kafka brokers and topics, ClickHouse, enforcement
                            targets, receivers, files and secrets its config names; ok / warn / FAIL per check

Formats: canonical, kong, envoy, haproxy, nginx. Run 'vigil <command> --help' for a command's options,
'vigil --version' for the version.
`;

export const HELP: Record<string, string> = {
  demo: `Usage: vigil demo [--events N] [--seed N] [--format F] [--attacks N]

Generates seeded demo-bank traffic (default 200000 events, kong format, seed 1) with N labelled attacks of each
family woven in (default 3) and a share of malformed records, and runs it through the detector's stages in one
process on the in-memory bus: ingest, the features in event time, the default bundle and the policy, the revoker's
guardrails in front of an in-memory gateway. Prints a report: dead letters by reason code, events per second, the
decisions, per attack family how many were detected and revoked and after how many attacker requests, and false
alerts and revocations per 1,000 benign principals per day. Needs no Kafka, ClickHouse or network.
`,
  detect: `Usage: vigil detect --config FILE

Runs the detector service. FILE is YAML (see config/detector.example.yaml); every key can be overridden with
VIGIL_<KEY>__<SUBKEY>, e.g. VIGIL_KAFKA__BROKERS=k1:9092 VIGIL_PEPPER__SECRET=... Stops gracefully on SIGTERM.
`,
  alert: `Usage: vigil alert --config FILE

Runs the alerter: consumes decision records and tells the SOC — one alert per entity per incident window (opened at
once, updated when the severity rises, summarised at close), as OCSF Detection Finding 2004, generic JSON or Slack
text per receiver, signed per Standard Webhooks (secrets from the environment), retried with backoff and jitter on
5xx, 429 and timeouts, dead-lettered to vigil.alerts.dlq otherwise. On every revocation of a subject or session it
pushes a CAEP session-revoked Security Event Token to the configured receivers. POST /v1/labels (bearer token) records
analysts' verdicts. See config/alerter.example.yaml.
`,
  label: `Usage: vigil label --config FILE --verdict true_positive|false_positive (--request-id R | --alert-id A) [--analyst NAME] [--note TEXT]

Records an analyst's verdict on a decision or an alert in the labels table (ClickHouse from the alerter's config),
where training and threshold tuning read it.
`,
  revoke: `Usage: vigil revoke --config FILE
       vigil revoke --undo ID --config FILE

Runs the revoker: consumes decision records and enforces revoke / throttle / step_up at the configured gateway
adapters (HAProxy Runtime API, Redis, HTTP, Kong Admin API, IdP sessions), behind the guardrails — allowlist, rate
caps (over a cap: alert only, and the SOC is told), idempotency, and dry run until enforce: true. Every action is
audited (ClickHouse revocations table) and recorded on the compacted topic vigil.revocations. See
config/revoker.example.yaml. --undo lifts one enforcement everywhere; ID is kind:value (sub:alice, jti:…, ip:…).
`,
  parse: `Usage: vigil parse --format F --input FILE [--out FILE] [--dead-letters FILE] [--pepper-env NAME]

Parses a gateway log (JSON Lines, any size) offline with the detector's adapters. Writes canonical events to
--out (default: stdout) and dead letters to --dead-letters, and prints counts by reason code on stderr. The pepper
comes from the environment variable named by --pepper-env (default VIGIL_PEPPER__SECRET).
`,
  features: `Usage: vigil features --format F --input FILE --out FILE [--bound-ms N] [--pepper-env NAME]

Computes the detector's feature vectors for every event of a gateway log (any size; streaming). Events are put in
event-time order through a reorder buffer of --bound-ms (default 2000) so the vectors do not depend on the order
the log's lines arrived in. Writes {ts, request_id, principal, v} per line to FILE and the feature schema (names,
parameters, hash) to FILE.schema.json. The pepper comes from VIGIL_PEPPER__SECRET (or --pepper-env).
`,
  train: `Usage: vigil train --format F --input FILE --out DIR [--max-rows N] [--seed N] [--bound-ms N] [--pepper-env NAME]
       [--labels FILE]

Trains a model bundle on a log of normal traffic with the detector's own parsing and feature code. The log is
streamed (any size): a seeded reservoir keeps at most --max-rows feature rows (default 1000000), and one principal in
five is held out — the models never see it — to calibrate the scores and set the thresholds per action (alert,
step_up, revoke) for target false-positive rates per principal-day (0.25 %, 0.1 %, 0.05 %). Writes DIR/manifest.json,
DIR/iforest.json and DIR/autoencoder/, and prints a summary: rows, features, thresholds and the false-positive rates
they give on the held-out traffic, per event and per principal-day. --seed (default 0) fixes the sample and the models.
Rule thresholds are fitted on the same log per cohort (client_id) for target false-positive rates per principal-day.
--labels FILE: analysts' verdicts (JSON lines {"request_id", "verdict": "true_positive"|"false_positive"}, e.g. an
export of the labels table that vigil label writes): labelled attacks leave the benign fit, false positives raise the
rule threshold of their cohort past them (never past a labelled true positive; at most 3×), and the summary reports
each rule's and the models' precision on the labelled requests as the new bundle decides them.
`,
  replay: `Usage: vigil replay --format F --input FILE [--bundle DIR] --out FILE [--compare DIR [--diff FILE]] [--config FILE] [--all]
       [--bound-ms N] [--pepper-env NAME]

Runs the detector offline over a gateway log, in event time, on the detector's own code path — adapter, feature
stages' families, bundle scoring and the decision policy — and writes decision records (JSON Lines) to --out: the
records the live service writes for the same log, except decided_at. Streams the log (bounded memory). Without
--bundle, the default bundle that ships with vigil (models/bundles/default). Without --all
only non-allow decisions are written. --config takes a detector config (policy, dry_run, reorder bound, GeoIP; the
pepper from it or VIGIL_PEPPER__SECRET). --compare DIR scores a candidate bundle alongside and prints, per request,
how its actions differ (active → candidate); --diff FILE writes the differing requests.
`,
  explain: `Usage: vigil explain REQUEST_ID (--decisions FILE | --config DETECTOR_CONFIG) [--json]

Shows why a decision was taken, for the SOC: the action and entity, the calibrated score and each model's, the
request's route, class, tenant and country, the principal's identifiers, and each reason — a rule's evidence against
its threshold, or a feature's value against its usual value with its share of the score. Reads the decisions table
in ClickHouse (the detector config's clickhouse section; the detector stores every decision record, shadow ones
marked) or a decisions file written by vigil replay. --json prints the records.
`,
  simulate: `Usage: vigil simulate --format F --out FILE [--events N] [--seed N] [--customers N] [--profile bank|steady]
       [--credentials bearer|claims] [--attacks N --labels FILE]

Writes seeded demo-bank traffic as the given gateway's JSON access log, from midnight of 2 November 2026. The bank
profile (the default; 5,000 customers, about 25 requests each a day) has homes in real UK cities (addresses the
bundled GeoIP database places there), mobile carriers, sessions following the local day with logins and token
refreshes, habitual payments, travellers, VPN users and business payroll batches. --profile steady is a fixed-rate
load of the same API calls (1,000 customers, one request every 50 ms) for load tests.
--credentials bearer logs raw Authorization headers (as Kong's default serializer did); claims logs decoded claims
and a fingerprint computed by the gateway (the recommended set-up).
--attacks N weaves N attacks of each family (token theft, impossible-travel login, credential stuffing concentrated
and distributed, BOLA fast and slow, scraping fast and slow, payment fraud) into the traffic and writes one label per
attack request to --labels (request_id, attack_id, family, principal); npm run bench:quality scores a bundle
against them.
--target URL sends the traffic as HTTP requests instead, starting now at --speed times real time (default 1), to a
gateway in front of 'vigil bank-api' (client addresses in X-Forwarded-For, bearer tokens signed with the demo IdP's
key, logins with the right password or a wrong one): the gateway writes the log. Attacks start after the first
simulated hour. Runs until --events requests are sent, or until stopped.
`,
  'bank-api': `Usage: vigil bank-api [--port N] [--host H] [--customers N]

Runs the demo bank API the simulator's customers use (default 127.0.0.1:8081, 5,000 customers): POST /oauth/token
(password and refresh_token grants), GET /v1/accounts, /v1/accounts/ID, /v1/accounts/ID/transactions?page=N,
/v1/payees, POST /v1/payments. Tokens are the demo IdP's HS256 JWTs, checked on every call; another customer's
account answers 403 (what BOLA probing looks like), an unknown one 404. A demo, not a bank: the signing key and the
passwords follow from public constants.
`,
  doctor: `Usage: vigil doctor --config FILE [--service detector|revoker|alerter] [--timeout-ms N] [--json]

The check to run before starting a service. Reads FILE as \`vigil config check\` does (YAML, VIGIL_* overrides; the
service from --service or the file's keys), then probes what the config names and prints one line per check — ok,
warn or FAIL, what was checked (an address, a path, a variable) and, when it is not ok, how to fix it:
  config        valid for the service (every problem listed)
  pepper        from VIGIL_PEPPER__SECRET: set, not a published placeholder, 32 characters or more (detector; revoker
                when it has one); shown as its length and a SHA-256 prefix, never the value
  secrets       the environment variables the config names (receivers' secret_env, labels.token_env, Kong and IdP
                tokens, {env:NAME} in HTTP templates) are set
  files         the model bundles load against this version's feature schema, the GeoIP database opens, the OpenAPI
                document, CAEP signing keys and NODE_EXTRA_CA_CERTS are readable
  kafka         each broker: TCP connect, then cluster metadata (TLS/SASL as configured); the brokers it advertises
                are reachable; each topic the service reads or writes exists — missing is FAIL for a topic the
                service reads and does not create (the detector's access-log topics), warn for one it creates at start
  clickhouse    SELECT 1 as the configured user, and the database exists
  targets       (revoker) HAProxy Runtime API: show info, and every configured map loaded (show map); Redis: INFO;
                HTTP, Kong and IdP adapters: HEAD on the URL's origin
  receivers     (alerter) webhook and CAEP receivers: HEAD on the URL's origin — no alert is sent
Probes only read: nothing is created, sent or enforced. Each network probe gives up after --timeout-ms (default
3000). --json prints one JSON object {config, service, ok, counts, checks: [{status, check, target, detail, hint}]}.
Exit status 0 when no check failed (warnings allowed), 1 when one did, 2 for a usage error.
`,
  docs: `Usage: vigil docs [--out DIR]

Rewrites the generated parts of DIR/features.md and DIR/configuration.md (default DIR: docs), between their
<!-- generated:features:start/end --> and <!-- generated:configuration:start/end --> markers: the feature table from
the feature schema (names, families, roles, parameters, hash) with each feature's description, and every key of the
detector's (policy included), revoker's and alerter's configs with its type, default and description. The prose
around the markers is left alone. npm run docs builds the code and runs it; a unit test fails when the committed
docs differ. Names a feature that has no description yet.
`,
  config: `Usage: vigil config check [--service detector|revoker|alerter] FILE | vigil config schema [--service detector|revoker|alerter]

check: validates a service's config (default: the detector's) and prints what to fix; exit status 0 when valid, 2
when not. schema: prints the JSON Schema of that config (every key with its description and default).
`,
};
