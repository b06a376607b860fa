// Small SVG charts for the notebooks (tslab shows them with display.svg): no plotting package, nothing fetched, the
// same bytes offline, in CI and on GitHub. Marked lines carry class="mark" and data-label, which the notebook test
// looks for. Self-contained: tslab loads a local module without resolving its own relative imports.

export interface Mark {
  /** Position on the x axis, in data units. */
  x: number;
  label: string;
  color?: string;
}

export interface HistogramSeries {
  name: string;
  values: ArrayLike<number>;
  color: string;
}

export interface LineSeries {
  name: string;
  points: [number, number][];
  color: string;
  dashed?: boolean;
}

const PALETTE = { axis: '#444', grid: '#e4e4e4', text: '#222', mark: '#c0392b' };
const FONT = 'font-family="sans-serif"';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const r1 = (x: number) => Math.round(x * 10) / 10;

/** About n round tick values within [lo, hi]; with `cover`, one more past hi when hi is not a tick itself. */
export function ticks(lo: number, hi: number, n = 5, cover = false): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw) as number;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    out.push(Math.round(v / step) * step);
  const last = out.at(-1) ?? lo;
  if (cover && last < hi) out.push(Math.round((last + step) / step) * step);
  return out;
}

const tickText = (v: number) =>
  v !== 0 && Math.abs(v) < 0.01
    ? v.toExponential(0)
    : Math.abs(v) >= 1000
      ? Math.round(v).toLocaleString('en')
      : String(Math.round(v * 1000) / 1000);

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function open(title: string, f: Frame): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" ` +
    `viewBox="0 0 ${f.width} ${f.height}" ${FONT} font-size="11"><title>${esc(title)}</title><rect ` +
    `width="100%" height="100%" fill="#fff"/><text x="${Math.min(f.left, 60)}" ` +
    `y="16" font-size="13" font-weight="bold" fill="${PALETTE.text}">${esc(title)}</text>`
  );
}

/** A legend, one entry a line from (x, y), or all on one line when `row`. */
function legend(items: { name: string; color: string }[], x: number, y: number, row = false): string {
  let dx = 0;
  return items
    .map((s, i) => {
      const [ix, iy] = row ? [x + dx, y] : [x, y + i * 15];
      dx += 24 + s.name.length * 6.5;
      return (
        `<rect x="${r1(ix)}" y="${iy - 9}" width="10" height="10" ` +
        `fill="${s.color}" fill-opacity="0.75"/><text x="${r1(ix + 14)}" ` +
        `y="${iy}" fill="${PALETTE.text}">${esc(s.name)}</text>`
      );
    })
    .join('');
}

/**
 * Vertical marked lines; marks at the same pixel share one label ("step_up = revoke"), and labels are staggered so
 * that near ones stay readable.
 */
function marks(list: Mark[], sx: (x: number) => number, f: Frame): string {
  const groups: { px: number; labels: string[]; color: string }[] = [];
  for (const m of [...list].sort((a, b) => a.x - b.x)) {
    const px = r1(Math.max(f.left, Math.min(f.width - f.right, sx(m.x))));
    const same = groups.find((g) => Math.abs(g.px - px) < 1);
    if (same) same.labels.push(m.label);
    else groups.push({ px, labels: [m.label], color: m.color ?? PALETTE.mark });
  }
  return groups
    .map((g, i) => {
      const label = g.labels.join(' = ');
      const y = f.top + 12 + (i % 3) * 13;
      const anchor = g.px > f.width - f.right - 90 ? 'end' : 'start';
      const dx = anchor === 'end' ? -3 : 3;
      return (
        `<g class="mark" data-label="${esc(label)}"><line x1="${g.px}" x2="${g.px}" y1="${f.top}" ` +
        `y2="${f.height - f.bottom}" stroke="${g.color}" stroke-width="1.5" stroke-dasharray="5 3"/><text ` +
        `x="${g.px + dx}" y="${y}" text-anchor="${anchor}" fill="${g.color}">${esc(label)}</text></g>`
      );
    })
    .join('');
}

