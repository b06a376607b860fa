// `vigil doctor --config FILE`: what an operator runs before starting a service. The config is read as `vigil config
// check` reads it; then every dependency it names is probed once, each probe bounded by --timeout-ms: Kafka brokers
// and topics, ClickHouse, the revoker's enforcement targets, the alerter's receivers, the files and secrets it names.
// Probes only read: no topic is created, no alert sent, no list at a gateway touched. Secrets are never printed —
// where one comes from, its length and (for the pepper) a hash prefix at most.

import { createHash, createPrivateKey } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { type AlerterConfig, alerterConfigSchema, lintAlerterConfig } from '@vigil/alerter';
import { ModelBundle } from '@vigil/bundle';
import { clickhouseClient, createKafka, type KafkaConnection } from '@vigil/connectors';
import { type DetectorConfig, detectorConfigSchema, lintDetectorConfig, topologyOf } from '@vigil/detector';
import { HaproxyAdapter, RedisAdapter } from '@vigil/enforcement';
import { FeatureExtractor, MmdbGeoLookup } from '@vigil/features';
import { lintRevokerConfig, type RevokerConfig, revokerConfigSchema } from '@vigil/revoker';
import { ConfigError, type Lint, loadConfig, pepperProblem } from '@vigil/runtime';
import { z } from 'zod';
import { defineCommand } from '../command.js';
import { inferService } from './config.js';

export type Status = 'ok' | 'warn' | 'fail';

export interface Check {
  status: Status;
  /** What was checked: "kafka broker", "receiver soc", … */
  check: string;
  /** Where: an address, a path, an environment variable. */
  target: string;
  detail: string;
  /** On a failure or warning: how to fix it, in one line. */
  hint?: string;
}

export const DEFAULT_TIMEOUT_MS = 3000;

const ok = (check: string, target: string, detail: string): Check => ({ status: 'ok', check, target, detail });
const warn = (check: string, target: string, detail: string, hint: string): Check => ({
  status: 'warn',
  check,
  target,
  detail,
  hint,
});
const fail = (check: string, target: string, detail: string, hint: string): Check => ({
  status: 'fail',
  check,
  target,
  detail,
  hint,
});

// --- bounded probes ---------------------------------------------------------------------------------------------

class TimedOut extends Error {}

/** `p`, or a TimedOut after `ms`: no probe waits longer, whatever its client's own retry settings. */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut()), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/**
 * A TCP connect and nothing else: tells "refused" from "no route" from "unknown host" before a client's retries blur
 * it.
 */
function tcpConnect(host: string, port: number, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    const timer = setTimeout(() => socket.destroy(new TimedOut()), ms);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found (DNS)',
  EAI_AGAIN: 'DNS lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connect timed out',
  ENOENT: 'no such file or socket',
  EACCES: 'permission denied',
  ECONNABORTED: 'connection aborted',
};

/**
 * One line saying why a probe failed: a known socket error by name, else the error's first line (URL credentials cut).
 */
function reason(err: unknown, ms: number): string {
  // Clients wrap socket errors (kafkajs, fetch, the adapters' retriable errors): the cause chain holds the code.
  let e = err as { name?: string; code?: unknown; message?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++, e = e.cause as typeof e) {
    // The HAProxy adapter's own timer (set to the same ms) ends its socket with "timed out".
    if (e instanceof TimedOut || e.name === 'TimeoutError' || e.message === 'timed out')
      return `no answer within ${ms} ms`;
    if (typeof e.code === 'string' && CODES[e.code]) return CODES[e.code] as string;
  }
  // fetch says only "fetch failed"; its cause says why (a TLS error, a port fetch refuses to use).
  if (err instanceof TypeError && err.message === 'fetch failed' && err.cause) return reason(err.cause, ms);
  const message = err instanceof Error ? err.message : String(err);
  return (message.split('\n')[0] ?? '').replace(/\/\/[^/@\s]*@/g, '//').slice(0, 200) || 'failed';
}

/** The scheme, host and port of a URL (a URL's path and user info can hold secrets: Slack hooks, basic auth). */
function origin(url: string): string | undefined {
  try {
    const u = new URL(url.replace(/\{[^}]*\}/g, 'x'));
    return u.origin === 'null' ? `${u.protocol}//${u.host}` : u.origin;
  } catch {
    return undefined;
  }
}

