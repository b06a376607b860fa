// The operational HTTP endpoint every service exposes: /metrics (Prometheus text from the OpenTelemetry SDK),
// /healthz (every stage is running) and /readyz (its dependencies are connected). Errors are generic: no internals.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

export interface OpsServer {
  port: number;
  setReady(ready: boolean): void;
  /** A stage stopped for good: /healthz answers 503 from now on (the process exits next). */
  setHealthy(healthy: boolean): void;
  close(): Promise<void>;
}

/** Installs the metrics SDK (services only; libraries use @opentelemetry/api) and serves the ops endpoints. */
export async function startOpsServer(port: number, host = '0.0.0.0'): Promise<OpsServer> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  metrics.setGlobalMeterProvider(provider);
  let ready = false;
  let healthy = true;
  const server: Server = createServer((req, res) => {
    try {
      const url = (req.url ?? '/').split('?')[0];
      if (url === '/metrics') return exporter.getMetricsRequestHandler(req, res);
      if (url === '/healthz') {
        return void res
          .writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain' })
          .end(healthy ? 'ok\n' : 'stopped\n');
      }
      if (url === '/readyz') {
        return void res
          .writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' })
          .end(ready ? 'ready\n' : 'not ready\n');
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    } catch {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    setReady: (r) => {
      ready = r;
    },
    setHealthy: (h) => {
      healthy = h;
      if (!h) ready = false;
    },
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await provider.shutdown().catch(() => undefined);
    },
  };
}
