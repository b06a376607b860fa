// The pipeline's named counters. Labels are a small fixed set (stage, reason, error_type, format) — never a user
// id, a token, a URL path or a raw error message. Until a service installs the OpenTelemetry SDK these are no-ops.
import { metrics } from '@opentelemetry/api';

const meter = () => metrics.getMeter('vigil');

export interface PipelineCounters {
  recordsIn(stage: string, n?: number): void;
  recordsOut(stage: string, n?: number): void;
  deadLettered(reason: string, format: string, n?: number): void;
  retried(stage: string, errorType: string): void;
}

let cached: PipelineCounters | undefined;

/** Counters are created lazily so that a MeterProvider registered at service start is the one they bind to. */
export function pipelineCounters(): PipelineCounters {
  if (cached) return cached;
  const m = meter();
  const inC = m.createCounter('vigil_records_in', { description: 'Records a stage received.' });
  const outC = m.createCounter('vigil_records_out', { description: 'Records a stage passed on, acknowledged downstream.' });
  const dlq = m.createCounter('vigil_dead_letters', { description: 'Records dead-lettered, by reason code.' });
  const retries = m.createCounter('vigil_retries', { description: 'Retried operations (a retry is not a drop).' });
  cached = {
    recordsIn: (stage, n = 1) => inC.add(n, { stage }),
    recordsOut: (stage, n = 1) => outC.add(n, { stage }),
    deadLettered: (reason, format, n = 1) => dlq.add(n, { reason, format }),
    retried: (stage, errorType) => retries.add(1, { stage, error_type: errorType }),
  };
  return cached;
}

/** Forget the bound counters (tests that install a fresh MeterProvider). */
export function resetPipelineCounters(): void {
  cached = undefined;
}
