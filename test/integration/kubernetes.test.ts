// deploy/kubernetes checked offline: every manifest, and the kustomization rendered, against the Kubernetes schemas
// (kubernetes-validate, strict), then what a schema cannot see — probes on the ops server's real endpoints,
// resources, pinned images, the security context, secrets only by reference and each one read by the service's config,
// the ConfigMaps' configs parsed by the services' own zod schemas, NetworkPolicies that open exactly what the config
// uses.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { alerterConfigSchema, lintAlerterConfig } from '@vigil/alerter';
import { detectorConfigSchema, lintDetectorConfig } from '@vigil/detector';
import { lintRevokerConfig, revokerConfigSchema } from '@vigil/revoker';
import { applyEnvOverrides, parseConfig, startOpsServer } from '@vigil/runtime';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
import { ROOT } from '../support/services.js';

/** Pinned in test/infra/install.sh, which installs it into a virtual environment of its own under this path. */
const VALIDATOR_VERSION = '1.37.0';
const VALIDATOR =
  process.env.KUBERNETES_VALIDATE ?? `/opt/vigil/kubernetes-validate-${VALIDATOR_VERSION}/bin/kubernetes-validate`;
/**
 * The oldest Kubernetes the manifests support (policy/v1 PDBs, Pod Security admission) and the newest the validator
 * knows.
 */
const KUBERNETES_VERSIONS = ['1.25.0', '1.37.0'];
const DIR = join(ROOT, 'deploy/kubernetes');
/** What the test's renderer does of kustomize's fields; a kustomization using another one must teach it first. */
const KUSTOMIZE_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'images']);
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'PriorityClass',
  'StorageClass',
  'CustomResourceDefinition',
]);

type Labels = Record<string, string>;
interface Meta {
  name: string;
  namespace?: string;
  labels?: Labels;
}
interface K8s {
  apiVersion: string;
  kind: string;
  metadata: Meta;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: unknown };
}
interface Probe {
  httpGet?: { path: string; port: number | string };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  automountServiceAccountToken?: boolean;
  enableServiceLinks?: boolean;
  hostNetwork?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; configMap?: { name: string } }[];
}
interface Deployment extends K8s {
  spec: {
    replicas?: number;
    selector: { matchLabels: Labels };
    template: { metadata: { labels: Labels }; spec: PodSpec };
  };
}
interface Service extends K8s {
  spec: { selector: Labels; ports: { name?: string; port: number; targetPort?: number | string }[] };
}
interface Pdb extends K8s {
  spec: { selector: { matchLabels: Labels }; maxUnavailable?: number | string; minAvailable?: number | string };
}
interface PolicyPort {
  protocol?: string;
  port?: number | string;
}
interface NetworkPolicy extends K8s {
  spec: {
    podSelector: { matchLabels?: Labels };
    policyTypes?: string[];
    ingress?: { from?: unknown[]; ports?: PolicyPort[] }[];
    egress?: { to?: unknown[]; ports?: PolicyPort[] }[];
  };
}
interface ConfigMap extends K8s {
  data: Record<string, string>;
}
interface Rendered {
  file: string;
  object: K8s;
}

const SERVICES = {
  detect: { schema: detectorConfigSchema, lint: lintDetectorConfig },
  revoke: { schema: revokerConfigSchema, lint: lintRevokerConfig },
  alert: { schema: alerterConfigSchema, lint: lintAlerterConfig },
} as const;
type Command = keyof typeof SERVICES;

interface Kustomization {
  namespace?: string;
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
}