/** HEAD on the URL's origin: any HTTP answer means reachable. Never the configured path, never a body. */
async function httpCheck(check: string, url: string, ms: number, hint: string): Promise<Check> {
  const at = origin(url);
  if (at === undefined) return fail(check, '(unparsable URL)', 'cannot tell the host from the URL', hint);
  try {
    const res = await fetch(at, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(ms) });
    await res.arrayBuffer().catch(() => undefined);
    return ok(check, at, `reachable (HEAD / answered ${res.status})`);
  } catch (err) {
    const why = reason(err, ms);
    return fail(
      check,
      at,
      why,
      /CERT|certificate|self.signed/i.test(why)
        ? 'the server certificate is not trusted here: add its CA with NODE_EXTRA_CA_CERTS=ca.pem'
        : hint,
    );
  }
}

// --- config and secrets -----------------------------------------------------------------------------------------

// biome-ignore lint/suspicious/noExplicitAny: each service pairs its own schema with its own lint
const SERVICES: Record<string, { schema: z.ZodObject<any>; lint: Lint<any> }> = {
  detector: { schema: detectorConfigSchema, lint: lintDetectorConfig },
  revoker: { schema: revokerConfigSchema, lint: lintRevokerConfig },
  alerter: { schema: alerterConfigSchema, lint: lintAlerterConfig },
};

/**
 * The service's schema with the pepper's strength rule taken out, so a bad pepper is one FAIL among the other checks
 * instead of stopping them all; the doctor applies the same rule (pepperProblem) itself.
 */
function pepperApart(schema: z.ZodObject): z.ZodObject {
  const pepper = schema.shape.pepper;
  if (pepper === undefined) return schema;
  const inner = (pepper instanceof z.ZodOptional ? pepper.unwrap() : pepper) as z.ZodObject;
  return schema.extend({ pepper: inner.extend({ secret: z.string().optional() }).optional() });
}

/** A problem message "what is wrong — how to fix it" as detail and hint. */
function split(problem: string): { detail: string; hint: string } {
  const at = problem.indexOf(' — ');
  return at < 0
    ? { detail: problem, hint: 'see `vigil config schema` for the key' }
    : { detail: problem.slice(0, at), hint: problem.slice(at + 3) };
}

const PEPPER_ENV = 'VIGIL_PEPPER__SECRET';

function pepperCheck(pepper: { secret?: string } | undefined, file: string, required: boolean): Check[] {
  if (pepper === undefined && !required) return [];
  const fromEnv = process.env[PEPPER_ENV] !== undefined;
  const source = fromEnv ? PEPPER_ENV : `pepper.secret in ${file}`;
  const secret = pepper?.secret;
  if (secret === undefined)
    return [fail('pepper', PEPPER_ENV, 'not set', `set ${PEPPER_ENV} to your own secret: \`openssl rand -hex 32\``)];
  const problem = pepperProblem(secret);
  if (problem !== undefined) {
    const { detail, hint } = split(problem);
    return [fail('pepper', source, `refused (${secret.length} characters): ${detail}`, hint)];
  }
  const fingerprint = createHash('sha256').update(secret).digest('hex').slice(0, 8);
  const detail = `${secret.length} characters, sha256 ${fingerprint}… (compare across services)`;
  if (!fromEnv) return [warn('pepper', source, detail, `keep secrets out of the file: set ${PEPPER_ENV} instead`)];
  return [ok('pepper', source, detail)];
}

/** An environment variable the config names for a secret: set or not (its value never leaves this function). */
function secretCheck(what: string, name: string, consequence: string): Check {
  const value = process.env[name];
  if (!value) return fail(what, `$${name}`, `not set: ${consequence}`, `export ${name} in the service's environment`);
  const parts = value.split(',').filter((s) => s.trim() !== '').length;
  return ok(what, `$${name}`, parts > 1 ? `set (${parts} values)` : 'set');
}

/** Names of {env:NAME} placeholders in request templates. */
const envPlaceholders = (...templates: (string | undefined)[]) =>
  templates.flatMap((t) => [...(t ?? '').matchAll(/\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] as string));

