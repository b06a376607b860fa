// The threshold-tuning notebook, executed headless as an analyst would run it: Jupyter's nbconvert (Debian, at
// /usr/bin/python3) with the TypeScript kernel tslab installed into a private kernel dir. tslab reports a cell's
// type errors and exceptions only as the cell's output, so every output is checked, then the bundle it wrote.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelBundle } from '@vigil/bundle';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/services.js';

interface Output {
  output_type: string;
  text?: string | string[];
  ename?: string;
  evalue?: string;
}

describe('notebooks', () => {
  it('threshold-tuning.ipynb runs clean and writes a bundle with the thresholds it chose', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-notebook-test-'));
    const kernels = join(dir, 'jupyter');
    execFileSync(
      join(ROOT, 'node_modules/.bin/tslab'),
      ['install', '--python', '/usr/bin/python3', '--prefix', kernels, '--binary', join(ROOT, 'node_modules/.bin/tslab')],
      {
        stdio: 'pipe',
      },
    );
    const executed = join(dir, 'executed.ipynb');
    const bundleDir = join(dir, 'bundle');
    execFileSync(
      '/usr/bin/python3',
      [
        '-m',
        'nbconvert',
        '--to',
        'notebook',
        '--execute',
        join(ROOT, 'notebooks/threshold-tuning.ipynb'),
        '--output',
        executed,
        '--ExecutePreprocessor.kernel_name=tslab',
        '--ExecutePreprocessor.timeout=600',
      ],
      { stdio: 'pipe', cwd: join(ROOT, 'notebooks'), env: { ...process.env, JUPYTER_PATH: join(kernels, 'share/jupyter'), NOTEBOOK_OUT: bundleDir } },
    );
    const nb = JSON.parse(readFileSync(executed, 'utf8')) as { cells: { cell_type: string; outputs?: Output[] }[] };
    const text = (o: Output) => (Array.isArray(o.text) ? o.text.join('') : (o.text ?? ''));
    const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
    for (const o of outputs) {
      expect(o.output_type, `${o.ename}: ${o.evalue}`).not.toBe('error');
      // tslab's compile errors ("5:37 - Cannot find module …") and runtime errors (a stack) arrive as stream text.
      expect(text(o)).not.toMatch(/^\d+:\d+ - |Error\b.*\n\s+at /m);
    }
    const all = outputs.map(text).join('\n');
    expect(all).toMatch(/threshold {3}per event {3}per principal-day/);
    expect(all).toMatch(/alert: score > 0\.\d+ → [\d.]+ % of principal-days/);
    expect(outputs.some((o) => o.output_type === 'display_data')).toBe(true);
    const bundle = await ModelBundle.load(bundleDir);
    // The notebook's own targets (1 %, 0.2 %, 0.1 % per principal-day) replaced the defaults.
    expect(bundle.manifest.thresholds.alert.target_principal_day_fpr).toBe(0.01);
    expect(bundle.manifest.thresholds.alert.validation_principal_day_fpr).toBeLessThanOrEqual(0.01);
  });
});
