// Scoring in micro-batches with hot swap and shadow: every row scored once, in order; a swap takes effect between
// batches; a shadow bundle's verdicts ride along without touching the active ones; the watcher hands over only a
// bundle that loaded and reads the same features.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ModelBundle, trainBundle } from '@vigil/bundle';
import type { SinkRecord, StatefulTask } from '@vigil/connectors';
import type { FeatureRecord, GeoLookup } from '@vigil/features';
import { DecisionPolicy, policyConfigSchema } from '@vigil/policy';
import { beforeAll, describe, expect, it } from 'vitest';
import { BundleWatcher } from './bundle-watcher.js';
import { decideRecords } from './decision-stage.js';
import { withDecisions } from './fused-task.js';
import { MicroBatcher } from './micro-batcher.js';
import { BundleScorer, type ScoredRow } from './scorer.js';

const COLS = 4;

function rows(seed: number, n: number) {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  return Float64Array.from({ length: n * COLS }, (_, i) => (i % COLS === 3 ? Math.abs(rand()) : rand()));
}

async function train(seed: number, hash = 'sha256:scoring'): Promise<ModelBundle> {
  const n = 3000;
  const { bundle } = await trainBundle(
    {
      data: rows(seed, n),
      rows: n,
      cols: COLS,
      groups: Array.from({ length: n }, (_, i) => `p${i % 300}|d0`),
      holdout: Uint8Array.from({ length: n }, (_, i) => (i % 300 < 60 ? 1 : 0)),
      fromTs: 0,
      toTs: 1,
      features: { names: ['a', 'b', 'c', 'd'], hash, schema: {} },
    },
    { seed, trees: 30, autoencoder: { epochs: 3, batchSize: 64 } },
  );
  return bundle;
}