function secrets(service: string, config: Record<string, unknown>): Check[] {
  if (service === 'revoker') return revokerSecrets(config as RevokerConfig);
  if (service === 'alerter') return alerterSecrets(config as AlerterConfig);
  return [];
}

/** The revoker's targets' secrets: {env:NAME} placeholders in HTTP templates, Kong admin and IdP tokens. */
function revokerSecrets(config: RevokerConfig): Check[] {
  const out: Check[] = [];
  const a = config.adapters;
  const skipped = 'this adapter would enforce nothing (templates with an unset variable are skipped)';
  for (const h of a.http) {
    const names = envPlaceholders(
      h.apply.url,
      h.apply.body,
      ...Object.values(h.apply.headers),
      h.remove?.url,
      h.remove?.body,
      ...Object.values(h.remove?.headers ?? {}),
    );
    for (const n of new Set(names)) out.push(secretCheck(`http ${h.name} secret`, n, skipped));
  }
  for (const [i, k] of a.kong.entries())
    if (k.admin_token_env !== undefined)
      out.push(secretCheck(`kong${i || ''} admin token`, k.admin_token_env, skipped));
  for (const [i, k] of a.idp.entries())
    if (k.token_env !== undefined) out.push(secretCheck(`idp${i || ''} token`, k.token_env, skipped));
  return out;
}

/** The alerter's secrets: each receiver's signing secret and the label callback's token. */
function alerterSecrets(config: AlerterConfig): Check[] {
  const out: Check[] = [];
  for (const r of config.receivers) {
    if (r.secret_env !== undefined)
      out.push(secretCheck(`receiver ${r.name} secret`, r.secret_env, 'the alerter does not start'));
  }
  if (config.labels.token_env !== undefined)
    out.push(secretCheck('label callback token', config.labels.token_env, 'the alerter does not start'));
  return out;
}

// --- files ------------------------------------------------------------------------------------------------------

function readable(check: string, path: string, what: string, hint: string): Check {
  try {
    if (!statSync(path).isFile()) return fail(check, path, 'not a file', hint);
    closeSync(openSync(path, 'r'));
    return ok(check, path, `readable ${what}`);
  } catch (err) {
    return fail(check, path, (err as { code?: string }).code === 'ENOENT' ? 'does not exist' : reason(err, 0), hint);
  }
}

/** The bundle loaded as the detector loads it at start: manifest, feature-schema hash, model files. */
async function bundleCheck(key: string, dir: string): Promise<Check> {
  const check = key === 'scoring.bundle' ? 'model bundle' : 'shadow bundle';
  // The schema hash depends on the families and their parameters, not on the GeoIP data: no database is read for it.
  const schemaHash = FeatureExtractor.standard({ lookup: () => undefined }).schema.hash;
  try {
    if (!statSync(dir).isDirectory())
      return fail(check, dir, 'not a directory', `point ${key} at a directory \`vigil train --out\` wrote`);
    const bundle = await ModelBundle.load(dir, schemaHash);
    return ok(check, dir, `bundle ${bundle.id}, trained on this feature schema`);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT')
      return fail(check, dir, 'does not exist', `point ${key} at a directory \`vigil train --out\` wrote`);
    const message = (err as Error).message;
    const cut = message.search(/ — |: retrain/);
    return cut < 0
      ? fail(check, dir, message.slice(0, 300), 'retrain it with `vigil train`')
      : fail(check, dir, message.slice(0, cut).slice(0, 300), message.slice(cut).replace(/^( — |: )/, ''));
  }
}

/** The detector's files: its bundles, as it loads them; its GeoIP database; its OpenAPI document. */
async function detectorFiles(c: DetectorConfig): Promise<Check[]> {
  const out: Check[] = [];
  if (c.scoring.bundle !== undefined) out.push(await bundleCheck('scoring.bundle', c.scoring.bundle));
  if (c.scoring.shadow_bundle !== undefined)
    out.push(await bundleCheck('scoring.shadow_bundle', c.scoring.shadow_bundle));
  const geoip = c.features.enabled ? c.features.geoip : undefined;
  if (geoip !== undefined) out.push(geoipCheck(geoip));
  if (c.adapter.openapi !== undefined)
    out.push(
      readable(
        'openapi document',
        c.adapter.openapi,
        'file',
        "adapter.openapi: the path of your API's OpenAPI document",
      ),
    );
  return out;
}

