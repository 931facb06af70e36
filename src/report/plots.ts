/**
 * Figures per study, as SVG (diffable, small) and PNG (for people; sharp rasterises the SVG):
 * - curves: training loss (solid; validation loss dashed) and the metric over steps, one colour per
 *   row, the mean over seeds with a ±std band;
 * - bars: the headline metric per row (bar = mean, whisker = ±std, dots = seeds) beside Δ vs the
 *   baseline row with ±2 SE whiskers (the verdict's bar) and the paper's Δ as a diamond where known;
 * - binary (studies with binary runs): the binary-network diagnostics over steps — flip ratio per
 *   evaluation interval, the +1 share at binary layer inputs (least and most balanced layer),
 *   mean |W|, the clipped share, and progressive runs' soft/hard agreement.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../results/atomic.ts';
import { rowKey } from './build.ts';
import { sampleStd } from './stats.ts';
import { band, esc, FONT, frame, line, linearScale, logScale, PALETTE, polyline, r2, svgDocument, text, type Scale } from './svg.ts';
import type { ExperimentReport, LoadedExperiment, MetricRecord, ReportRow } from './types.ts';

interface CurvePoint { step: number; mean: number; std: number | null }

/** Mean and std over seeds of one field (or a value read from each record) at each evaluated step. */
export function curve(runs: Array<{ metrics: MetricRecord[] }>, field: keyof MetricRecord | ((m: MetricRecord) => unknown)): CurvePoint[] {
  const bySteps = new Map<number, number[]>();
  const read = typeof field === 'function' ? field : (m: MetricRecord) => m[field];
  for (const run of runs) {
    for (const m of run.metrics) {
      const v = read(m);
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const list = bySteps.get(m.step) ?? [];
      list.push(v);
      bySteps.set(m.step, list);
    }
  }
  return [...bySteps].sort((a, b) => a[0] - b[0]).map(([step, vs]) => ({ step, mean: vs.reduce((a, b) => a + b, 0) / vs.length, std: sampleStd(vs) }));
}

const color = (i: number) => PALETTE[i % PALETTE.length]!;

/** `bounds`: the values the quantity can take (percentages: 0..100), so a ±std band never leaves them. */
function panel(box: { x: number; y: number; w: number; h: number }, series: Array<{ points: CurvePoint[]; dashed?: CurvePoint[] }>, title: string, yLabel: string, bounds: [number, number] = [-Infinity, Infinity]): string {
  const all = series.flatMap((s) => [...s.points, ...(s.dashed ?? [])]);
  if (all.length === 0) return text(box.x + box.w / 2, box.y + box.h / 2, `${title}: no evaluations recorded`, `${FONT} font-size="13" text-anchor="middle" fill="#888"`);
  const clamp = (v: number) => Math.min(bounds[1], Math.max(bounds[0], v));
  let lo = clamp(Math.min(...all.map((p) => p.mean - (p.std ?? 0)))), hi = clamp(Math.max(...all.map((p) => p.mean + (p.std ?? 0))));
  // A flat series gets a padded axis, kept inside the bounds (a share stuck at 0 reads 0..1, not −1..1).
  if (!(hi > lo)) { const pad = Math.abs(lo) * 0.1 || 1; [lo, hi] = [Math.max(bounds[0], lo - pad), Math.min(bounds[1], hi + pad)]; }
  const positive = all.every((p) => p.mean > 0);
  const useLog = positive && Math.max(...all.map((p) => p.mean)) / Math.min(...all.map((p) => p.mean)) > 20;
  const ys: Scale = useLog
    ? logScale(Math.min(...all.map((p) => p.mean)), Math.max(...all.map((p) => p.mean)), box.y + box.h, box.y)
    : linearScale(lo, hi, box.y + box.h, box.y);
  const xs = linearScale(0, Math.max(...all.map((p) => p.step)), box.x, box.x + box.w, 6);
  const yMin = useLog ? ys.ticks[0]! : -Infinity;
  const pt = (step: number, v: number): [number, number] => [xs(step), ys(Math.max(clamp(v), yMin))];
  const parts = [frame(box, xs, ys, { title, x: 'step', y: useLog ? `${yLabel} (log scale)` : yLabel })];
  series.forEach((s, i) => {
    if (s.points.some((p) => p.std !== null)) {
      parts.push(band(s.points.map((p) => pt(p.step, p.mean + (p.std ?? 0))), s.points.map((p) => pt(p.step, p.mean - (p.std ?? 0))), `fill="${color(i)}" fill-opacity="0.18" stroke="none"`));
    }
    if (s.dashed?.length) parts.push(polyline(s.dashed.map((p) => pt(p.step, p.mean)), `stroke="${color(i)}" stroke-width="1.5" stroke-dasharray="5,3"`));
    if (s.points.length === 1) parts.push(`<circle cx="${r2(xs(s.points[0]!.step))}" cy="${r2(ys(s.points[0]!.mean))}" r="3" fill="${color(i)}"/>`);
    else if (s.points.length > 1) parts.push(polyline(s.points.map((p) => pt(p.step, p.mean)), `stroke="${color(i)}" stroke-width="2"`));
  });
  return parts.join('\n');
}