describe('scoring', () => {
  let a: ModelBundle;
  let b: ModelBundle;
  beforeAll(async () => {
    a = await train(1);
    b = await train(2);
  });

  it('scores every row once, in order, in micro-batches; swaps between batches; carries shadow verdicts', () => {
    const scorer = new BundleScorer(a);
    scorer.setShadow(b);
    const results: { id: number; row: ScoredRow }[] = [];
    const sizes: number[] = [];
    const batcher = new MicroBatcher<number>(COLS, 7, (batch, ids) => {
      sizes.push(batch.rows);
      const scored = scorer.score(batch);
      ids.forEach((id, i) => {
        results.push({ id, row: scored[i] as ScoredRow });
      });
    });
    const data = rows(9, 50);
    for (let i = 0; i < 50; i++) {
      if (i === 21) scorer.swap(b); // between the third and fourth batch
      batcher.add(data.subarray(i * COLS, (i + 1) * COLS), i);
    }
    batcher.flush();
    expect(results.map((r) => r.id)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(sizes).toEqual([7, 7, 7, 7, 7, 7, 7, 1]);
    expect(results.slice(0, 21).every((r) => r.row.active.bundle === a.id)).toBe(true);
    expect(results.slice(21).every((r) => r.row.active.bundle === b.id)).toBe(true);
    expect(results.every((r) => r.row.shadow?.bundle === b.id)).toBe(true);
    // Shadow and active scored by the same bundle after the swap agree exactly; before it they differ.
    expect(results.slice(21).every((r) => r.row.shadow?.score === r.row.active.score)).toBe(true);
    expect(results.slice(0, 21).some((r) => r.row.shadow?.score !== r.row.active.score)).toBe(true);
    // An anomalous row is acted on and explained; normal ones carry no reasons.
    const far = Float64Array.from([0, 0, 0, 40]);
    const [v] = scorer.score({ data: far, rows: 1, cols: COLS });
    expect(v?.active.action).not.toBe('allow');
    expect(v?.active.reasons[0]?.feature).toBe('d');
    expect(results.filter((r) => r.row.active.action === 'allow').every((r) => r.row.active.reasons.length === 0)).toBe(
      true,
    );
  });

  it('decides through the policy: route-class thresholds per row, rules, context, geo-fences', () => {
    const scorer = new BundleScorer(a);
    // "b" stands in for a geo feature here: the rules read features by name.
    const names = ['a', 'geo_country_changed', 'c', 'geo_speed_kmh_log'];
    const policy = new DecisionPolicy(
      policyConfigSchema.parse({
        route_classes: { payments: ['/v1/payments'] },
        thresholds: { payments: { alert: 0 } },
        tenant: { by: 'client_id' },
        rules: { geo_fence: [{ route_prefix: '/v1/payments', allow: ['DE'] }] },
      }),
      names,
    );
    const geo: GeoLookup = {
      lookup: (ip) => (ip === '192.0.2.1' ? { country: 'FR', city: 'Paris', lat: 48.9, lon: 2.35 } : undefined),
    };
    const record = (id: string, v: number[], route: string, ip = '10.0.0.1'): FeatureRecord => ({
      ts: 1,
      request_id: id,
      principal: 'sub:alice',
      ids: { sub: 'alice', client_id: 'app', client_ip: ip },
      ctx: { route, method: 'GET', status: 200 },
      schema: 'sha256:scoring',
      v,
    });
    // A row the bundle scores above 0 yet allows under its own thresholds.
    const pool = rows(11, 200);
    const scores = scorer.score({ data: pool, rows: 200, cols: COLS });
    const k = scores.findIndex((x) => x.active.score > 0 && x.active.action === 'allow');
    expect(k).toBeGreaterThanOrEqual(0);
    const mild = Array.from(pool.subarray(k * COLS, (k + 1) * COLS));
    const normal = [0, 0, 0, 0.1];
    const out = decideRecords(
      { scorer, policy, geo, dryRun: true },
      [
        record('r1', mild, '/v1/accounts'),
        // An alert threshold of 0 on payments: the same row is alerted there.
        record('r2', mild, '/v1/payments/{id}'),
        record('r3', [0, 1, 0, Math.log1p(9000)], '/v1/accounts'),
        record('r4', normal, '/v1/payments/{id}', '192.0.2.1'),
      ],
      42,
    );
    const [r1, r2, r3, r4] = out.map((d) => d.active);
    expect(r1).toMatchObject({
      action: 'allow',
      decided_at: 42,
      dry_run: true,
      context: { route: '/v1/accounts', route_class: 'default', tenant: 'app' },
    });
    expect(r2).toMatchObject({ action: 'alert', entity: 'principal', context: { route_class: 'payments' } });
    expect(r2?.score).toBe(r1?.score);
    expect(r3).toMatchObject({ action: 'revoke', entity: 'principal', scores: { rules: 1 } });
    expect(r3?.reasons[0]?.feature).toBe('rule:impossible_travel:geo_speed_kmh');
    expect(r4).toMatchObject({ action: 'step_up', context: { country: 'FR' } });
  });

  it('fused into a feature task: its records, then their decisions and shadow decisions as side outputs', () => {
    const scorer = new BundleScorer(a);
    scorer.setShadow(b);
    const names = ['a', 'geo_country_changed', 'c', 'geo_speed_kmh_log'];
    const policy = new DecisionPolicy(policyConfigSchema.parse({}), names);
    const record = (id: string, v: number[], schema = 'sha256:scoring'): SinkRecord<FeatureRecord> => ({
      key: 'sub:alice',
      value: { ts: 1, request_id: id, principal: 'sub:alice', ids: { sub: 'alice' }, schema, v },
    });
    const travel = [0, 1, 0, Math.log1p(9000)];
    const calls: string[] = [];
    const inner: StatefulTask<FeatureRecord> = {
      process: (records) => {
        calls.push(`process ${records.length}`);
        return [record('r1', [0, 0, 0, 0.1]), record('r2', travel), record('r3', travel, 'sha256:other')];
      },
      tick: () => [record('r4', travel)],
      drainChanges: () => [['k', null]],
      restore: () => calls.push('restore'),
      drainPoison: () => {
        calls.push('drainPoison');
        return [];
      },
      close: () => calls.push('close'),
    };
    const fused = withDecisions(inner, {
      scorer,
      policy,
      dryRun: false,
      writeAllow: false,
      schemaHash: () => 'sha256:scoring',
      decisionsTopic: 'decisions',
      shadowTopic: 'shadow',
      now: () => 7,
    });
    const out = fused.process([]);
    // The feature records first and as they were (to the stage's own topic), then the decisions of the bundle's
    // schema ('allow' left out), each keyed by principal; a record of another schema is not scored.
    expect(out.slice(0, 3).map((r) => [r.topic, r.value.request_id])).toEqual([
      [undefined, 'r1'],
      [undefined, 'r2'],
      [undefined, 'r3'],
    ]);
    expect(
      out.slice(3).map((r) => [r.topic, r.key, r.value.request_id, (r.value as { action: string }).action]),
    ).toEqual([
      ['decisions', 'sub:alice', 'r2', 'revoke'],
      ['shadow', 'sub:alice', 'r2', 'revoke'],
    ]);
    // The active decision as the options say (enforcing here), the shadow one always dry-run.
    expect(out[3]?.value).toMatchObject({ dry_run: false, decided_at: 7 });
    expect(out[4]?.value).toMatchObject({ dry_run: true, decided_at: 7 });
    // Records released by the wall clock are decided too; state and restore are the task's own.
    expect(fused.tick?.(0).map((r) => [r.topic, r.value.request_id])).toEqual([
      [undefined, 'r4'],
      ['decisions', 'r4'],
      ['shadow', 'r4'],
    ]);
    expect(fused.drainChanges()).toEqual([['k', null]]);
    fused.restore([]);
    fused.drainPoison?.();
    fused.close?.();
    expect(calls).toEqual(['process 0', 'restore', 'drainPoison', 'close']);
  });

  it('refuses to swap in or shadow a bundle that reads other features', async () => {
    const other = await train(3, 'sha256:other');
    const scorer = new BundleScorer(a);
    expect(() => scorer.swap(other)).toThrow(/not swapped/);
    expect(() => scorer.setShadow(other)).toThrow(/another feature schema/);
    expect(scorer.activeId).toBe(a.id);
  });

  it(
    'watches a bundle directory: loads a new bundle, ' + 'keeps the old one when the new one is broken or mismatched',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'vigil-watch-'));
      await a.save(dir);
      const loaded: string[] = [];
      const failed: string[] = [];
      const watcher = new BundleWatcher(dir, 'sha256:scoring', a.id, {
        loaded: (x) => loaded.push(x.id),
        failed: (e) => failed.push(e.message),
      });
      expect(await watcher.check()).toBeUndefined();
      await b.save(dir);
      expect((await watcher.check())?.id).toBe(b.id);
      const other = await train(4, 'sha256:other');
      await other.save(dir);
      expect(await watcher.check()).toBeUndefined();
      expect(failed[0]).toMatch(/trained on feature schema sha256:other/);
      await rm(join(dir, 'manifest.json'));
      await writeFile(join(dir, 'manifest.json'), '{"bundle_id": "half-writ');
      expect(await watcher.check()).toBeUndefined();
      expect(loaded).toEqual([b.id]);
      expect(failed).toHaveLength(1);
    },
  );
});
