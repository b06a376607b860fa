// Readers for the external data sets in shared/data (each folder's README gives its format, source and licence).
// They return plain numbers and strings; the features are built in features.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Fields of one CSV line; double-quoted fields (with "" for a quote) allowed. */
export function csvFields(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (ch === '"') {
      if (quoted && line[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = !quoted;
    } else if (ch === ',' && !quoted) {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}

/** Header and rows of a CSV file whose records are one line each (true of every file read here). */
export function readCsv(path: string): { header: string[]; rows: string[][] } {
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const header = csvFields((lines[0] as string).replace(/\r$/, ''));
  const rows = lines.slice(1).map((l, i) => {
    const f = csvFields(l.replace(/\r$/, ''));
    if (f.length !== header.length)
      throw new Error(`${path}: line ${i + 2} has ${f.length} fields, the header ${header.length}`);
    return f;
  });
  return { header, rows };
}

export interface Table {
  /** Row-major features. */
  data: Float64Array;
  rows: number;
  cols: number;
  names: string[];
  labels: Uint8Array;
}

/**
 * ULB credit-card subset: V1..V28 and Amount as they are (Time is left out, as in ADBench's "fraud"); Class is the
 * label.
 */
export function loadUlb(dir: string): Table {
  const { header, rows } = readCsv(join(dir, 'ulb-creditcard-fraud-subset', 'creditcard_subset.csv'));
  const names = header.filter((h) => /^V\d+$/.test(h) || h === 'Amount');
  const idx = names.map((n) => header.indexOf(n));
  const label = header.indexOf('Class');
  const data = new Float64Array(rows.length * names.length);
  const labels = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    idx.forEach((c, j) => {
      data[i * names.length + j] = Number(r[c]);
    });
    labels[i] = Number(r[label]);
  });
  return { data, rows: rows.length, cols: names.length, names, labels };
}

/**
 * API access behaviour: the seven numeric behaviour aggregates, log1p of the six non-negative heavy-tailed ones
 * (the folder's README: vsession_duration reaches 1.35 million minutes) and the uniqueness share as it is, plus
 * ip_type = datacenter as 0/1. Left out: the row index, the behaviour id and `source` (which of two collections a
 * row came from, not behaviour). The four rows missing the first two metrics get the column median.
 */
export function loadApi(dir: string): Table {
  const { header, rows } = readCsv(join(dir, 'api-access-behaviour-anomaly', 'supervised_dataset.csv'));
  const numeric: [string, boolean][] = [
    ['inter_api_access_duration(sec)', true],
    ['api_access_uniqueness', false],
    ['sequence_length(count)', true],
    ['vsession_duration(min)', true],
    ['num_sessions', true],
    ['num_users', true],
    ['num_unique_apis', true],
  ];
  const names = [...numeric.map(([n, log]) => (log ? `log1p(${n})` : n)), 'ip_type_datacenter'];
  const cols = names.length;
  const data = new Float64Array(rows.length * cols);
  const labels = new Uint8Array(rows.length);
  const ipType = header.indexOf('ip_type');
  const cls = header.indexOf('classification');
  rows.forEach((r, i) => {
    numeric.forEach(([n, log], j) => {
      const cell = r[header.indexOf(n)] as string;
      const v = cell === '' ? Number.NaN : Number(cell);
      data[i * cols + j] = log ? Math.log1p(v) : v;
    });
    data[i * cols + numeric.length] = r[ipType] === 'datacenter' ? 1 : 0;
    labels[i] = r[cls] === 'outlier' ? 1 : 0;
  });
  for (let j = 0; j < cols; j++) {
    const present: number[] = [];
    for (let i = 0; i < rows.length; i++)
      if (!Number.isNaN(data[i * cols + j] as number)) present.push(data[i * cols + j] as number);
    present.sort((a, b) => a - b);
    const median = present[Math.floor(present.length / 2)] as number;
    for (let i = 0; i < rows.length; i++) if (Number.isNaN(data[i * cols + j] as number)) data[i * cols + j] = median;
  }
  return { data, rows: rows.length, cols, names, labels };
}

export interface CsicRequest {
  split: 'train_normal' | 'test_normal' | 'test_anomalous';
  label: number;
  method: string;
  url: string;
  contentLength: number;
}

/** CSIC 2010, as parsed into csic2010_requests.csv (query and body stay percent-encoded). */
export function loadCsic(dir: string): CsicRequest[] {
  const { header, rows } = readCsv(join(dir, 'csic2010-http', 'csic2010_requests.csv'));
  const col = (n: string) => header.indexOf(n);
  const [split, label, method, url, contentLength] = ['split', 'label', 'method', 'url', 'content_length'].map(
    col,
  ) as number[];
  return rows.map((r) => ({
    split: r[split as number] as CsicRequest['split'],
    label: Number(r[label as number]),
    method: r[method as number] as string,
    url: r[url as number] as string,
    contentLength: Number(r[contentLength as number] || 0),
  }));
}

/** "2014-04-10 00:04:00" or "2014-04-10 00:04:00.000000" (NAB's timestamps and window limits, UTC) → epoch ms. */
export function nabTime(s: string): number {
  const t = Date.parse(`${s.slice(0, 19).replace(' ', 'T')}Z`);
  if (Number.isNaN(t)) throw new Error(`not a NAB timestamp: ${s}`);
  return t;
}

export interface NabFile {
  /** "<subdir>/<file>.csv", NAB's key. */
  name: string;
  timestamps: Float64Array;
  values: Float64Array;
  windows: [number, number][];
}

export function loadNab(dir: string, names: readonly string[]): NabFile[] {
  const windows = JSON.parse(readFileSync(join(dir, 'nab', 'labels', 'combined_windows.json'), 'utf8')) as Record<
    string,
    [string, string][]
  >;
  return names.map((name) => {
    const { rows } = readCsv(join(dir, 'nab', 'data', name));
    const w = windows[name];
    if (!w) throw new Error(`no windows for ${name} in combined_windows.json`);
    return {
      name,
      timestamps: Float64Array.from(rows, (r) => nabTime(r[0] as string)),
      values: Float64Array.from(rows, (r) => Number(r[1])),
      windows: w.map(([a, b]) => [nabTime(a), nabTime(b)] as [number, number]),
    };
  });
}

/** Every series under nab/data (the 31 of this copy), as NAB keys, sorted. */
export function nabSeriesNames(dir: string): string[] {
  const summary = readCsv(join(dir, 'nab', 'nab_subset_summary.csv'));
  return summary.rows.map((r) => r[0] as string).sort();
}

/** NAB's published final scores (results/final_results.json): corpus-wide, normalised, per detector and profile. */
export function nabScoreboard(dir: string): Record<string, Record<string, number>> {
  return JSON.parse(readFileSync(join(dir, 'nab', 'results_final_results.json'), 'utf8'));
}

/** One row of ADBench's unsupervised AUCROC table (PyOD's copy) for a data set, by detector. */
export function adbenchAucroc(dir: string, dataset: string): Record<string, number> {
  const { header, rows } = readCsv(join(dir, 'iforest-reference-results', 'adbench_unsupervised_subset.csv'));
  const row = rows.find((r) => r[0] === dataset && r[1] === 'AUCROC');
  if (!row) return {};
  const out: Record<string, number> = {};
  header.slice(2).forEach((h, i) => {
    const v = row[i + 2];
    if (v !== undefined && v !== '') out[h] = Number(v);
  });
  return out;
}

/** Whether a PyOD benchmark table (pyod_benchmark_roc_*.csv) has a row for a data set. */
export function pyodHasDataset(dir: string, file: string, pattern: RegExp): boolean {
  return readCsv(join(dir, 'iforest-reference-results', file)).rows.some((r) => pattern.test(r[0] as string));
}
