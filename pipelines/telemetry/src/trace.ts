// W3C trace context carried in Kafka headers, so one trace follows a log line through decision, revocation and
// alert. Uses the globally registered propagator (services register W3C); with none registered it does nothing.
import { type Context, context, propagation, type Span, SpanStatusCode, trace } from '@opentelemetry/api';

export type HeaderCarrier = Record<string, string>;

const getter = {
  keys: (carrier: HeaderCarrier) => Object.keys(carrier),
  get: (carrier: HeaderCarrier, key: string) => carrier[key],
};

export function extractContext(headers: HeaderCarrier): Context {
  return propagation.extract(context.active(), headers, getter);
}

/** Adds traceparent (and tracestate) for the given context to the headers, in place. */
export function injectContext(ctx: Context, headers: HeaderCarrier): HeaderCarrier {
  propagation.inject(ctx, headers);
  return headers;
}

const tracer = () => trace.getTracer('vigil');

/**
 * Runs fn inside a span that continues the trace carried by parent. Telemetry must never break the pipeline:
 * errors from fn propagate unchanged, the span only records them.
 */
export function inSpan<T>(name: string, parent: Context, fn: (span: Span, ctx: Context) => T): T {
  return tracer().startActiveSpan(name, {}, parent, (span) => {
    const ctx = trace.setSpan(parent, span);
    try {
      const out = fn(span, ctx);
      if (out instanceof Promise) {
        return out.then(
          (v) => {
            span.end();
            return v;
          },
          (err: unknown) => {
            span.setStatus({ code: SpanStatusCode.ERROR });
            span.end();
            throw err;
          },
        ) as T;
      }
      span.end();
      return out;
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw err;
    }
  });
}

/** Deterministic 1-in-N sampling by record position, so the same records are traced on every replay. */
export function sampled(position: number, oneIn: number): boolean {
  return oneIn <= 1 || position % oneIn === 0;
}