function geoipCheck(geoip: string): Check {
  const hint =
    'features.geoip: the path of a MaxMind GeoIP2/GeoLite2 City .mmdb (or omit it for the bundled GeoLite2 City)';
  const file = readable('geoip database', geoip, 'file', hint);
  if (file.status !== 'ok') return file;
  try {
    MmdbGeoLookup.maxmind(geoip);
    return ok('geoip database', geoip, 'a readable MaxMind database');
  } catch (err) {
    return fail('geoip database', geoip, `not a MaxMind database: ${reason(err, 0)}`, hint);
  }
}

/** The alerter's CAEP signing keys: each a readable PEM private key. */
function caepKeys(config: AlerterConfig): Check[] {
  const out: Check[] = [];
  for (const k of config.caep) {
    if (k.private_key_file === undefined) continue;
    const hint = `caep ${k.name}.private_key_file: a PEM private key (RSA, EC P-256 or Ed25519)`;
    const file = readable(`caep ${k.name} key`, k.private_key_file, 'file', hint);
    if (file.status !== 'ok') {
      out.push(file);
      continue;
    }
    try {
      const type = createPrivateKey(readFileSync(k.private_key_file, 'utf8')).asymmetricKeyType;
      out.push(ok(`caep ${k.name} key`, k.private_key_file, `a ${type} private key`));
    } catch {
      out.push(fail(`caep ${k.name} key`, k.private_key_file, 'not a PEM private key', hint));
    }
  }
  return out;
}

async function files(service: string, config: Record<string, unknown>): Promise<Check[]> {
  const out: Check[] = [];
  if (service === 'detector') out.push(...(await detectorFiles(config as DetectorConfig)));
  if (service === 'alerter') out.push(...caepKeys(config as AlerterConfig));
  // Node's TLS connections (Kafka with ssl, ClickHouse and webhooks over https) trust this file's CAs too.
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  if (ca)
    out.push(
      readable(
        'extra CA certificates',
        ca,
        'file (NODE_EXTRA_CA_CERTS)',
        'NODE_EXTRA_CA_CERTS must name a readable PEM file',
      ),
    );
  return out;
}

// --- Kafka ------------------------------------------------------------------------------------------------------

interface TopicNeed {
  topic: string;
  /** Whether the service creates the topic at start when it is missing (ensureTopics in its wiring). */
  created: boolean;
}

/**
 * The topics each service reads or writes, as its wiring names them (services/<s>/src/*-service.ts; the detector's
 * topology).
 */
function topicsOf(service: string, config: Record<string, unknown>): TopicNeed[] {
  const made = (...topics: string[]) => topics.map((topic) => ({ topic, created: true }));
  let needs: TopicNeed[] = [];
  if (service === 'detector') {
    // The detector's topology (@vigil/topology) says which topics it reads and writes: the gateway's log topics it
    // reads and never creates, every other one it creates at start.
    needs = [...topologyOf(config as DetectorConfig).topics.values()].map((t) => ({
      topic: t.name,
      created: t.role !== 'input',
    }));
  } else if (service === 'revoker') {
    const c = config as RevokerConfig;
    needs = made(...c.consumer.topics, c.topics.revocations, c.topics.notices, c.topics.poison);
  } else {
    const c = config as AlerterConfig;
    needs = made(
      ...c.consumer.topics,
      c.topics.dead_letter,
      ...c.receivers.map((r) => `${c.topics.retry}.${r.name}`),
      c.topics.poison,
      c.topics.revocations,
    );
  }
  return needs.filter((n, i) => needs.findIndex((o) => o.topic === n.topic) === i);
}

/**
 * A kafkajs admin on the given brokers whose every step is bounded by `ms` (kafkajs's own retries can run for many
 * seconds).
 */
