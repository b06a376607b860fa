// One lifecycle for every service (detector, revoker, alerter): start the ops server (health, readiness, metrics)
// and tracing, build the service's parts, report ready; stop once, in order — not ready any more, the service's own
// teardown, the ops server, tracing. Each service keeps only what is its own: its parts and how they are taken down.
import { pipelineCounters } from '@vigil/telemetry';
import { type OpsServer, startOpsServer } from './http.js';
import { logEvent, retryReporter } from './lifecycle.js';
import { installTracing } from './tracing.js';

/** What a service's start function gets. */
export interface ServiceLife {
  ops: OpsServer;
  counters: ReturnType<typeof pipelineCounters>;
  /** The retry hook for a stage's connectors (counted by stage and error code, logged). */
  onRetry: (stage: string) => (err: unknown) => void;
  /** The runs (a source consuming, a stage) the service lives by: push each as it starts. */
  runs: Runs;
}

/**
 * A service's runs. Each is handled the moment it is pushed — a run that fails while the service is still starting
 * must reach `done` (and a clean exit 1), not crash the process as an unhandled rejection — and marks the service
 * unhealthy when it fails. The service is done when all its runs are.
 */
export class Runs {
  private readonly running: Promise<unknown>[] = [];

  constructor(private readonly failed: () => void) {}

  push(run: Promise<unknown>): void {
    run.catch(this.failed);
    this.running.push(run);
  }

  /** Resolves when every run has ended; rejects with the first that fails. */
  all(): Promise<void> {
    return Promise.all(this.running).then(() => undefined);
  }
}

/** What a service's start function returns. */
export interface ServiceParts<X> {
  /** Fields of the "started" log line (the ops port is added). */
  fields: Record<string, string | number | boolean>;
  /** Takes the service's parts down, in order; ops and tracing follow. */
  teardown(): Promise<void>;
  /** What the running service exposes beside stop, done and its ops port (ports, the revoker, …). */
  exposes: X;
}

export type RunningService<X> = X & {
  stop(): Promise<void>;
  /** Resolves when every run has ended (stop, or a run that cannot go on: then it rejects). */
  done: Promise<void>;
  opsPort: number;
};

export interface ServiceTelemetry {
  port: number;
  otlp_traces_url?: string | undefined;
}

export async function startService<X>(
  name: string,
  telemetry: ServiceTelemetry,
  start: (life: ServiceLife) => Promise<ServiceParts<X>>,
): Promise<RunningService<X>> {
  const ops = await startOpsServer(telemetry.port);
  const tracing = installTracing(telemetry.otlp_traces_url);
  const counters = pipelineCounters();
  const runs = new Runs(() => ops.setHealthy(false));
  let parts: ServiceParts<X>;
  try {
    parts = await start({ ops, counters, onRetry: retryReporter(counters.retried), runs });
  } catch (err) {
    // A start that fails (a bad bundle, a broker that never answers) leaves no port open behind it. (What the start had
    // built by then is not taken down here: the process exits next.)
    await ops.close().catch(() => undefined);
    await tracing.shutdown().catch(() => undefined);
    throw err;
  }
  const done = runs.all();
  done.catch(() => undefined);
  ops.setReady(true);
  logEvent('info', `${name} started`, { ...parts.fields, ops_port: ops.port });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      ops.setReady(false);
      try {
        await parts.teardown();
      } finally {
        // A teardown that fails still leaves no port open and no spans unsent.
        await ops.close().catch(() => undefined);
        await tracing.shutdown().catch(() => undefined);
        logEvent('info', `${name} stopped`);
      }
    })();
    return stopping;
  };
  return { ...parts.exposes, stop, done, opsPort: ops.port };
}
