// The analysts' notebooks, executed headless as an analyst would run them: Jupyter's nbconvert (Debian, at
// /usr/bin/python3) with the TypeScript kernel tslab installed into a private kernel dir. tslab reports a cell's type
// errors and exceptions only as the cell's output, so every output is checked; then what each notebook shows — its
// tables, its plots (SVG from notebooks/lib/svg.ts, whose marked lines carry data-label) and what it wrote.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ACTIONS, DEFAULT_TARGETS, ModelBundle } from '@vigil/bundle';
import { FeatureExtractor, MmdbGeoLookup } from '@vigil/features';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseClient, dropTablesWithPrefix, ROOT, randomName, requiredEnv } from '../support/services.js';

interface Output {
  output_type: string;
  text?: string | string[];
  ename?: string;
  evalue?: string;
  data?: Record<string, string | string[]>;
}

interface Notebook {
  cells: { cell_type: string; source: string | string[]; outputs?: Output[] }[];
}

const joined = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join('') : (t ?? ''));

/** What a notebook showed: its text, markdown and SVG outputs, and its markdown cells' prose. */
interface Shown {
  text: string;
  markdown: string[];
  svg: string[];
  prose: string;
}

/** The rows of the markdown table whose header starts with `columns` ("action | decisions"), as column → cell. */
function table(shown: Shown, columns: string): Record<string, string>[] {
  const md = shown.markdown.find((m) => m.startsWith(`| ${columns} |`));
  expect(md, `a table headed "${columns}"`).toBeDefined();
  const cells = (line: string) =>
    line
      .slice(2, -2)
      .split(' | ')
      .map((c) => c.trim());
  const [header, , ...rows] = (md as string).split('\n');
  const names = cells(header as string);
  return rows.map((r) => Object.fromEntries(cells(r).map((c, i) => [names[i] as string, c])));
}

const svgTitled = (shown: Shown, start: string) => {
  const svg = shown.svg.find((s) => /<title>([^<]*)<\/title>/.exec(s)?.[1]?.startsWith(start));
  expect(svg, `a plot titled "${start}…"`).toBeDefined();
  return svg as string;
};
/** The labels of a plot's marked lines and points; marks at one position share a label ("step_up = revoke"). */
const markLabels = (svg: string) =>
  [...svg.matchAll(/class="mark" data-label="([^"]*)"/g)].flatMap((m) => (m[1] as string).split(' = '));
/** A share in [0, 1] as the notebooks print it, or "—" where it is undefined. */
const share = (cell: string | undefined) => {
  expect(cell).toMatch(/^(—|[01]\.\d{3})$/);
  const x = Number(cell);
  if (cell !== '—') expect(x >= 0 && x <= 1, `${cell} in [0, 1]`).toBe(true);
  return cell === '—' ? undefined : x;
};
/** A target as the prose states it: 0.0025 → "0.25 %". */
const percent = (x: number) => `${Number((x * 100).toFixed(4))} %`;

