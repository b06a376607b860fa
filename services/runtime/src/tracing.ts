// Installs tracing for a service: the W3C propagator always (so a traceparent that arrived in a Kafka header goes
// on with the records derived from it), and a tracer provider exporting over OTLP/HTTP when an endpoint is set.
// Libraries only ever use @opentelemetry/api; this is the one place that installs the SDK.
import { propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface Tracing {
  shutdown(): Promise<void>;
}

export function installTracing(otlpTracesUrl: string | undefined): Tracing {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  if (otlpTracesUrl === undefined) return { shutdown: async () => {} };
  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: otlpTracesUrl }))],
  });
  trace.setGlobalTracerProvider(provider);
  // Telemetry must never crash the pipeline: a failing exporter is swallowed here.
  return { shutdown: () => provider.shutdown().catch(() => undefined) };
}