function axes(
  f: Frame,
  xs: { v: number; px: number; text?: string }[],
  ys: { v: number; py: number; text?: string }[],
  xLabel: string,
  yLabel: string,
): string {
  const x0 = f.left;
  const x1 = f.width - f.right;
  const y0 = f.height - f.bottom;
  const parts: string[] = [];
  for (const t of ys) {
    parts.push(`<line x1="${x0}" x2="${x1}" y1="${r1(t.py)}" y2="${r1(t.py)}" stroke="${PALETTE.grid}"/>`);
    parts.push(
      `<text x="${x0 - 4}" y="${r1(t.py + 4)}" text-anchor="end" ` +
        `fill="${PALETTE.text}">${esc(t.text ?? tickText(t.v))}</text>`,
    );
  }
  for (const t of xs) {
    parts.push(`<line x1="${r1(t.px)}" x2="${r1(t.px)}" y1="${y0}" y2="${y0 + 4}" stroke="${PALETTE.axis}"/>`);
    parts.push(
      `<text x="${r1(t.px)}" y="${y0 + 15}" text-anchor="middle" ` +
        `fill="${PALETTE.text}">${esc(t.text ?? tickText(t.v))}</text>`,
    );
  }
  parts.push(`<line x1="${x0}" x2="${x1}" y1="${y0}" y2="${y0}" stroke="${PALETTE.axis}"/>`);
  parts.push(`<line x1="${x0}" x2="${x0}" y1="${f.top}" y2="${y0}" stroke="${PALETTE.axis}"/>`);
  parts.push(
    `<text x="${(x0 + x1) / 2}" y="${f.height - 6}" text-anchor="middle" fill="${PALETTE.text}">${esc(xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(13 ${(f.top + y0) / 2}) rotate(-90)" ` +
      `text-anchor="middle" fill="${PALETTE.text}">${esc(yLabel)}</text>`,
  );
  return parts.join('');
}

/**
 * Counts of values in equal bins over [min, max] (values past either end counted in the end bins), one
 * semi-transparent series over another, on a log y axis by default (counts of 1 still show).
 */
export function histogram(o: {
  title: string;
  xLabel: string;
  yLabel?: string;
  series: HistogramSeries[];
  min: number;
  max: number;
  bins: number;
  logY?: boolean;
  marks?: Mark[];
  width?: number;
  height?: number;
}): string {
  const f: Frame = { width: o.width ?? 640, height: o.height ?? 270, left: 58, right: 16, top: 44, bottom: 36 };
  const logY = o.logY ?? true;
  const binW = (o.max - o.min) / o.bins;
  const counts = o.series.map((s) => {
    const c = new Array<number>(o.bins).fill(0);
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i] as number;
      if (!Number.isFinite(v)) continue;
      const b = Math.min(o.bins - 1, Math.max(0, Math.floor((v - o.min) / binW)));
      c[b] = (c[b] as number) + 1;
    }
    return c;
  });
  const peak = Math.max(1, ...counts.flat());
  const plotH = f.height - f.top - f.bottom;
  // Log axis from 0.5 so a single count is a visible bar.
  const yTop = logY ? 10 ** Math.ceil(Math.log10(peak)) : (ticks(0, peak, 5, true).at(-1) ?? peak);
  const sy = (c: number) =>
    f.height -
    f.bottom -
    (logY ? (c <= 0 ? 0 : (Math.log10(c / 0.5) / Math.log10(yTop / 0.5)) * plotH) : (c / Math.max(yTop, peak)) * plotH);
  const plotW = f.width - f.left - f.right;
  const sx = (x: number) => f.left + ((x - o.min) / (o.max - o.min)) * plotW;
  const yTicks = logY
    ? Array.from({ length: Math.round(Math.log10(yTop)) + 1 }, (_, k) => 10 ** k).map((v) => ({ v, py: sy(v) }))
    : ticks(0, yTop).map((v) => ({ v, py: sy(v) }));
  const xTicks = ticks(o.min, o.max, 8).map((v) => ({ v, px: sx(v) }));
  const bars = counts
    .map((c, s) =>
      c
        .map((n, b) => {
          if (n === 0) return '';
          const x = sx(o.min + b * binW) + 0.5;
          const y = sy(n);
          return (
            `<rect x="${r1(x)}" y="${r1(y)}" width="${r1(Math.max(1, plotW / o.bins - 1))}" ` +
            `height="${r1(f.height - f.bottom - y)}" ` +
            `fill="${o.series[s]?.color}" fill-opacity="0.6"><title>${n}</title></rect>`
          );
        })
        .join(''),
    )
    .join('');
  return (
    `${open(o.title, f)}${axes(f, xTicks, yTicks, o.xLabel, o.yLabel ?? (logY ? 'count (log scale)' : 'count'))}` +
    `${bars}${marks(o.marks ?? [], sx, f)}${legend(
      o.series.map((s) => ({ name: `${s.name} (${s.values.length.toLocaleString('en')})`, color: s.color })),
      f.left,
      32,
      true,
    )}</svg>`
  );
}

