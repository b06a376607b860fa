// The ops endpoint: Prometheus metrics from the pipeline's named counters, liveness and readiness, generic errors.
import { metrics } from '@opentelemetry/api';
import { pipelineCounters, resetPipelineCounters } from '@vigil/telemetry';
import { afterAll, describe, expect, it } from 'vitest';
import { type OpsServer, startOpsServer } from './http.js';

describe('ops server', () => {
  let ops: OpsServer;
  afterAll(async () => {
    await ops?.close();
    metrics.disable();
    resetPipelineCounters();
  });

  it('serves counters with their fixed labels, health and readiness', async () => {
    ops = await startOpsServer(0, '127.0.0.1');
    resetPipelineCounters();
    const counters = pipelineCounters();
    counters.deadLettered('invalid_json', 'kong', 3);
    counters.recordsIn('ingest', 10);
    const base = `http://127.0.0.1:${ops.port}`;
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/vigil_dead_letters(_total)?\{reason="invalid_json",format="kong"[^}]*\} 3/);
    expect(text).toMatch(/vigil_records_in(_total)?\{stage="ingest"[^}]*\} 10/);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ops.setReady(true);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const missing = await fetch(`${base}/admin`);
    expect([missing.status, await missing.text()]).toEqual([404, 'not found\n']);
  });
});