function kustomization(): Kustomization & Record<string, unknown> {
  return parseYaml(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'));
}

function documents(file: string): K8s[] {
  const docs = parseAllDocuments(readFileSync(join(DIR, file), 'utf8'));
  const out: K8s[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as K8s | null;
    if (value !== null) out.push(value);
  }
  return out;
}

const podSpecOf = (o: K8s): PodSpec | undefined =>
  o.kind === 'Deployment' ? (o as Deployment).spec.template.spec : undefined;

/** Splits an image reference into its name and its tag or digest. */
function imageParts(image: string): { name: string; tag?: string; digest?: string } {
  const [ref, digest] = image.split('@') as [string, string | undefined];
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const tagged = colon > slash;
  return {
    name: tagged ? ref.slice(0, colon) : ref,
    ...(tagged ? { tag: ref.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

/** What `kubectl apply -k` would send for the fields this kustomization uses: its namespace, and its images. */
function render(): Rendered[] {
  const k = kustomization();
  const out: Rendered[] = [];
  for (const file of k.resources ?? []) {
    for (const object of documents(file)) {
      if (k.namespace && !CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = k.namespace;
      const pod = podSpecOf(object);
      for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) c.image = rewritten(c.image, k);
      out.push({ file, object });
    }
  }
  return out;
}

/** An image as the kustomization's `images` rules rewrite it (a new name, tag or digest), else as it is. */
function rewritten(image: string, k: ReturnType<typeof kustomization>): string {
  const { name, tag, digest } = imageParts(image);
  const rule = k.images?.find((i) => i.name === name);
  if (!rule) return image;
  const newDigest = rule.digest ?? (rule.newTag === undefined ? digest : undefined);
  const newTag = rule.newTag ?? tag;
  return `${rule.newName ?? name}${newDigest ? `@${newDigest}` : newTag ? `:${newTag}` : ''}`;
}

const selects = (selector: Labels | undefined, labels: Labels) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);

/** The service a Deployment runs, its config as mounted from its ConfigMap, and the environment its pods get. */
function serviceOf(d: Deployment, all: K8s[]) {
  const pod = d.spec.template.spec;
  const c = pod.containers[0] as Container;
  const args = c.args ?? [];
  const command = args[0] as Command;
  expect(Object.keys(SERVICES), `${d.metadata.name}: args must start with a vigil service command`).toContain(command);
  const file = args[args.indexOf('--config') + 1];
  expect(file, `${d.metadata.name}: args must name --config FILE`).toBeDefined();
  const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === posix.dirname(file as string));
  const volume = pod.volumes?.find((v) => v.name === mount?.name);
  const configMap = all.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume?.configMap?.name) as
    | ConfigMap
    | undefined;
  const text = configMap?.data[posix.basename(file as string)];
  expect(
    text,
    `${d.metadata.name}: ${file} must come from a ConfigMap mounted at ${posix.dirname(file as string)}`,
  ).toBeDefined();
  // Secrets become values of their variable's name: long enough for a pepper, no published placeholder, no comma.
  const secretValue = (name: string) => `k8s-test-${name.toLowerCase()}-0123456789abcdef0123456789abcdef`;
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) env[e.name] = secretValue(e.name);
  }
  const { schema, lint } = SERVICES[command];
  const raw = parseYaml(text as string) as Record<string, unknown>;
  return {
    command,
    container: c,
    raw,
    env,
    secretValue,
    parse: () => parseConfig(schema, applyEnvOverrides(raw, env), lint as (c: unknown) => string[]),
  };
}

function at(o: unknown, path: string[]): unknown {
  let node = o;
  for (const key of path)
    node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
  return node;
}

/** Every variable a config names as holding a secret: `*_env` fields and `{env:NAME}` in request templates. */
function namedEnv(o: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(o)) for (const v of o) namedEnv(v, out);
  else if (typeof o === 'object' && o !== null) {
    for (const [k, v] of Object.entries(o)) {
      if (k.endsWith('_env') && typeof v === 'string') out.add(v);
      else namedEnv(v, out);
    }
  } else if (typeof o === 'string')
    for (const m of o.matchAll(/\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)) out.add(m[1] as string);
  return out;
}