function legend(rows: ReportRow[], x: number, y: number, width: number): { svg: string; height: number } {
  // ~6.2 px per character at 11 px: columns as wide as the longest label, so entries never overlap.
  const colW = Math.min(width, Math.max(200, 40 + 6.2 * Math.max(0, ...rows.map((r) => `${r.label} (n=${r.seeds.length})`.length))));
  const perLine = Math.max(1, Math.floor(width / colW));
  const parts = rows.map((row, i) => {
    const cx = x + (i % perLine) * colW, cy = y + Math.floor(i / perLine) * 18;
    return `<rect x="${cx}" y="${cy - 9}" width="14" height="10" fill="${color(i)}"/>${text(cx + 20, cy, `${row.label} (n=${row.seeds.length})`, `${FONT} font-size="11"`)}`;
  });
  return { svg: parts.join('\n'), height: Math.ceil(rows.length / perLine) * 18 };
}

export function curvesSvg(report: ExperimentReport, exp: LoadedExperiment): string {
  const done = exp.runs.filter((r) => r.status === 'done');
  const runsOf = (row: ReportRow) => done.filter((r) => rowKey(r) === row.key);
  const field = report.metric === 'top1' ? 'top1' : 'pckh';
  const metricName = report.metric === 'top1' ? 'top-1 (%)' : 'PCKh Mean (%)';
  const W = 980, top = 64, h = 280;
  const loss = panel({ x: 80, y: top, w: 380, h }, report.rows.map((row) => ({ points: curve(runsOf(row), 'loss'), dashed: curve(runsOf(row), 'val_loss') })), 'Loss (solid: train, dashed: validation)', 'loss');
  const metric = panel({ x: 580, y: top, w: 380, h }, report.rows.map((row) => ({ points: curve(runsOf(row), field) })), `Validation ${metricName}`, metricName, [0, 100]);
  const key = legend(report.rows, 80, top + h + 62, W - 100);
  const title = text(W / 2, 22, `${report.experiment}: training curves (mean over seeds, band = ±std)`, `${FONT} font-size="15" text-anchor="middle"`);
  return svgDocument(W, top + h + 70 + key.height, [title, loss, metric, key.svg]);
}

type DiagField = keyof NonNullable<MetricRecord['diag']>;

