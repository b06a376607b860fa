// The pipeline's named counters. Labels are a small fixed set (stage, reason, error_type, format) — never a user
// id, a token, a URL path or a raw error message. Until a service installs the OpenTelemetry SDK these are no-ops.
import { metrics } from '@opentelemetry/api';

const meter = () => metrics.getMeter('vigil');

export interface PipelineCounters {
  recordsIn(stage: string, n?: number): void;
  recordsOut(stage: string, n?: number): void;
  deadLettered(reason: string, format: string, n?: number): void;
  retried(stage: string, errorType: string): void;
  /** Records a stage skipped on purpose (a duplicate it had already counted), by reason. */
  skipped(stage: string, reason: string, n?: number): void;
  /** Checkpoints committed and changelog records restored, by stage. */
  checkpoints(stage: string): void;
  restored(stage: string, n: number): void;
}

let cached: PipelineCounters | undefined;

/** Counters are created lazily so that a MeterProvider registered at service start is the one they bind to. */
export function pipelineCounters(): PipelineCounters {
  if (cached) return cached;
  const m = meter();
  const inC = m.createCounter('vigil_records_in', { description: 'Records a stage received.' });
  const outC = m.createCounter('vigil_records_out', {
    description: 'Records a stage passed on, acknowledged downstream.',
  });
  const dlq = m.createCounter('vigil_dead_letters', { description: 'Records dead-lettered, by reason code.' });
  const retries = m.createCounter('vigil_retries', { description: 'Retried operations (a retry is not a drop).' });
  const skipped = m.createCounter('vigil_records_skipped', {
    description: 'Records a stage skipped on purpose (duplicates), by reason.',
  });
  const checkpoints = m.createCounter('vigil_checkpoints', {
    description: 'State checkpoints committed (one Kafka transaction each).',
  });
  const restored = m.createCounter('vigil_state_restored', { description: 'Changelog records read to restore state.' });
  cached = {
    recordsIn: (stage, n = 1) => inC.add(n, { stage }),
    recordsOut: (stage, n = 1) => outC.add(n, { stage }),
    deadLettered: (reason, format, n = 1) => dlq.add(n, { reason, format }),
    retried: (stage, errorType) => retries.add(1, { stage, error_type: errorType }),
    skipped: (stage, reason, n = 1) => skipped.add(n, { stage, reason }),
    checkpoints: (stage) => checkpoints.add(1, { stage }),
    restored: (stage, n) => restored.add(n, { stage }),
  };
  return cached;
}

/**
 * The feature state's size against its budget, read when metrics are collected: vigil_state_bytes (estimated bytes
 * held: the stores' entries, their changelogs' bookkeeping and the requests waiting for their entity parts),
 * vigil_state_budget_bytes, and vigil_state_evicted
 * (keys evicted to stay within the budget: each one is a principal or address whose history started over).
 */
export function observeStateBudget(read: () => { used: number; limit: number; evicted: number }): void {
  const m = meter();
  m.createObservableGauge('vigil_state_bytes', {
    description:
      "Estimated bytes of feature state held by this process (the changelogs' bookkeeping and waiting requests included).",
  }).addCallback((o) => o.observe(read().used));
  m.createObservableGauge('vigil_state_budget_bytes', {
    description: 'The feature-state budget (features.state_budget_mb).',
  }).addCallback((o) => o.observe(read().limit));
  m.createObservableCounter('vigil_state_evicted', {
    description: 'Keys evicted from feature state to stay within the budget.',
  }).addCallback((o) => o.observe(read().evicted, { reason: 'budget' }));
}

/** Forget the bound counters (tests that install a fresh MeterProvider). */
export function resetPipelineCounters(): void {
  cached = undefined;
}