/** host:port endpoints a parsed config connects to, with the port each needs open (URL defaults for http/https). */
function egressPorts(command: Command, config: Record<string, unknown>): Map<number, string> {
  const ports = new Map<number, string>();
  const url = (what: string, u: unknown) => {
    if (typeof u !== 'string') return;
    const parsed = new URL(u.replace(/\{[^}]*\}/g, 'x'));
    const port = parsed.port
      ? Number(parsed.port)
      : ({ 'http:': 80, 'https:': 443, 'redis:': 6379, 'rediss:': 6379 } as Record<string, number>)[parsed.protocol];
    if (port !== undefined) ports.set(port, what);
  };
  for (const b of at(config, ['kafka', 'brokers']) as string[]) ports.set(Number(b.split(':').pop()), 'kafka.brokers');
  url('clickhouse.url', at(config, ['clickhouse', 'url']));
  url('telemetry.otlp_traces_url', at(config, ['telemetry', 'otlp_traces_url']));
  if (command === 'revoke') {
    const a = at(config, ['adapters']) as Record<string, Record<string, unknown>[]>;
    for (const h of a.haproxy ?? [])
      if (/^[^/].*:\d+$/.test(String(h.socket)))
        ports.set(Number(String(h.socket).split(':').pop()), 'adapters.haproxy');
    for (const r of a.redis ?? []) url('adapters.redis', r.url);
    for (const k of a.kong ?? []) url('adapters.kong', k.admin_url);
    for (const i of a.idp ?? []) url('adapters.idp', i.base_url);
    for (const h of a.http ?? []) {
      url('adapters.http', (h.apply as { url: string }).url);
      url('adapters.http', (h.remove as { url: string } | undefined)?.url);
    }
  }
  if (command === 'alert') {
    for (const r of at(config, ['receivers']) as { url: string }[]) url('receivers', r.url);
    for (const r of at(config, ['caep']) as { url: string }[]) url('caep', r.url);
  }
  return ports;
}

/** Ports the service itself listens on, by what they serve. */
function servedPorts(command: Command, config: Record<string, unknown>): Map<number, string> {
  const ports = new Map<number, string>([[at(config, ['telemetry', 'port']) as number, 'metrics']]);
  if (command === 'alert' && at(config, ['labels', 'token_env']) !== undefined)
    ports.set(at(config, ['labels', 'port']) as number, 'labels');
  if (command === 'revoke' && at(config, ['check', 'enabled']) === true)
    ports.set(at(config, ['check', 'port']) as number, 'check');
  return ports;
}

const portNumber = (c: Container, port: number | string | undefined) =>
  typeof port === 'number' ? port : (c.ports?.find((p) => p.name === port)?.containerPort ?? Number.NaN);

/** Kubernetes quantities in base units (cores, bytes), enough for requests ≤ limits. */
function quantity(q: string): number {
  const m = /^([0-9.]+)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) return Number.NaN;
  const unit = {
    m: 1e-3,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  } as Record<string, number>;
  return Number(m[1]) * (m[2] ? (unit[m[2]] as number) : 1);
}