describe('notebooks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-notebook-test-'));
  const kernels = join(dir, 'jupyter');

  beforeAll(() => {
    execFileSync(
      join(ROOT, 'node_modules/.bin/tslab'),
      [
        'install',
        '--python',
        '/usr/bin/python3',
        '--prefix',
        kernels,
        '--binary',
        join(ROOT, 'node_modules/.bin/tslab'),
      ],
      { stdio: 'pipe' },
    );
  });

  // Asynchronously: a notebook runs for minutes, and a worker blocked that long loses its line to vitest.
  async function execute(name: string, env: Record<string, string>): Promise<Shown> {
    const executed = join(dir, `${name}.ipynb`);
    await promisify(execFile)(
      '/usr/bin/python3',
      [
        '-m',
        'nbconvert',
        '--to',
        'notebook',
        '--execute',
        join(ROOT, 'notebooks', `${name}.ipynb`),
        '--output',
        executed,
        '--ExecutePreprocessor.kernel_name=tslab',
        '--ExecutePreprocessor.timeout=600',
      ],
      {
        cwd: join(ROOT, 'notebooks'),
        env: { ...process.env, JUPYTER_PATH: join(kernels, 'share/jupyter'), ...env },
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const nb = JSON.parse(readFileSync(executed, 'utf8')) as Notebook;
    const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
    for (const o of outputs) {
      expect(o.output_type, `${o.ename}: ${o.evalue}`).not.toBe('error');
      // tslab's compile errors ("5:37 - Cannot find module …") and runtime errors (a stack) arrive as stream text.
      expect(joined(o.text)).not.toMatch(/^\d+:\d+ - |Error\b.*\n\s+at /m);
    }
    const shown: Shown = {
      text: outputs.map((o) => joined(o.text)).join('\n'),
      markdown: outputs.flatMap((o) => (o.data?.['text/markdown'] ? [joined(o.data['text/markdown'])] : [])),
      svg: outputs.flatMap((o) => (o.data?.['image/svg+xml'] ? [joined(o.data['image/svg+xml'])] : [])),
      prose: nb.cells
        .filter((c) => c.cell_type === 'markdown')
        .map((c) => joined(c.source))
        .join('\n')
        .replace(/\s+/g, ' '),
    };
    // Small enough to commit with its outputs and to render on GitHub.
    expect(shown.svg.reduce((n, s) => n + s.length, 0)).toBeLessThan(200_000);
    return shown;
  }

  it('threshold-tuning.ipynb: thresholds at the library defaults, ' +
    'per-model distributions, precision and recall, a bundle', async () => {
    const bundleDir = join(dir, 'bundle');
    const shown = await execute('threshold-tuning', { NOTEBOOK_OUT: bundleDir });
    const bundle = await ModelBundle.load(bundleDir);
    const t = bundle.manifest.thresholds;

    // The prose states the library's defaults, and the notebook uses them.
    expect(shown.prose).toContain(
      `${percent(DEFAULT_TARGETS.alert)} of principal-days for alert, ` +
        `${percent(DEFAULT_TARGETS.step_up)} for step-up, ${percent(DEFAULT_TARGETS.revoke)} for revoke`,
    );
    expect(shown.text).toMatch(/threshold {3}per event {3}per principal-day/);
    for (const a of ACTIONS) {
      expect(t[a].target_principal_day_fpr).toBe(DEFAULT_TARGETS[a]);
      const target = `${(DEFAULT_TARGETS[a] * 100).toFixed(3)} %`;
      expect(shown.text).toMatch(
        new RegExp(
          `  ${a.padEnd(8)} > ${t[a].score.toFixed(6)} {3}target ${target} ` +
            `per principal-day → held out: [\\d.]+ % per principal-day`,
        ),
      );
      // `vigil train`'s note under a target the held-out traffic cannot measure, and only there.
      expect(shown.text.includes(`(too few held-out principal-days to measure ${target}: need`)).toBe(!t[a].resolved);
      if (t[a].resolved) expect(t[a].validation_principal_day_fpr).toBeLessThanOrEqual(DEFAULT_TARGETS[a]);
    }
    expect(shown.text.includes('share the threshold')).toBe(
      t.alert.score === t.step_up.score || t.step_up.score === t.revoke.score,
    );

    // One distribution per model and the combined score, each with every action's threshold drawn, counts on a log
    // axis.
    for (const model of ['isolation forest', 'autoencoder', 'combined score']) {
      const svg = svgTitled(shown, model);
      const labels = markLabels(svg);
      for (const a of ACTIONS)
        expect(
          labels.some((l) => l === a || l.startsWith(`${a} `)),
          `${model}: the ${a} line in ${labels.join(', ')}`,
        ).toBe(true);
      expect(svg).toContain('count (log scale)');
      expect(svg).toContain('labelled attacks');
    }

    // Precision and recall per action against the labels, consistent counts, and the curve with the actions on it.
    const pr = table(shown, 'action | threshold');
    expect(pr.map((r) => r.action)).toEqual([...ACTIONS]);
    for (const r of pr) {
      expect(Number(r.flagged)).toBe(Number(r['true positives']) + Number(r['false positives']));
      share(r.precision);
      share(r.recall);
    }
    const alert = pr[0] as Record<string, string>;
    expect(share(alert.recall)).toBeGreaterThan(0);
    expect(share(alert.precision)).toBeGreaterThan(0);
    expect(shown.text).toMatch(/combined {10}average precision 0\.\d{3}/);
    const curve = svgTitled(shown, 'precision-recall');
    expect(markLabels(curve)).toEqual([...ACTIONS]);
    expect(curve.match(/<path /g)?.length).toBe(3);
  }, 480_000);

  describe('review-decisions.ipynb', () => {
    const prefix = `${randomName('nb')}_`;
    const ch = clickhouseClient();

    afterAll(async () => {
      await dropTablesWithPrefix(ch, prefix);
      await ch.close();
    });

    it('stores a sample into empty tables, then shows decisions per hour, ' +
      'reasons, verdicts against actions and drift for every feature', async () => {
      const shown = await execute('review-decisions', {
        CLICKHOUSE_URL: requiredEnv('CLICKHOUSE_URL'),
        NOTEBOOK_CLICKHOUSE_PREFIX: prefix,
      });
      const sample =
        /→ ([\d,]+) access events and feature records, (\d+) decisions; (\d+) labels \((\d+) true, (\d+) false positives\)/.exec(
          shown.text,
        );
      expect(sample, shown.text).not.toBeNull();
      const [events, decided, labels, truePositives, falsePositives] = (sample as RegExpExecArray)
        .slice(1, 6)
        .map((x) => Number(x.replace(/,/g, ''))) as [number, number, number, number, number];
      expect(events).toBeGreaterThan(20_000);
      expect(decided).toBeGreaterThan(0);
      expect(truePositives).toBeGreaterThan(0);

      // What the notebook counts is what ClickHouse holds.
      const stored = await (
        await ch.query({
          query: `SELECT action, count() AS n FROM ${prefix}decisions FINAL WHERE shadow = 0 GROUP BY action`,
          format: 'JSONEachRow',
        })
      ).json<{ action: string; n: string }>();
      const perAction = table(shown, 'action | decisions | share');
      expect(Object.fromEntries(perAction.map((r) => [r.action, Number(r.decisions)]))).toEqual(
        Object.fromEntries(stored.map((r) => [r.action, Number(r.n)])),
      );
      expect(perAction.reduce((n, r) => n + Number(r.decisions), 0)).toBe(decided);
      const perHour = svgTitled(shown, 'decisions per action per hour');
      expect(perHour.match(/<rect /g)?.length).toBeGreaterThan(10);

      const reasons = table(shown, 'lead reason');
      expect(reasons.length).toBeGreaterThan(0);
      expect(reasons.every((r) => /^`[^`]+`$/.test(r['lead reason'] as string) && Number(r.decisions) > 0)).toBe(true);

      // Every label names one decision: the verdicts per action add up to the labels written.
      const verdicts = table(shown, 'action | decisions | true positive');
      expect(verdicts.map((r) => r.action)).toEqual(perAction.map((r) => r.action));
      expect(verdicts.reduce((n, r) => n + Number(r['true positive']), 0)).toBe(truePositives);
      expect(verdicts.reduce((n, r) => n + Number(r['false positive']), 0)).toBe(falsePositives);
      expect(truePositives + falsePositives).toBe(labels);
      for (const r of verdicts) share(r['precision (labelled)']);

      // Drift: every feature of the schema, with its statistics, and the plot.
      const drift = table(shown, 'feature | PSI');
      const names = FeatureExtractor.standard(MmdbGeoLookup.bundled()).names;
      expect(drift.map((r) => (r.feature as string).replace(/`/g, '')).sort()).toEqual([...names].sort());
      for (const r of drift) {
        expect(Number(r.PSI)).toBeGreaterThanOrEqual(0);
        expect(Number(r.KS)).toBeGreaterThanOrEqual(0);
        expect(Number(r.KS)).toBeLessThanOrEqual(1);
        expect(['stable', 'moderate', 'shifted']).toContain(r.drift);
      }
      const driftPlot = svgTitled(shown, 'feature drift');
      expect(markLabels(driftPlot)).toEqual(['moderate 0.1', 'shifted 0.25']);
      for (const n of names) expect(driftPlot).toContain(`>${n}</text>`);
    }, 480_000);
  });
});