/** The binary-diagnostics figure, or undefined when no finished run recorded diagnostics (all real). */
export function binarySvg(report: ExperimentReport, exp: LoadedExperiment): string | undefined {
  const done = exp.runs.filter((r) => r.status === 'done');
  if (!done.some((r) => r.metrics.some((m) => m.diag))) return undefined;
  const runsOf = (row: ReportRow) => done.filter((r) => rowKey(r) === row.key);
  const of = (f: DiagField) => (m: MetricRecord) => m.diag?.[f];
  const series = (solid: DiagField, dashed?: DiagField) => report.rows.map((row) => ({
    points: curve(runsOf(row), of(solid)), ...(dashed ? { dashed: curve(runsOf(row), of(dashed)) } : {}),
  }));
  const W = 1180, top = 64, h = 230, gap = 90;
  const box = (col: number, rowIdx: number) => ({ x: 80 + col * 370, y: top + rowIdx * (h + gap), w: 290, h });
  const panels = [
    panel(box(0, 0), series('flip_ratio'), 'Flip ratio (per evaluation interval)', 'fraction of signs changed', [0, 1]),
    panel(box(1, 0), series('input_plus_min', 'input_plus_max'), '+1 share at inputs (min, dashed: max layer)', 'fraction of +1', [0, 1]),
    panel(box(2, 0), series('mean_abs_w'), 'Latent weights: mean |W|', 'mean |W|', [0, Infinity]),
    panel(box(0, 1), series('clipped'), 'Latent weights with |W| ≥ 1', 'fraction', [0, 1]),
    panel(box(1, 1), series('soft_agree_w', 'soft_agree_x'), 'Progressive: f(λ·) at ±1 (W, dashed: inputs)', 'fraction', [0, 1]),
  ];
  const key = legend(report.rows, 80 + 2 * 370, top + h + gap + 20, 330);
  const title = text(W / 2, 22, `${report.experiment}: binary-network diagnostics (mean over seeds, band = ±std)`, `${FONT} font-size="15" text-anchor="middle"`);
  return svgDocument(W, Math.max(top + 2 * h + gap + 60, top + h + gap + 30 + key.height), [title, ...panels, key.svg]);
}

export function barsSvg(report: ExperimentReport): string {
  const rows = report.rows;
  const headline = report.headline;
  const headName = report.metric === 'top1' ? 'Top-1' : 'PCKh Mean';
  const labelW = Math.min(340, 12 + Math.max(60, ...rows.map((r) => r.label.length * 6.6)));
  const rowH = 26, top = 64, plotH = Math.max(1, rows.length) * rowH;
  const left = { x: labelW + 10, w: 320 }, right = { x: labelW + 10 + 320 + 50, w: 260 };
  const W = right.x + right.w + 30, H = top + plotH + 56;
  const yOf = (i: number) => top + i * rowH + rowH / 2;

  const seedValues = rows.flatMap((r) => Object.values(r.values[headline] ?? {}));
  const hi = Math.max(1, ...seedValues, ...rows.map((r) => (r.columns[headline]?.mean ?? 0) + (r.columns[headline]?.std ?? 0)));
  const xs = linearScale(0, hi, left.x, left.x + left.w, 5);
  const deltas = rows.flatMap((r) => {
    const c = r.comparison;
    const out = c?.delta == null ? [] : [c.delta - 2 * (c.se ?? 0), c.delta + 2 * (c.se ?? 0)];
    if (r.finding?.finding.delta != null) out.push(r.finding.finding.delta);
    return out;
  });
  const span = Math.max(1, ...deltas.map(Math.abs));
  const ds = linearScale(-span, span, right.x, right.x + right.w, 6);

  const parts: string[] = [
    text(W / 2, 22, `${report.experiment}: ${headName} per setting`, `${FONT} font-size="15" text-anchor="middle"`),
    text(left.x + left.w / 2, top - 14, `${headName} (bar = mean, whisker = ±std, dots = seeds)`, `${FONT} font-size="12" text-anchor="middle"`),
    text(right.x + right.w / 2, top - 14, `Δ vs baseline (whisker = ±2 SE; ◇ = paper)`, `${FONT} font-size="12" text-anchor="middle"`),
  ];
  for (const [scale, box] of [[xs, left], [ds, right]] as const) {
    for (const t of scale.ticks) {
      parts.push(line(scale(t), top, scale(t), top + plotH, `stroke="${t === 0 && scale === ds ? '#666' : '#e4e4e4'}"`),
        text(scale(t), top + plotH + 16, scale.format(t), `${FONT} font-size="11" text-anchor="middle" fill="#444"`));
    }
    parts.push(`<rect x="${r2(box.x)}" y="${top}" width="${box.w}" height="${plotH}" fill="none" stroke="#888"/>`);
  }
  parts.push(text(left.x + left.w / 2, top + plotH + 36, `${report.metric === 'top1' ? 'top-1' : 'PCKh'} (%)`, `${FONT} font-size="12" text-anchor="middle" fill="#333"`),
    text(right.x + right.w / 2, top + plotH + 36, 'points', `${FONT} font-size="12" text-anchor="middle" fill="#333"`));

  rows.forEach((row, i) => parts.push(...barRow(row, i, { y: yOf(i), labelW, leftX: left.x, xs, ds, headline })));
  return svgDocument(W, H, parts);
}