const rendered = render();
const objects = rendered.map((r) => r.object);
const ofKind = <T extends K8s>(kind: string) => objects.filter((o) => o.kind === kind) as T[];
const deployments = ofKind<Deployment>('Deployment');

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  it('kustomization.yaml lists exactly the manifests in the folder, with fields the renderer knows', () => {
    const k = kustomization();
    expect(
      Object.keys(k).filter((f) => !KUSTOMIZE_FIELDS.has(f)),
      'kustomization fields this test does not render: teach render() first',
    ).toEqual([]);
    const files = readdirSync(DIR)
      .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
      .sort();
    expect([...(k.resources ?? [])].sort()).toEqual(files);
    expect(new Set(k.resources).size).toBe(k.resources?.length);
    expect(deployments.map((d) => d.spec.template.spec.containers[0]?.args?.[0]).sort()).toEqual([
      'alert',
      'detect',
      'revoke',
    ]);
  });

  it(
    'every manifest and the rendered kustomization validate against ' +
      `Kubernetes ${KUBERNETES_VERSIONS.join(' and ')} (strict)`,
    () => {
      if (!existsSync(VALIDATOR)) {
        throw new Error(
          `kubernetes-validate ${VALIDATOR_VERSION} is not installed at ${VALIDATOR}: ` +
            `run \`bash test/infra/install.sh\` (or set KUBERNETES_VALIDATE to its path)`,
        );
      }
      const version = spawnSync(VALIDATOR, ['--version'], { encoding: 'utf8' });
      expect(
        version.stdout.trim(),
        `kubernetes-validate ${VALIDATOR_VERSION} is pinned: run \`bash test/infra/install.sh\``,
      ).toBe(VALIDATOR_VERSION);
      const dir = mkdtempSync(join(tmpdir(), 'vigil-k8s-'));
      const out = join(dir, 'rendered.yaml');
      writeFileSync(out, objects.map((o) => stringify(o)).join('---\n'));
      const files = [...new Set(rendered.map((r) => join(DIR, r.file))), out];
      const run = spawnSync(VALIDATOR, ['--strict', ...KUBERNETES_VERSIONS.flatMap((v) => ['-k', v]), ...files], {
        encoding: 'utf8',
      });
      rmSync(dir, { recursive: true, force: true });
      const lines = `${run.stdout}${run.stderr}`.split('\n').filter((l) => l.trim() !== '');
      // An unknown kind or apiVersion is only a WARN with exit status 0: nothing but passes is accepted.
      expect(
        lines.filter((l) => !l.startsWith('INFO ')),
        'kubernetes-validate found problems',
      ).toEqual([]);
      expect(run.status).toBe(0);
      expect(lines.filter((l) => l.includes(' passed for resource ')).length).toBe(
        2 * objects.length * KUBERNETES_VERSIONS.length,
      );
    },
  );

  it(
    'the probes ask the ops server what it answers: ' + 'liveness 200 from the start, readiness 503 until started',
    async () => {
      const containers = deployments.flatMap((d) => d.spec.template.spec.containers);
      const live = new Set(containers.map((c) => c.livenessProbe?.httpGet?.path ?? '(no HTTP liveness probe)'));
      const ready = new Set(containers.map((c) => c.readinessProbe?.httpGet?.path ?? '(no HTTP readiness probe)'));
      const ops = await startOpsServer(0, '127.0.0.1');
      try {
        const status = async (path: string) => [path, (await fetch(`http://127.0.0.1:${ops.port}${path}`)).status];
        for (const path of live) expect(await status(path), 'liveness before ready').toEqual([path, 200]);
        for (const path of ready) expect(await status(path), 'readiness before ready').toEqual([path, 503]);
        ops.setReady(true);
        for (const path of ready) expect(await status(path), 'readiness once ready').toEqual([path, 200]);
      } finally {
        await ops.close();
      }
    },
  );

  for (const d of deployments) {
    describe(d.metadata.name, () => {
      const pod = d.spec.template.spec;
      const labels = d.spec.template.metadata.labels;
      // Read when a test runs, so that a broken config fails each test with its message rather than the collection.
      let parsed: { service: ReturnType<typeof serviceOf>; config: Record<string, unknown> } | undefined;
      const load = () => {
        if (!parsed) {
          const service = serviceOf(d, objects);
          parsed = { service, config: service.parse() as Record<string, unknown> };
        }
        return parsed;
      };

      it("its ConfigMap's config parses with the service's own schema and lint, with the pod's environment", () => {
        const { config } = load();
        expect(selects(d.spec.selector.matchLabels, labels), 'the selector matches the pod template').toBe(true);
        // A consumer group: replicas beyond the partitions of the topics vigil creates get no work.
        expect(d.spec.replicas ?? 1, 'replicas ≤ topics.partitions').toBeLessThanOrEqual(
          at(config, ['topics', 'partitions']) as number,
        );
      });

      it('every container has probes on the ops port, requests and limits, and a pinned image', () => {
        const metricsPort = at(load().config, ['telemetry', 'port']) as number;
        const { version } = JSON.parse(readFileSync(join(ROOT, 'services/cli/package.json'), 'utf8')) as {
          version: string;
        };
        for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
          for (const probe of [c.livenessProbe, c.readinessProbe]) {
            expect(probe?.httpGet, `${c.name}: liveness and readiness are HTTP probes`).toBeDefined();
            expect(portNumber(c, probe?.httpGet?.port), `${c.name}: probes on telemetry.port`).toBe(metricsPort);
          }
          expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
          expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
          for (const r of ['cpu', 'memory']) {
            const request = c.resources?.requests?.[r];
            const limit = c.resources?.limits?.[r];
            expect(request && limit, `${c.name}: resources.requests.${r} and resources.limits.${r}`).toBeTruthy();
            expect(quantity(request as string)).toBeLessThanOrEqual(quantity(limit as string));
          }
          const heap = /--max-old-space-size=(\d+)/.exec(c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '');
          if (heap)
            expect(Number(heap[1]) * 2 ** 20, `${c.name}: the heap fits the memory limit`).toBeLessThan(
              quantity(c.resources?.limits?.memory as string),
            );
          const image = imageParts(c.image);
          expect(image.digest ?? image.tag, `${c.name}: ${c.image} pins a tag or digest`).toBeDefined();
          expect(image.tag, `${c.name}: ${c.image}`).not.toBe('latest');
          // The image is vigil's own (the repository's Dockerfile): its tag is the version `vigil --version` prints.
          expect(image.digest ?? image.tag, `${c.name}: ${c.image} is vigil ${version}`).toBe(image.digest ?? version);
        }
      });

      it('runs as non-root with a read-only root filesystem, no capabilities and no privilege escalation', () => {
        expect(pod.securityContext?.runAsNonRoot).toBe(true);
        expect(
          pod.securityContext?.runAsUser,
          'a numeric non-root user: the kubelet cannot check the image’s user name',
        ).toBeGreaterThan(0);
        expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(pod.hostNetwork ?? false).toBe(false);
        // Service links would add VIGIL_<SERVICE>_SERVICE_HOST and friends, which vigil takes for config overrides.
        expect(pod.enableServiceLinks, 'enableServiceLinks: false').toBe(false);
        for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
          const s = c.securityContext;
          expect(s?.allowPrivilegeEscalation, c.name).toBe(false);
          expect(s?.privileged ?? false, c.name).toBe(false);
          expect(s?.readOnlyRootFilesystem, c.name).toBe(true);
          expect(s?.capabilities?.drop, c.name).toContain('ALL');
          expect(s?.capabilities?.add ?? [], c.name).toEqual([]);
        }
      });

      it(
        'takes secrets only by reference, each a variable the ' + "service's config reads, and sets every one it names",
        () => {
          const { service, config } = load();
          const c = service.container;
          const named = namedEnv(config);
          const fromSecrets = (c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef);
          for (const e of c.env ?? []) {
            if (/SECRET|PASSWORD|TOKEN|_KEY\b/.test(e.name))
              expect(e.value, `${e.name} must come from a secretKeyRef, not a value`).toBeUndefined();
          }
          for (const e of fromSecrets) {
            if (e.name.startsWith('VIGIL_')) {
              // VIGIL_A__B overrides the key a.b: the value must land there — and not be in the ConfigMap too.
              const path = e.name.slice('VIGIL_'.length).toLowerCase().split('__');
              expect(at(config, path), `${e.name} sets ${path.join('.')}, a key of the ${service.command} config`).toBe(
                service.secretValue(e.name),
              );
              expect(at(service.raw, path), `${path.join('.')} must not be in the ConfigMap`).toBeUndefined();
            } else {
              expect(
                [...named],
                `${e.name} is a variable the ${service.command} config names (*_env, {env:…})`,
              ).toContain(e.name);
            }
          }
          for (const name of named)
            expect(
              fromSecrets.map((e) => e.name),
              `the config names ${name}: set it from a Secret`,
            ).toContain(name);
        },
      );

      it(
        'has a PodDisruptionBudget, a metrics Service, ' +
          'and a NetworkPolicy that opens exactly what its config uses',
        () => {
          const { service, config } = load();
          const metricsPort = at(config, ['telemetry', 'port']) as number;
          const served = servedPorts(service.command, config);
          const pdbs = ofKind<Pdb>('PodDisruptionBudget').filter((p) => selects(p.spec.selector.matchLabels, labels));
          expect(pdbs.length).toBe(1);
          const pdb = (pdbs[0] as Pdb).spec;
          if (pdb.minAvailable !== undefined)
            expect(Number(pdb.minAvailable), 'a PDB that allows no eviction blocks node drains').toBeLessThan(
              d.spec.replicas ?? 1,
            );
          else expect(Number(pdb.maxUnavailable)).toBeGreaterThanOrEqual(1);

          const c = service.container;
          expect(portNumber(c, 'metrics'), 'a container port named metrics on telemetry.port').toBe(metricsPort);
          const services = ofKind<Service>('Service').filter(
            (s) => Object.keys(s.spec.selector).length > 0 && selects(s.spec.selector, labels),
          );
          const targets = services.flatMap((s) => s.spec.ports.map((p) => portNumber(c, p.targetPort ?? p.port)));
          expect(targets, 'a Service reaches the metrics port').toContain(metricsPort);

          const policies = ofKind<NetworkPolicy>('NetworkPolicy').filter((p) =>
            selects(p.spec.podSelector.matchLabels, labels),
          );
          expect(
            policies.some((p) => p.spec.policyTypes?.includes('Ingress') && p.spec.policyTypes.includes('Egress')),
          ).toBe(true);
          const rules = (kind: 'ingress' | 'egress') => policies.flatMap((p) => p.spec[kind] ?? []);
          for (const kind of ['ingress', 'egress'] as const) {
            for (const r of rules(kind))
              expect(r.ports?.length ?? 0, `every ${kind} rule names its ports (no allow-all)`).toBeGreaterThan(0);
          }
          const open = (kind: 'ingress' | 'egress', protocol = 'TCP') =>
            new Set(
              rules(kind).flatMap((r) =>
                (r.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === protocol).map((p) => portNumber(c, p.port)),
              ),
            );
          const needed = egressPorts(service.command, config);
          expect([...open('egress', 'UDP')], 'DNS').toEqual([53]);
          expect(
            [...open('egress')].sort(),
            `egress: ${JSON.stringify(Object.fromEntries(needed))} and DNS over TCP`,
          ).toEqual([...new Set([53, ...needed.keys()])].sort());
          expect([...open('ingress')].sort(), `ingress: ${JSON.stringify(Object.fromEntries(served))}`).toEqual(
            [...served.keys()].sort(),
          );
          for (const port of served.keys()) expect(c.ports?.map((p) => p.containerPort)).toContain(port);
        },
      );
    });
  }

  it('ships no Secret: the operator creates them, the manifests only refer to them', () => {
    expect(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).toEqual([]);
  });

  it(
    'the rendered objects live in the namespace the kustomization names, ' +
      'and the image rule agrees with the manifests',
    () => {
      const k = kustomization();
      for (const o of objects)
        if (!CLUSTER_SCOPED.has(o.kind)) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(k.namespace);
      expect(objects.some((o) => o.kind === 'Namespace' && o.metadata.name === k.namespace)).toBe(true);
      for (const file of k.resources ?? []) {
        for (const o of documents(file)) {
          for (const c of podSpecOf(o)?.containers ?? []) {
            const rule = k.images?.find((i) => i.name === imageParts(c.image).name);
            if (rule?.newTag !== undefined)
              expect(imageParts(c.image).tag, `${file}: ${c.image} and kustomization.yaml's images`).toBe(rule.newTag);
          }
        }
      }
    },
  );
});