async function withAdmin<T>(
  connection: KafkaConnection,
  brokers: string[],
  ms: number,
  use: (admin: ReturnType<ReturnType<typeof createKafka>['admin']>) => Promise<T>,
) {
  const kafka = createKafka({
    ...connection,
    brokers,
    connection_timeout_ms: Math.min(connection.connection_timeout_ms, ms),
    request_timeout_ms: Math.min(connection.request_timeout_ms, ms),
    // doctor reports each failure as a check of its own; the client's lines would say it again.
    client_log_level: 'nothing',
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    return await within(
      ms,
      admin.connect().then(() => use(admin)),
    );
  } finally {
    // Bounded apart: after a timed-out connect, kafkajs may still be inside its retries.
    await within(Math.min(ms, 500), admin.disconnect()).catch(() => undefined);
  }
}

const hostPort = (address: string): [string, number] => {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
};

async function kafkaChecks(
  service: string,
  config: Record<string, unknown>,
  file: string,
  ms: number,
): Promise<Check[]> {
  const connection = config.kafka as KafkaConnection;
  const auth =
    `${connection.ssl ? 'TLS' : 'plaintext'}` +
    `${connection.sasl ? `, SASL ${connection.sasl.mechanism} as ${connection.sasl.username}` : ''}`;
  const brokers = await Promise.all(
    connection.brokers.map(async (broker): Promise<{ check: Check; advertised: string[] }> => {
      const [host, port] = hostPort(broker);
      try {
        await tcpConnect(host, port, ms);
      } catch (err) {
        return {
          check: fail(
            'kafka broker',
            broker,
            reason(err, ms),
            'start the broker or correct kafka.brokers (VIGIL_KAFKA__BROKERS) ' +
              '— host:port of a listener this host can reach',
          ),
          advertised: [],
        };
      }
      try {
        const cluster = await withAdmin(connection, [broker], ms, (admin) => admin.describeCluster());
        const advertised = cluster.brokers.map((b) => `${b.host}:${b.port}`);
        return {
          check: ok(
            'kafka broker',
            broker,
            `metadata answered (${auth}): cluster ${cluster.clusterId}, ${advertised.length} broker(s)`,
          ),
          advertised,
        };
      } catch (err) {
        return {
          check: fail(
            'kafka broker',
            broker,
            `TCP connects but ${reason(err, ms)}`,
            `check kafka.ssl (now ${connection.ssl}) and kafka.sasl against the listener's security protocol`,
          ),
          advertised: [],
        };
      }
    }),
  );
  const out = brokers.map((b) => b.check);
  // Clients go on to the addresses the cluster advertises: a bootstrap that answers is not enough.
  const advertised = [...new Set(brokers.flatMap((b) => b.advertised))].filter((a) => !connection.brokers.includes(a));
  out.push(
    ...(await Promise.all(
      advertised.map(async (address) => {
        const [host, port] = hostPort(address);
        try {
          await tcpConnect(host, port, ms);
          return ok('kafka advertised broker', address, 'reachable');
        } catch (err) {
          return fail(
            'kafka advertised broker',
            address,
            reason(err, ms),
            "the broker's advertised.listeners must name an address this host can reach",
          );
        }
      }),
    )),
  );

  const reachable = connection.brokers.filter((_, i) => brokers[i]?.check.status === 'ok');
  const needs = topicsOf(service, config);
  if (reachable.length === 0)
    return [
      ...out,
      warn('kafka topics', `${needs.length} topic(s)`, 'not checked: no broker answered', 'fix the brokers first'),
    ];
  let existing: Set<string>;
  try {
    existing = new Set(await withAdmin(connection, reachable, ms, (admin) => admin.listTopics()));
  } catch (err) {
    return [
      ...out,
      fail(
        'kafka topics',
        reachable.join(','),
        `cannot list topics: ${reason(err, ms)}`,
        'the principal needs DESCRIBE on the cluster and its topics',
      ),
    ];
  }
  const partitions = (config.topics as { partitions: number }).partitions;
  for (const n of needs) {
    if (existing.has(n.topic)) out.push(ok('kafka topic', n.topic, 'exists'));
    else if (n.created)
      out.push(
        warn(
          'kafka topic',
          n.topic,
          `missing: the ${service} creates it at start`,
          'the principal then needs CREATE on the cluster — or create it yourself',
        ),
      );
    else
      out.push(
        fail(
          'kafka topic',
          n.topic,
          `missing: the ${service} reads it and does not create it`,
          `create it (kafka-topics.sh --bootstrap-server ${reachable[0]} --create --topic ` +
            `${n.topic} --partitions ${partitions}) or fix consumer.topics in ${file}`,
        ),
      );
  }
  return out;
}

// --- ClickHouse -------------------------------------------------------------------------------------------------

// AUTHENTICATION_FAILED and, on older servers, UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD.
const AUTH_CODES = new Set(['516', '192', '193', '194']);

async function clickhouseChecks(config: Record<string, unknown>, ms: number): Promise<Check[]> {
  const ch = (config as { clickhouse?: DetectorConfig['clickhouse'] }).clickhouse;
  if (!ch) return [];
  const at = origin(ch.url) ?? ch.url;
  // Credentials in the URL win over username/password (as in the services' clients); passed apart, the client does not
  // log that they were overridden. No database on the connection: a missing database must not pass for a refused login.
  const url = new URL(ch.url);
  const username = url.username ? decodeURIComponent(url.username) : ch.username;
  const password = url.username || url.password ? decodeURIComponent(url.password) : ch.password;
  url.username = '';
  url.password = '';
  const client = clickhouseClient({ url: url.toString(), username, password }, { request_timeout: ms });
  const rows = async <T>(query: string) =>
    within(
      ms,
      client.query({ query, format: 'JSONEachRow' }).then((r) => r.json<T>()),
    );
  try {
    let version: string | undefined;
    try {
      const [row] = await rows<{ one: unknown; v: string }>('SELECT 1 AS one, version() AS v');
      version = Number(row?.one) === 1 ? row?.v : undefined;
    } catch (err) {
      const code = String((err as { code?: unknown }).code ?? '');
      const hint = AUTH_CODES.has(code)
        ? `check the user (${username}) and the password (clickhouse.username, VIGIL_CLICKHOUSE__PASSWORD)`
        : 'start ClickHouse or correct clickhouse.url (VIGIL_CLICKHOUSE__URL) — its HTTP port, 8123 by default';
      return [fail('clickhouse', at, reason(err, ms), hint)];
    }
    if (version === undefined)
      return [
        fail(
          'clickhouse',
          at,
          'answers HTTP, but not as ClickHouse',
          'clickhouse.url must be the HTTP interface of the server (port 8123 by default)',
        ),
      ];
    const checks = [ok('clickhouse', at, `SELECT 1 answered as ${username} (ClickHouse ${version})`)];
    // The database name is checked against a strict pattern by the config schema; 18.16 has no query parameters.
    try {
      const found = await rows<{ name: string }>(`SELECT name FROM system.databases WHERE name = '${ch.database}'`);
      checks.push(
        found.length > 0
          ? ok('clickhouse database', `${at} ${ch.database}`, 'exists')
          : fail(
              'clickhouse database',
              `${at} ${ch.database}`,
              'does not exist',
              `CREATE DATABASE ${ch.database} — or set clickhouse.database to one that exists`,
            ),
      );
    } catch (err) {
      checks.push(
        fail(
          'clickhouse database',
          `${at} ${ch.database}`,
          reason(err, ms),
          `grant ${username} read access to system.databases`,
        ),
      );
    }
    return checks;
  } finally {
    await within(ms, client.close()).catch(() => undefined);
  }
}

// --- enforcement targets and receivers --------------------------------------------------------------------------

async function haproxyChecks(h: RevokerConfig['adapters']['haproxy'][number], ms: number): Promise<Check[]> {
  const adapter = new HaproxyAdapter({ name: h.name, socket: h.socket, maps: h.maps, timeoutMs: ms });
  const check = h.name === 'haproxy' ? 'haproxy' : `haproxy ${h.name}`;
  let info: string;
  try {
    info = await within(ms, adapter.command('show info'));
  } catch (err) {
    return [
      fail(
        check,
        h.socket,
        reason(err, ms),
        'socket: the `stats socket … level admin` of haproxy.cfg ' +
          '(a unix socket path or host:port) — is HAProxy running?',
      ),
    ];
  }
  const version = /^Version:\s*(\S+)/m.exec(info)?.[1];
  if (version === undefined)
    return [
      fail(
        check,
        h.socket,
        'answers, but not as the HAProxy Runtime API',
        'socket must be the stats socket of haproxy.cfg',
      ),
    ];
  const checks = [ok(check, h.socket, `Runtime API answered show info (HAProxy ${version})`)];
  let loaded: string;
  try {
    loaded = await within(ms, adapter.command('show map'));
  } catch (err) {
    return [
      ...checks,
      fail(`${check} maps`, h.socket, reason(err, ms), 'retry; HAProxy answered show info a moment ago'),
    ];
  }
  if (!loaded.startsWith('# id')) {
    return [
      ...checks,
      fail(
        `${check} maps`,
        h.socket,
        `show map refused: ${loaded.split('\n')[0]?.slice(0, 120)}`,
        'the stats socket needs `level admin`',
      ),
    ];
  }
  // A map is named by its file or as #<id>; `show map` lists each as "<id> (<file>) …".
  const isLoaded = (m: string) =>
    m.startsWith('#') ? new RegExp(`^${m.slice(1)} `, 'm').test(loaded) : loaded.includes(`(${m})`);
  const missing = Object.entries(h.maps).filter(([, m]) => !isLoaded(m));
  const names = Object.keys(h.maps).length;
  checks.push(
    missing.length === 0
      ? ok(`${check} maps`, h.socket, `all ${names} map(s) loaded`)
      : fail(
          `${check} maps`,
          missing.map(([, m]) => m).join(', '),
          `not loaded by HAProxy (${missing.map(([k]) => k).join(', ')})`,
          'create each map file (empty is fine) and use it in haproxy.cfg, ' +
            'as config/haproxy/haproxy.cfg does; then reload HAProxy',
        ),
  );
  return checks;
}

async function redisCheck(r: RevokerConfig['adapters']['redis'][number], ms: number): Promise<Check> {
  const check = r.name === 'redis' ? 'redis' : `redis ${r.name}`;
  let u: URL;
  try {
    u = new URL(r.url);
  } catch {
    return fail(check, '(unparsable URL)', 'not a redis:// URL', 'url: redis://host:port (rediss:// for TLS)');
  }
  const at = `${u.protocol}//${u.host}`;
  try {
    await tcpConnect(u.hostname.replace(/^\[|\]$/g, ''), Number(u.port || 6379), ms);
  } catch (err) {
    return fail(check, at, reason(err, ms), 'start Redis or correct the url (redis://host:port)');
  }
  const adapter = new RedisAdapter({ name: r.name, url: r.url, prefix: r.prefix, channel: r.channel });
  try {
    // The adapter's restart check is one INFO server: a harmless read, and the connection the revoker would make.
    await within(ms, adapter.lostState());
    return ok(check, at, 'answered INFO');
  } catch (err) {
    return fail(
      check,
      at,
      `TCP connects but ${reason(err, ms)}`,
      'check the URL’s user and password, and rediss:// if the server wants TLS',
    );
  } finally {
    await within(ms, adapter.close()).catch(() => undefined);
  }
}

async function targetChecks(config: RevokerConfig, ms: number): Promise<Check[]> {
  const a = config.adapters;
  const reach = 'check the URL and that this host can reach it (proxy, firewall)';
  const checks = await Promise.all([
    ...a.haproxy.map((h) => haproxyChecks(h, ms)),
    ...a.redis.map(async (r) => [await redisCheck(r, ms)]),
    ...a.http.map(async (h) => [
      await httpCheck(`http ${h.name}`, h.apply.url, ms, `adapters.http ${h.name}: ${reach}`),
    ]),
    ...a.kong.map(async (k, i) => [
      await httpCheck(`kong${i || ''} admin API`, k.admin_url, ms, `admin_url: ${reach}`),
    ]),
    ...a.idp.map(async (k, i) => [await httpCheck(`idp${i || ''}`, k.base_url, ms, `base_url: ${reach}`)]),
  ]);
  return checks.flat();
}

async function receiverChecks(config: AlerterConfig, ms: number): Promise<Check[]> {
  const reach = 'check the URL and that this host can reach it (proxy, firewall)';
  return Promise.all([
    ...config.receivers.map((r) => httpCheck(`receiver ${r.name}`, r.url, ms, `receivers ${r.name}.url: ${reach}`)),
    ...config.caep.map((c) => httpCheck(`caep ${c.name}`, c.url, ms, `caep ${c.name}.url: ${reach}`)),
  ]);
}

// --- the command ------------------------------------------------------------------------------------------------

export interface DoctorReport {
  config: string;
  service: string;
  ok: boolean;
  counts: Record<Status, number>;
  checks: Check[];
}

/** Every check of one config file; never throws for a dependency's failure. */
export async function diagnose(file: string, service: string, ms: number): Promise<Check[]> {
  const s = SERVICES[service] as (typeof SERVICES)[string];
  let config: Record<string, unknown>;
  try {
    config = loadConfig(pepperApart(s.schema), file, process.env, s.lint) as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => {
      const { detail, hint } = split(p);
      return fail('config', file, detail, hint);
    });
  }
  const pepper = config.pepper as { secret?: string } | undefined;
  const [local, kafka, clickhouse, targets, receivers] = await Promise.all([
    files(service, config),
    kafkaChecks(service, config, file, ms),
    clickhouseChecks(config, ms),
    service === 'revoker' ? targetChecks(config as RevokerConfig, ms) : [],
    service === 'alerter' ? receiverChecks(config as AlerterConfig, ms) : [],
  ]);
  return [
    ok('config', file, `a valid ${service} config`),
    ...pepperCheck(pepper, file, service === 'detector'),
    ...secrets(service, config),
    ...local,
    ...kafka,
    ...clickhouse,
    ...targets,
    ...receivers,
  ];
}

