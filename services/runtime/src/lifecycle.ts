// Graceful shutdown: SIGTERM/SIGINT run the service's stop function once (commit what is done, close sinks);
// a second signal exits at once.
export function onShutdown(
  stop: () => Promise<void>,
  log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`),
): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    log(`received ${signal}, shutting down`);
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** One structured log line (JSON) on stderr; never pass raw input, tokens or error internals. */
export function logEvent(
  level: 'info' | 'warn' | 'error',
  message: string,
  fields: Record<string, string | number | boolean> = {},
): void {
  process.stderr.write(`${JSON.stringify({ level, ts: new Date().toISOString(), message, ...fields })}\n`);
}

/** The retry hook every service passes to its connectors: counts the retry by stage and error code, logs one line. */
export function retryReporter(
  retried: (stage: string, code: string) => void,
): (stage: string) => (err: unknown) => void {
  return (stage) => (err) => {
    const code = (err as { code?: string }).code ?? 'unknown';
    retried(stage, code);
    logEvent('warn', 'retrying', { stage, error: code });
  };
}

/**
 * Runs a started service until it ends: stops it on SIGTERM/SIGINT (exit 0). When any of its stages stops on its own
 * (a non-retriable error, a consumer that will not restart), the service is never left "stopped but alive": it is
 * stopped (within stopDeadlineMs) and the process exits 1, so the orchestrator restarts it and alerts.
 */
export async function runUntilDone(
  name: string,
  running: { stop(): Promise<void>; done: Promise<void> },
  stopDeadlineMs = 15_000,
): Promise<number> {
  onShutdown(running.stop);
  try {
    await running.done;
    return 0;
  } catch (err) {
    logEvent('error', `${name} stopped: a stage cannot go on; exiting`, {
      code: (err as { code?: string }).code ?? 'unknown',
      error: (err as { name?: string }).name ?? 'Error',
    });
    const deadline = new Promise((r) => setTimeout(r, stopDeadlineMs).unref());
    await Promise.race([running.stop().catch(() => undefined), deadline]);
    // Open sockets and timers would keep the event loop (and /healthz) alive: end the process explicitly.
    process.exit(1);
  }
}