/** One setting's row of the bar chart: label, bar with ±std and seed dots, Δ with ±2 SE, the paper's Δ. */
function barRow(row: ExperimentReport['rows'][number], i: number, at: { y: number; labelW: number; leftX: number; xs: Scale; ds: Scale; headline: string }): string[] {
  const { y, xs, ds } = at;
  const parts: string[] = [];
  const stat = row.columns[at.headline];
  parts.push(text(at.labelW, y + 4, row.label, `${FONT} font-size="12" text-anchor="end" ${row.role === 'baseline' ? 'font-weight="bold"' : ''}`));
  if (stat?.mean != null) {
    parts.push(`<rect x="${r2(xs(0))}" y="${r2(y - 8)}" width="${r2(Math.max(0, xs(stat.mean) - xs(0)))}" height="16" fill="${color(i)}" fill-opacity="${row.role === 'teacher' ? 0.4 : 0.85}"/>`);
    if (stat.std !== null) parts.push(line(xs(stat.mean - stat.std), y, xs(stat.mean + stat.std), y, 'stroke="#222" stroke-width="1.5"'));
    for (const v of Object.values(row.values[at.headline] ?? {})) parts.push(`<circle cx="${r2(xs(v))}" cy="${r2(y)}" r="2.5" fill="white" stroke="#222"/>`);
  } else {
    parts.push(text(at.leftX + 6, y + 4, 'no finished run', `${FONT} font-size="11" fill="#888"`));
  }
  const c = row.comparison;
  if (row.role === 'baseline') parts.push(text(ds(0), y + 4, 'baseline', `${FONT} font-size="11" text-anchor="middle" fill="#666"`));
  else if (c?.delta != null) {
    if (c.se !== null) parts.push(line(ds(c.delta - 2 * c.se), y, ds(c.delta + 2 * c.se), y, `stroke="${color(i)}" stroke-width="2"`));
    parts.push(`<circle cx="${r2(ds(c.delta))}" cy="${r2(y)}" r="4" fill="${color(i)}"/>`);
  }
  const paper = row.finding?.finding.delta;
  if (paper != null) {
    const px = ds(paper);
    parts.push(`<polygon points="${r2(px)},${r2(y - 6)} ${r2(px + 6)},${r2(y)} ${r2(px)},${r2(y + 6)} ${r2(px - 6)},${r2(y)}" fill="none" stroke="#111" stroke-width="1.5"><title>${esc(`paper: ${paper}`)}</title></polygon>`);
  }
  return parts;
}

/** PNG of an SVG at twice its size; sharp is loaded only here (it is heavy, and --help must be fast). */
export async function renderPng(svg: string): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp(Buffer.from(svg), { density: 144 }).png({ compressionLevel: 9 }).toBuffer();
}

export interface PlotFiles {
  /** Paths relative to the experiment folder. */
  curves: { svg: string; png: string };
  bars: { svg: string; png: string };
  /** Present when some run recorded binary-network diagnostics. */
  binary?: { svg: string; png: string };
}

/** Writes plots/{curves,bars,binary}.{svg,png} under the study's results folder, each atomically. */
export async function writePlots(report: ExperimentReport, exp: LoadedExperiment, options: { png?: boolean } = {}): Promise<PlotFiles> {
  const paths = (name: string) => ({ svg: `plots/${name}.svg`, png: `plots/${name}.png` });
  const files: PlotFiles = { curves: paths('curves'), bars: paths('bars') };
  const svgs: Partial<Record<keyof PlotFiles, string>> = { curves: curvesSvg(report, exp), bars: barsSvg(report), binary: binarySvg(report, exp) };
  if (svgs.binary !== undefined) files.binary = paths('binary');
  for (const name of ['curves', 'bars', 'binary'] as const) {
    const svg = svgs[name], target = files[name];
    if (svg === undefined || target === undefined) continue;
    writeFileAtomic(join(report.dir, target.svg), svg);
    if (options.png !== false) writeFileAtomic(join(report.dir, target.png), await renderPng(svg));
  }
  return files;
}
