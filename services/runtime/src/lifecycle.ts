// Graceful shutdown: SIGTERM/SIGINT run the service's stop function once (commit what is done, close sinks);
// a second signal exits at once.
export function onShutdown(stop: () => Promise<void>, log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`)): void {
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
export function logEvent(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, string | number | boolean> = {}): void {
  process.stderr.write(`${JSON.stringify({ level, ts: new Date().toISOString(), message, ...fields })}\n`);
}