/** Lines through points, with optional labelled points (e.g. where each action's threshold sits on a curve). */
export function lineChart(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  x: [number, number];
  y: [number, number];
  points?: { x: number; y: number; label: string; color?: string }[];
  width?: number;
  height?: number;
}): string {
  const f: Frame = { width: o.width ?? 480, height: o.height ?? 320, left: 52, right: 16, top: 26, bottom: 36 };
  const sx = (x: number) => f.left + ((x - o.x[0]) / (o.x[1] - o.x[0])) * (f.width - f.left - f.right);
  const sy = (y: number) => f.height - f.bottom - ((y - o.y[0]) / (o.y[1] - o.y[0])) * (f.height - f.top - f.bottom);
  const lines = o.series
    .map((s) => {
      const d = s.points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${r1(sx(x))} ${r1(sy(y))}`).join('');
      return (
        `<path d="${d}" fill="none" stroke="${s.color}" ` +
        `stroke-width="1.8"${s.dashed ? ' stroke-dasharray="6 3"' : ''}/>`
      );
    })
    .join('');
  const n = o.points?.length ?? 0;
  const pts = (o.points ?? [])
    .map((p, i) => {
      // Below and right of its point, staggered, kept inside the plot.
      const ty = Math.max(
        f.top + 10 + i * 12,
        Math.min(f.height - f.bottom - 4 - (n - 1 - i) * 12, sy(p.y) + 14 + i * 12),
      );
      return (
        `<g class="mark" data-label="${esc(p.label)}"><circle cx="${r1(sx(p.x))}" ` +
        `cy="${r1(sy(p.y))}" r="4" fill="${p.color ?? PALETTE.mark}"/><text x="${r1(sx(p.x) + 6)}" ` +
        `y="${r1(ty)}" fill="${p.color ?? PALETTE.mark}">${esc(p.label)}</text></g>`
      );
    })
    .join('');
  const xTicks = ticks(o.x[0], o.x[1]).map((v) => ({ v, px: sx(v) }));
  const yTicks = ticks(o.y[0], o.y[1]).map((v) => ({ v, py: sy(v) }));
  return (
    `${open(o.title, f)}${axes(f, xTicks, yTicks, o.xLabel, o.yLabel)}${lines}${pts}` +
    `${legend(o.series, f.left + 60, f.height - f.bottom - 12 - (o.series.length - 1) * 15)}</svg>`
  );
}

/**
 * One horizontal bar per row (e.g. a statistic per feature), with optional marked levels. The axis ends at `clip` when
 * a value passes it: such bars run to the edge and print their value, so one outlier does not flatten the rest.
 */
export function horizontalBars(o: {
  title: string;
  xLabel: string;
  rows: { label: string; value: number; color?: string }[];
  marks?: Mark[];
  clip?: number;
  width?: number;
}): string {
  const rowH = 14;
  // Two lines above the bars for the marks' labels.
  const labels = 30;
  const f: Frame = {
    width: o.width ?? 640,
    height: 26 + labels + rowH * o.rows.length + 44,
    left: 190,
    right: 44,
    top: 26,
    bottom: 36,
  };
  const top = Math.max(...o.rows.map((r) => r.value), ...(o.marks ?? []).map((m) => m.x * 1.15), 1e-9);
  const hi = o.clip !== undefined ? Math.min(top, o.clip) : top;
  const xTicks = ticks(0, hi, 6);
  const xMax = Math.max(hi, xTicks.at(-1) ?? hi);
  const sx = (x: number) => f.left + (Math.min(xMax, Math.max(0, x)) / xMax) * (f.width - f.left - f.right);
  const bars = o.rows
    .map((r, i) => {
      const y = f.top + labels + i * rowH;
      const over =
        r.value > xMax
          ? `<text x="${r1(sx(r.value) + 3)}" y="${y + rowH - 4}" ` +
            `fill="${PALETTE.text}">${esc(tickText(r.value))}</text>`
          : '';
      return (
        `<text x="${f.left - 4}" y="${y + rowH - 4}" text-anchor="end" ` +
        `fill="${PALETTE.text}">${esc(r.label)}</text><rect x="${f.left}" y="${y + 1}" ` +
        `width="${r1(Math.max(0.5, sx(r.value) - f.left))}" height="${rowH - 3}" ` +
        `fill="${r.color ?? '#4a78b5'}"><title>${esc(r.label)}: ${r.value}</title></rect>${over}`
      );
    })
    .join('');
  return `${open(o.title, f)}${axes(
    f,
    xTicks.map((v) => ({ v, px: sx(v) })),
    [],
    o.xLabel,
    '',
  )}${bars}${marks(o.marks ?? [], sx, f)}</svg>`;
}

/** Stacked columns per category (e.g. decisions per action per hour). */
export function stackedColumns(o: {
  title: string;
  yLabel: string;
  xLabel: string;
  categories: string[];
  series: { name: string; values: number[]; color: string }[];
  /** Label every n-th category (default: as often as the labels fit). */
  labelEvery?: number;
  width?: number;
  height?: number;
}): string {
  const f: Frame = { width: o.width ?? 720, height: o.height ?? 280, left: 52, right: 130, top: 26, bottom: 36 };
  const totals = o.categories.map((_, i) => o.series.reduce((a, s) => a + (s.values[i] ?? 0), 0));
  const yTicks = ticks(0, Math.max(1, ...totals), 5, true);
  const yMax = Math.max(1, ...totals, yTicks.at(-1) ?? 1);
  const plotW = f.width - f.left - f.right;
  const colW = plotW / Math.max(1, o.categories.length);
  const sy = (v: number) => f.height - f.bottom - (v / yMax) * (f.height - f.top - f.bottom);
  const widest = Math.max(...o.categories.map((c) => c.length)) * 6.5 + 10;
  const every =
    o.labelEvery ?? [1, 2, 3, 4, 6, 8, 12, 24, 48, 96].find((n) => n * colW >= widest) ?? Math.ceil(widest / colW);
  const cols = o.categories
    .map((c, i) => {
      let base = 0;
      return o.series
        .map((s) => {
          const v = s.values[i] ?? 0;
          if (v === 0) return '';
          const y = sy(base + v);
          const h = sy(base) - y;
          base += v;
          return (
            `<rect x="${r1(f.left + i * colW + 0.5)}" y="${r1(y)}" width="${r1(Math.max(1, colW - 1))}" ` +
            `height="${r1(h)}" fill="${s.color}"><title>${esc(c)} ${esc(s.name)}: ${v}</title></rect>`
          );
        })
        .join('');
    })
    .join('');
  const xTicks = o.categories.flatMap((c, i) =>
    i % every === 0 ? [{ v: i, px: f.left + (i + 0.5) * colW, text: c }] : [],
  );
  return `${open(o.title, f)}${axes(
    f,
    xTicks,
    yTicks.map((v) => ({ v, py: sy(v) })),
    o.xLabel,
    o.yLabel,
  )}${cols}${legend(o.series, f.width - f.right + 10, f.top + 14)}</svg>`;
}
