// The built CLI as a user runs it: help, the embedded demo end to end, config checking with its exit codes.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FeatureExtractor, MmdbGeoLookup } from '@vigil/features';
import { describe, expect, it } from 'vitest';

/** The current schema's feature names: what the demo reports and a trained bundle records. */
const FEATURES = FeatureExtractor.standard(MmdbGeoLookup.bundled()).names;

// The CLI exactly as the README runs it: `npx vigil` from the repository root (the linked bin, then the built code).
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../../config/detector.example.yaml', import.meta.url));
const REVOKER_EXAMPLE = fileURLToPath(new URL('../../../config/revoker.example.yaml', import.meta.url));
// Asynchronous on purpose: a test worker blocked in spawnSync for the length of a demo cannot answer vitest's own
// calls, and on a loaded machine vitest then fails the run ("Timeout calling onTaskUpdate").
const vigil = (args: string[], env: Record<string, string> = {}) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn('npx', ['vigil', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });

describe('vigil CLI', () => {
  it('answers --help for every command', async () => {
    for (const cmd of [
      'demo',
      'detect',
      'revoke',
      'alert',
      'label',
      'replay',
      'explain',
      'parse',
      'features',
      'train',
      'simulate',
      'config',
    ]) {
      const r = await vigil([cmd, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage: vigil /);
    }
    expect((await vigil(['--help'])).stdout).toMatch(/Commands:/);
    expect((await vigil(['nonsense'])).status).toBe(2);
    expect((await vigil(['--version'])).stdout).toMatch(/^vigil \d+\.\d+\.\d+ \(node /);
  }, 90_000);

  it('runs the demo with no external service and reports every stage', async () => {
    // 100,000 events (about 70 minutes of simulated traffic) leave room for one attack of each family.
    const run = await vigil(['demo', '--events', '100000', '--attacks', '1']);
    expect(run.status, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/records in\s+100000/);
    expect(out).toMatch(/dead letters\s+200 of 200 malformed/);
    expect(out).toMatch(/raw tokens in output none/);
    // The shipped default bundle reads the current feature schema (else the demo says so and exits 1).
    expect(out).toMatch(
      new RegExp(
        `detection\\s+[\\d,]+ events/s \\(${FEATURES.length} features in event time, ` +
          `bundle vigil-\\S+ with its autoencoder on (tensorflow|wasm|cpu),`,
      ),
    );
    expect(out).toMatch(/token_theft\s+1 \/ 1/);
    expect(out).toMatch(/false alerts and [\d.]+ false revocations per 1,000 principals per day/);
  }, 180_000);

  it('prints the topology a config runs: the fused decisions in the principal task, binary codecs inside', async () => {
    const own = { VIGIL_PEPPER__SECRET: 'an-operators-own-pepper-0123456789abcdef' };
    const plain = await vigil(['config', 'topology', EXAMPLE], own);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(/features {2}\(group vigil-detector\.features, at least once\)/);
    expect(plain.stdout).not.toMatch(/decisions/);
    const bundle = fileURLToPath(new URL('../../../models/bundles/default', import.meta.url));
    const fused = await vigil(['config', 'topology', EXAMPLE], { ...own, VIGIL_SCORING__BUNDLE: bundle });
    expect(fused.stdout).toContain('runs      principal features → join entity parts → score → policy');
    expect(fused.stdout).toMatch(
      /vigil\.access\.by-principal {2}\[internal\] packed\n {4}key principal; access event \(binary v1\)/,
    );
    const stage = await vigil(['config', 'topology', EXAMPLE], {
      ...own,
      VIGIL_SCORING__BUNDLE: bundle,
      VIGIL_SCORING__FUSED: 'false',
    });
    expect(stage.stdout).toMatch(
      / {2}decisions {2}\(group vigil-detector\.decisions, at least once\)\n {4}reads {5}vigil\.features/,
    );
    expect((await vigil(['config', 'topology'])).status).toBe(2);
  });

  it('checks a config: valid example exits 0, a bad override exits 2 with the fix', async () => {
    // The example's pepper is a published placeholder: refused until the operator sets their own.
    const placeholder = await vigil(['config', 'check', EXAMPLE]);
    expect(placeholder.status).toBe(2);
    expect(placeholder.stderr).toMatch(/published placeholder — set VIGIL_PEPPER__SECRET/);
    const own = { VIGIL_PEPPER__SECRET: 'an-operators-own-pepper-0123456789abcdef' };
    expect((await vigil(['config', 'check', EXAMPLE], own)).status).toBe(0);
    const bad = await vigil(['config', 'check', EXAMPLE], { ...own, VIGIL_KAFKA__BROKERS: 'no-port' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/kafka\.brokers\.0: a broker is host:port/);
    expect((await vigil(['config', 'check', '--service', 'revoker', REVOKER_EXAMPLE])).status).toBe(0);
    const bare = join(mkdtempSync(join(tmpdir(), 'vigil-revoker-')), 'revoker.yaml');
    writeFileSync(bare, 'kafka:\n  brokers: [localhost:9092]\n');
    expect((await vigil(['config', 'check', '--service', 'revoker', bare])).status).toBe(0);
    const unsafe = await vigil(['config', 'check', '--service', 'revoker', bare], { VIGIL_ENFORCE: 'true' });
    expect(unsafe.status).toBe(2);
    expect(unsafe.stderr).toMatch(/enforce is true but no adapter is configured/);
    expect((await vigil(['config', 'check', '--service', 'nope', EXAMPLE])).status).toBe(2);
    const alerter = fileURLToPath(new URL('../../../config/alerter.example.yaml', import.meta.url));
    expect((await vigil(['config', 'check', '--service', 'alerter', alerter])).status).toBe(0);
    // The configs docker-compose.yml mounts.
    for (const service of ['revoker', 'alerter']) {
      const file = fileURLToPath(new URL(`../../../config/compose/${service}.yaml`, import.meta.url));
      expect((await vigil(['config', 'check', '--service', service, file])).status).toBe(0);
    }
    // The detector's takes its pepper from the environment, as docker-compose.yml sets it.
    const composeDetector = fileURLToPath(new URL('../../../config/compose/detector.yaml', import.meta.url));
    // It names the bundle by its path inside the container: checked here with the repository's copy.
    const bundle = fileURLToPath(new URL('../../../models/bundles/default', import.meta.url));
    expect((await vigil(['config', 'check', composeDetector], { ...own, VIGIL_SCORING__BUNDLE: bundle })).status).toBe(
      0,
    );
    expect((await vigil(['config', 'check', composeDetector], own)).stderr).toMatch(
      /scoring\.bundle: \/app\/models\/bundles\/default is not a directory/,
    );
    expect((await vigil(['config', 'check', composeDetector], { VIGIL_SCORING__BUNDLE: bundle })).status).toBe(2);
    // Without --service, the file's keys say which service it is for.
    expect((await vigil(['config', 'check', REVOKER_EXAMPLE])).stdout).toMatch(/valid revoker config/);
    expect((await vigil(['config', 'check', alerter])).stdout).toMatch(/valid alerter config/);
    const badAlerter = join(mkdtempSync(join(tmpdir(), 'vigil-alerter-')), 'alerter.yaml');
    writeFileSync(
      badAlerter,
      'kafka:\n  brokers: [localhost:9092]\nreceivers:\n' +
        '  - { name: soc, url: "http://soc:8080/hook", secret_env: VIGIL_X }\n',
    );
    const unsigned = await vigil(['config', 'check', '--service', 'alerter', badAlerter]);
    expect(unsigned.status).toBe(2);
    expect(unsigned.stderr).toMatch(/config overrides/);
  }, 90_000);

  it('keeps every good record of a log with poison between them, and no credential reaches any output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-poison-'));
    const log = join(dir, 'good.jsonl');
    expect(
      (await vigil(['simulate', '--format', 'kong', '--out', log, '--events', '300', '--credentials', 'claims']))
        .status,
    ).toBe(0);
    const secret = 'Sup3rSecret-ApiKey-77f0';
    const poison = [
      `{"started_at":1,"x":${'{"\\u0061":'.repeat(5000)}1${'}'.repeat(5000)}}`,
      JSON.stringify({
        request: {
          headers: { 'x-api-key': [secret, secret], cookie: [`sid=${secret}`] },
          uri: `/v1/x?api-key=${secret}`,
        },
      }),
      `{"request":{"body":{"\\u0070assword":"${secret}"}}}`,
      JSON.stringify({
        request: { body: `{"password":"${secret}"}`, querystring: { passphrase: secret, private_key: secret } },
      }),
    ];
    const good = readFileSync(log, 'utf8').trim().split('\n');
    const mixed: string[] = [];
    good.forEach((line, i) => {
      mixed.push(line);
      if (i % 60 === 0) mixed.push(...poison);
    });
    writeFileSync(join(dir, 'mixed.jsonl'), `${mixed.join('\n')}\n`);
    const env = { VIGIL_PEPPER__SECRET: 'poison-cli-pepper-0123456789abcdef' };
    const r = await vigil(
      [
        'parse',
        '--format',
        'kong',
        '--input',
        join(dir, 'mixed.jsonl'),
        '--out',
        join(dir, 'E.jsonl'),
        '--dead-letters',
        join(dir, 'D.jsonl'),
      ],
      env,
    );
    expect(r.status, r.stderr).toBe(0);
    const events = readFileSync(join(dir, 'E.jsonl'), 'utf8').trim().split('\n');
    const dead = readFileSync(join(dir, 'D.jsonl'), 'utf8').trim().split('\n');
    expect(events).toHaveLength(300);
    expect(dead).toHaveLength(poison.length * 5);
    expect(dead.filter((d) => JSON.parse(d).reason === 'too_deep')).toHaveLength(5);
    for (const text of [events.join(''), dead.join(''), r.stderr, r.stdout]) expect(text).not.toContain(secret);
  }, 90_000);

  it('never loses a user’s file: checks inputs and flags first, ' +
    'writes atomically, and says what is wrong', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-files-'));
    const precious = join(dir, 'precious.jsonl');
    writeFileSync(precious, 'the user’s work\n');
    const env = { VIGIL_PEPPER__SECRET: 'files-cli-pepper-0123456789abcdef0123' };
    const refused = [
      [['simulate', '--format', 'kong', '--out', precious, '--events', 'abc'], /--events is a whole number/],
      [
        ['simulate', '--format', 'kong', '--out', precious, '--customers', '0'],
        /--customers a whole number of at least 1/,
      ],
      [
        ['parse', '--format', 'kong', '--input', join(dir, 'missing.jsonl'), '--out', precious],
        /missing\.jsonl: no such file/,
      ],
      [['features', '--format', 'kong', '--input', join(dir, 'missing.jsonl'), '--out', precious], /no such file/],
      [['replay', '--format', 'kong', '--input', join(dir, 'missing.jsonl'), '--out', precious], /no such file/],
      [
        ['parse', '--format', 'kong', '--input', precious, '--out', join(dir, 'nowhere', 'x.jsonl')],
        /the directory .*nowhere does not exist/,
      ],
      [['train', '--format', 'kong', '--input', precious, '--out', join(precious, 'bundle')], /is not a directory/],
    ] as const;
    for (const [args, message] of refused) {
      const r = await vigil([...args], env);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(readFileSync(precious, 'utf8')).toBe('the user’s work\n');
    }
    // A log in the wrong format is not "clean traffic": every record dead-lettered is an error with a hint.
    const kong = join(dir, 'kong.jsonl');
    expect((await vigil(['simulate', '--format', 'kong', '--out', kong, '--events', '50'])).status).toBe(0);
    const wrong = await vigil(['parse', '--format', 'envoy', '--input', kong, '--out', join(dir, 'e.jsonl')], env);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/every one of 50 records was dead-lettered .* is --format envoy right/);
    writeFileSync(join(dir, 'empty.jsonl'), '');
    const empty = await vigil(
      ['features', '--format', 'kong', '--input', join(dir, 'empty.jsonl'), '--out', join(dir, 'f.jsonl')],
      env,
    );
    expect(empty.status).toBe(1);
    expect(empty.stderr).toMatch(/holds no records/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 90_000);

  it('computes the same feature vectors whatever the order of log lines within the reorder bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-features-'));
    const log = join(dir, 'kong.jsonl');
    expect(
      (
        await vigil([
          'simulate',
          '--format',
          'kong',
          '--out',
          log,
          '--events',
          '4000',
          '--customers',
          '50',
          '--profile',
          'steady',
        ])
      ).status,
    ).toBe(0);
    // Reverse every block of 10 lines: each line moves by at most 9 requests (~0.5 s of event time).
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    const shuffled: string[] = [];
    for (let i = 0; i < lines.length; i += 10) shuffled.push(...lines.slice(i, i + 10).reverse());
    expect(shuffled).not.toEqual(lines);
    writeFileSync(join(dir, 'shuffled.jsonl'), `${shuffled.join('\n')}\n`);
    const env = { VIGIL_PEPPER__SECRET: 'features-test-pepper-0123456789abcdef' };
    for (const [input, out] of [
      [log, 'a.jsonl'],
      [join(dir, 'shuffled.jsonl'), 'b.jsonl'],
    ] as const) {
      const r = await vigil(['features', '--format', 'kong', '--input', input, '--out', join(dir, out)], env);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/4000 events \(0 later than 2000 ms\)/);
    }
    const a = readFileSync(join(dir, 'a.jsonl'), 'utf8');
    expect(a.split('\n').filter(Boolean)).toHaveLength(4000);
    expect(readFileSync(join(dir, 'b.jsonl'), 'utf8')).toBe(a);
    expect(JSON.parse(readFileSync(join(dir, 'a.jsonl.schema.json'), 'utf8')).hash).toMatch(/^sha256:[0-9a-f]{64}$/);
  }, 90_000);

  it('replays a log with the shipped default bundle when no --bundle is given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-replay-'));
    const log = join(dir, 'kong.jsonl');
    expect(
      (await vigil(['simulate', '--format', 'kong', '--out', log, '--events', '3000', '--customers', '100'])).status,
    ).toBe(0);
    const env = { VIGIL_PEPPER__SECRET: 'replay-test-pepper-0123456789abcdef' };
    const r = await vigil(
      ['replay', '--format', 'kong', '--input', log, '--out', join(dir, 'decisions.jsonl'), '--all'],
      env,
    );
    expect(r.status, r.stderr).toBe(0);
    const manifest = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../../models/bundles/default/manifest.json', import.meta.url)), 'utf8'),
    );
    expect(r.stderr).toMatch(new RegExp(`bundle ${manifest.bundle_id}, autoencoder on (tensorflow|wasm|cpu)`));
    const decisions = readFileSync(join(dir, 'decisions.jsonl'), 'utf8').trim().split('\n');
    expect(decisions).toHaveLength(3000);
    expect(JSON.parse(decisions[0] as string).bundle).toBe(manifest.bundle_id);
  }, 90_000);

  it('trains a bundle from a log with the detector’s feature code, ' +
    'and the bundle loads against that schema', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-train-'));
    const log = join(dir, 'kong.jsonl');
    expect(
      (
        await vigil([
          'simulate',
          '--format',
          'kong',
          '--out',
          log,
          '--events',
          '12000',
          '--customers',
          '300',
          '--credentials',
          'claims',
        ])
      ).status,
    ).toBe(0);
    const env = { VIGIL_PEPPER__SECRET: 'train-test-pepper-0123456789abcdef' };
    const out = join(dir, 'bundle');
    const r = await vigil(['train', '--format', 'kong', '--input', log, '--out', out, '--max-rows', '10000'], env);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/features: done — 12,000 events/);
    expect(r.stdout).toMatch(/12,000 events read, 10,000 sampled/);
    expect(r.stdout).toMatch(/alert\s+> 0\.\d+ {3}target 0\.250 % per principal-day/);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.features.names).toEqual(FEATURES);
    expect(manifest.training.holdout_rows).toBeGreaterThan(1000);
    const { ModelBundle } = await import('@vigil/bundle');
    const bundle = await ModelBundle.load(out, manifest.features.hash);
    expect(bundle.id).toBe(manifest.bundle_id);
    await expect(ModelBundle.load(out, 'sha256:another')).rejects.toThrow(/retrain it with `vigil train`/);
    // Same log, same seed: the same models.
    const again = join(dir, 'again');
    expect(
      (await vigil(['train', '--format', 'kong', '--input', log, '--out', again, '--max-rows', '10000'], env)).status,
    ).toBe(0);
    expect(readFileSync(join(again, 'iforest.json'), 'utf8')).toBe(readFileSync(join(out, 'iforest.json'), 'utf8'));
    expect(readFileSync(join(again, 'autoencoder', 'weights.bin'))).toEqual(
      readFileSync(join(out, 'autoencoder', 'weights.bin')),
    );
    expect((await vigil(['train', '--format', 'kong', '--input', log, '--out', again], {})).stderr).toMatch(
      /set VIGIL_PEPPER__SECRET/,
    );

    // Analysts' labels (an export of the labels table): matched to the log's requests, reported with precision.
    const ids = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .slice(5000, 5004)
      .map((l) => (JSON.parse(l) as { request: { id: string } }).request.id);
    const labels = join(dir, 'labels.jsonl');
    writeFileSync(
      labels,
      [
        { request_id: ids[0], verdict: 'true_positive', ingested_at: 1 },
        { request_id: ids[1], verdict: 'true_positive', ingested_at: 1 },
        { request_id: ids[1], verdict: 'false_positive', ingested_at: 2 }, // the analyst changed their mind
        { request_id: ids[2], verdict: 'false_positive' },
        { request_id: 'not-in-this-log', verdict: 'false_positive' },
        { alert_id: 'alert-only', verdict: 'true_positive' },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n'),
    );
    const labelled = await vigil(
      [
        'train',
        '--format',
        'kong',
        '--input',
        log,
        '--out',
        join(dir, 'labelled'),
        '--max-rows',
        '10000',
        '--labels',
        labels,
      ],
      env,
    );
    expect(labelled.status, labelled.stderr).toBe(0);
    expect(labelled.stdout).toMatch(
      /labels: 4 labelled requests, 3 in this log \(1 true, 2 false positives\); 1 not in it; 1 name only an alert/,
    );
    expect(labelled.stdout).toMatch(
      /precision on the labelled requests[^\n]*\n(.*\n)*\s+models\s+(acts on none|[\d.]+ %)/,
    );
    writeFileSync(labels, '{"request_id": "r-1", "verdict": "maybe"}\n');
    const bad = await vigil(
      ['train', '--format', 'kong', '--input', log, '--out', join(dir, 'bad'), '--labels', labels],
      env,
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/labels\.jsonl line 1 is not a label \(verdict: .*\); expected \{"request_id"/);
  }, 180_000);

  it('doctor: closed ports and a missing bundle fail by address, fast, without a stack trace or a secret', async () => {
    // Ports nobody listens on: bound once by this process, then released.
    const closed = async () => {
      const server = await onLoopback(createNetServer());
      await server.close();
      return server.port;
    };
    const [kafka, clickhouse, haproxy, redis, kong] = [
      await closed(),
      await closed(),
      await closed(),
      await closed(),
      await closed(),
    ];
    const detector = configFile('detector', {
      format: 'kong',
      kafka: { brokers: [`127.0.0.1:${kafka}`] },
      clickhouse: { url: `http://127.0.0.1:${clickhouse}` },
      scoring: { bundle: join(tmpdir(), `vigil-${process.pid}-no-bundle`) },
    });
    const revoker = configFile('revoker', {
      kafka: { brokers: [`127.0.0.1:${kafka}`] },
      adapters: {
        haproxy: [{ socket: `127.0.0.1:${haproxy}`, maps: { revoke_sub: '/etc/haproxy/vigil/revoke_sub.map' } }],
        redis: [{ url: `redis://:redis-password-1@127.0.0.1:${redis}` }],
        kong: [{ admin_url: `http://127.0.0.1:${kong}/`, admin_token_env: 'KONG_ADMIN_TOKEN' }],
      },
    });
    const secrets = {
      VIGIL_PEPPER__SECRET: 'doctor-unit-test-pepper-0123456789abcdef',
      VIGIL_CLICKHOUSE__PASSWORD: 'clickhouse-password-1',
      KONG_ADMIN_TOKEN: 'kong-admin-token-1',
    };
    // an override would give the revoker a clickhouse section
    const { VIGIL_CLICKHOUSE__PASSWORD: _, ...revokerSecrets } = secrets;
    // A probe timeout far above the run's bound: a refused connection must fail at once, not wait for it (nor for
    // kafkajs's or node-redis's retries).
    const slow = ['--timeout-ms', '60000'];
    const started = Date.now();
    const [d, r] = await Promise.all([
      vigil(['doctor', '--config', detector, ...slow], secrets),
      vigil(['doctor', '--config', revoker, ...slow], revokerSecrets),
    ]);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(d.status, d.stderr).toBe(1);
    expect(d.stdout).toMatch(new RegExp(`^FAIL +kafka broker +127\\.0\\.0\\.1:${kafka} — connection refused$`, 'm'));
    expect(d.stdout).toMatch(
      new RegExp(`^FAIL +clickhouse +http://127\\.0\\.0\\.1:${clickhouse} — connection refused\\n +fix: `, 'm'),
    );
    expect(d.stdout).toMatch(/^FAIL +model bundle +\S+no-bundle — does not exist\n +fix: point scoring\.bundle at/m);
    expect(d.stdout).toMatch(/^ok +pepper +VIGIL_PEPPER__SECRET — 40 characters/m);
    expect(d.stdout).toMatch(/^warn +kafka topics .* not checked: no broker answered/m);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^FAIL +haproxy +127\\.0\\.0\\.1:${haproxy} — connection refused$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^FAIL +redis +redis://127\\.0\\.0\\.1:${redis} — connection refused$`, 'm'));
    expect(r.stdout).toMatch(
      new RegExp(`^FAIL +kong admin API +http://127\\.0\\.0\\.1:${kong} — connection refused$`, 'm'),
    );
    expect(r.stdout).toMatch(/^ok +kong admin token +\$KONG_ADMIN_TOKEN — set$/m);
    for (const run of [d, r]) {
      expect(run.stderr).toBe('');
      expect(run.stdout).not.toMatch(/\n\s+at |Error:/);
      for (const secret of [...Object.values(secrets), 'redis-password-1']) expect(run.stdout).not.toContain(secret);
    }

    // A refused pepper is one failure among the others, not the end of the check; --json is one object.
    const placeholder = await vigil(['doctor', '--config', detector, '--json', '--timeout-ms', '1000'], {
      VIGIL_PEPPER__SECRET: 'change-me-change-me-change-me-change-me',
    });
    expect(placeholder.status).toBe(1);
    const report = JSON.parse(placeholder.stdout) as {
      ok: boolean;
      service: string;
      checks: { status: string; check: string; target: string; detail: string }[];
    };
    expect(report).toMatchObject({ ok: false, service: 'detector' });
    expect(report.checks.find((c) => c.check === 'pepper')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/published placeholder/),
    });
    expect(report.checks.find((c) => c.check === 'kafka broker')).toMatchObject({
      status: 'fail',
      target: `127.0.0.1:${kafka}`,
    });
    expect(report.checks.find((c) => c.check === 'config')).toMatchObject({ status: 'ok' });

    expect((await vigil(['doctor'])).status).toBe(2);
    expect((await vigil(['doctor', '--config', detector, '--timeout-ms', 'soon'])).status).toBe(2);
    const help = await vigil(['doctor', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: vigil doctor --config FILE/);
  }, 90_000);

  it('doctor: gives up on a dependency that accepts connections and never answers, after --timeout-ms', async () => {
    const sockets = new Set<Socket>();
    const silent = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    const { port, close } = await onLoopback(silent);
    try {
      const revoker = configFile('revoker', {
        kafka: { brokers: [`127.0.0.1:${port}`] },
        clickhouse: { url: `http://127.0.0.1:${port}` },
        adapters: {
          haproxy: [{ socket: `127.0.0.1:${port}`, maps: { revoke_sub: '/etc/haproxy/vigil/revoke_sub.map' } }],
          redis: [{ url: `redis://127.0.0.1:${port}` }],
        },
      });
      const started = Date.now();
      const r = await vigil(['doctor', '--config', revoker, '--timeout-ms', '1000']);
      // Unbounded, node-redis would wait for ever, ClickHouse's client 30 s, kafkajs through its retries.
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(r.status).toBe(1);
      const address = `127\\.0\\.0\\.1:${port}`;
      for (const line of [
        `^FAIL +kafka broker +${address} — TCP connects but no answer within 1000 ms$`,
        `^FAIL +clickhouse +http://${address} — no answer within 1000 ms$`,
        `^FAIL +haproxy +${address} — no answer within 1000 ms$`,
        `^FAIL +redis +redis://${address} — TCP connects but no answer within 1000 ms$`,
      ])
        expect(r.stdout).toMatch(new RegExp(line, 'm'));
    } finally {
      for (const s of sockets) s.destroy();
      await close();
    }
  }, 60_000);

  it('doctor: reaches an alert receiver with a HEAD on its origin and sends it no alert', async () => {
    const seen: string[] = [];
    const receiver = createHttpServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(405).end();
    });
    const { port, close } = await onLoopback(receiver);
    try {
      const alerter = configFile('alerter', {
        kafka: { brokers: ['127.0.0.1:1'] },
        receivers: [
          { name: 'soc', url: `http://127.0.0.1:${port}/hooks/T0/secret-path`, secret_env: 'SOC_WEBHOOK_SECRET' },
          { name: 'pager', url: `http://127.0.0.1:${port}/pager`, secret_env: 'PAGER_SECRET' },
        ],
      });
      const r = await vigil(['doctor', '--config', alerter], {
        SOC_WEBHOOK_SECRET: 'whsec_c29jLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm',
      });
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(
        new RegExp(`^ok +receiver soc +http://127\\.0\\.0\\.1:${port} — reachable \\(HEAD / answered 405\\)$`, 'm'),
      );
      expect(r.stdout).toMatch(/^ok +receiver soc secret +\$SOC_WEBHOOK_SECRET — set$/m);
      expect(r.stdout).toMatch(/^FAIL +receiver pager secret +\$PAGER_SECRET — not set/m);
      expect(r.stdout).not.toMatch(/secret-path|whsec_/);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((s) => s === 'HEAD /')).toBe(true);
    } finally {
      await close();
    }
  }, 60_000);
});

/** Listens on a free loopback port (the doctor tests' stand-ins for dependencies). */
async function onLoopback(server: NetServer | HttpServer): Promise<{ port: number; close: () => Promise<void> }> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A config (JSON is YAML) in a fresh temporary directory. */
function configFile(name: string, config: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'vigil-doctor-')), `${name}.yaml`);
  writeFileSync(file, JSON.stringify(config));
  return file;
}