const LABEL: Record<Status, string> = { ok: 'ok', warn: 'warn', fail: 'FAIL' };

export function render(report: DoctorReport): string {
  const width = Math.min(28, Math.max(...report.checks.map((c) => c.check.length)));
  const lines = report.checks.map((c) => {
    const line = `${LABEL[c.status].padEnd(4)}  ${c.check.padEnd(width)}  ${c.target} — ${c.detail}`;
    return c.hint && c.status !== 'ok' ? `${line}\n${' '.repeat(6 + width)}  fix: ${c.hint}` : line;
  });
  const { ok: good, warn: warned, fail: failed } = report.counts;
  return (
    `vigil doctor: ${report.config} (${report.service})\n${lines.join('\n')}\n${good} ok, ` +
    `${warned} warning(s), ${failed} failed\n`
  );
}

export async function doctor(args: {
  config?: string;
  service?: string;
  timeoutMs?: string;
  json?: boolean;
}): Promise<number> {
  const usage = 'usage: vigil doctor --config FILE [--service detector|revoker|alerter] [--timeout-ms N] [--json]\n';
  if (args.config === undefined) {
    process.stderr.write(usage);
    return 2;
  }
  const service = args.service ?? inferService(args.config);
  if (!SERVICES[service]) {
    process.stderr.write(`vigil doctor: unknown service '${service}' — one of ${Object.keys(SERVICES).join(', ')}\n`);
    return 2;
  }
  const ms = args.timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : Number(args.timeoutMs);
  if (!Number.isInteger(ms) || ms <= 0) {
    process.stderr.write(`vigil doctor: --timeout-ms is a positive whole number of milliseconds\n${usage}`);
    return 2;
  }
  const checks = await diagnose(args.config, service, ms);
  const counts: Record<Status, number> = { ok: 0, warn: 0, fail: 0 };
  for (const c of checks) counts[c.status]++;
  const report: DoctorReport = { config: args.config, service, ok: counts.fail === 0, counts, checks };
  process.stdout.write(args.json ? `${JSON.stringify(report)}\n` : render(report));
  return report.ok ? 0 : 1;
}

export const command = defineCommand({
  name: 'doctor',
  overview: [
    [
      'doctor --config FILE [--service S] [--timeout-ms N] [--json]',
      'Before starting a service: probe the Kafka brokers and topics, ClickHouse, ' +
        'enforcement\ntargets, receivers, files and secrets its config names; ok / warn / FAIL per check',
    ],
  ],
  help: `Usage: vigil doctor --config FILE [--service detector|revoker|alerter] [--timeout-ms N] [--json]

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
  options: {
    config: { type: 'string' },
    service: { type: 'string' },
    'timeout-ms': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(flags) {
    const code = await doctor(flags);
    // A probe cut off by its timeout can leave a client retrying in the background (kafkajs, node-redis); the report
    // is written, so the doctor does not wait for them.
    setTimeout(() => process.exit(code), 200).unref();
    return code;
  },
});
