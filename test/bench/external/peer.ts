// The scikit-learn peer: one Python child process (test/bench/external_sklearn.py) gets every matrix vigil's models
// get, through a temporary folder of float64 files, and returns its scores the same way, so both sides are measured
// by the same code on the same rows.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelInput } from './models.js';

export type PeerModel = 'iforest' | 'mlp_autoencoder';

/** One model on one input (vigil's own input for that model: external/models.ts), for each seed. */
export interface PeerJob {
  id: string;
  model: PeerModel;
  input: ModelInput;
  labels?: Uint8Array;
  seeds: number[];
}

export interface PeerResult {
  scores: Float64Array;
  seconds: number;
  /** scikit-learn's roc_auc_score on the same scores, when labels were given. */
  auc: number | null;
}

export const peerKey = (id: string, model: PeerModel, seed: number) => `${id}__${model}__${seed}`;

const bytes = (a: Float64Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Runs every job in one Python process; throws with the reason when Python or scikit-learn is missing. */
export function runPeer(script: string, jobs: readonly PeerJob[]): Map<string, PeerResult> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-external-'));
  try {
    const spec = jobs.map((j) => {
      const file = (name: string, a: Float64Array | Uint8Array) => {
        const path = join(dir, `${j.id}.${name}`);
        writeFileSync(path, bytes(a));
        return path;
      };
      return {
        id: j.id,
        cols: j.input.train.cols,
        train: { path: file(`${j.model}.train.f64`, j.input.train.data), rows: j.input.train.rows },
        test: { path: file(`${j.model}.test.f64`, j.input.test.data), rows: j.input.test.rows },
        labels: j.labels ? file(`${j.model}.labels.u8`, j.labels) : null,
        models: [j.model],
        seeds: j.seeds,
        out: dir,
      };
    });
    writeFileSync(join(dir, 'jobs.json'), JSON.stringify(spec));
    const out = execFileSync(process.env.PYTHON ?? 'python3', [script, join(dir, 'jobs.json')], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const results = new Map<string, PeerResult>();
    for (const line of out.trim().split('\n')) {
      const r = JSON.parse(line) as { id: string; model: PeerModel; seed: number; seconds: number; auc: number | null };
      const key = peerKey(r.id, r.model, r.seed);
      const buf = readFileSync(join(dir, `${key}.f64`));
      const scores = new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      results.set(key, { scores, seconds: r.seconds, auc: r.auc });
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
