/**
 * The little SVG the plots need: linear and log scales, "nice" ticks, escaped text and a colour
 * palette. Plain strings, no DOM: a plot is a function from numbers to markup.
 */

/** Tableau 10: distinguishable, and readable by most colour-blind people. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export const FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"';

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Rounds for markup: 2 decimals is sub-pixel and keeps the files small and stable. */
export function r2(v: number): string {
  return String(Math.round(v * 100) / 100);
}

export interface Scale {
  (v: number): number;
  ticks: number[];
  format: (v: number) => string;
}

/** Ticks at 1, 2 or 5 × 10^k covering [min, max]; the domain is widened to the outer ticks. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  // A range of a few ulps (means of equal values) counts as flat: its step would be so small that
  // the tick indices pass 2^53 and the loop below never ends.
  if (!(max - min > 1e-9 * Math.max(Math.abs(min), Math.abs(max)))) { const pad = Math.abs(min) * 0.1 || 1; min -= pad; max += pad; }
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  // Integer multiples of the step, so float drift never adds or drops a tick.
  const start = Math.floor(min / step + 1e-9), end = Math.max(Math.ceil(max / step - 1e-9), start + 1);
  const ticks: number[] = [];
  for (let i = start; i <= end; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

function tickFormat(ticks: number[]): (v: number) => string {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : 1;
  const digits = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return (v) => v.toFixed(digits);
}

/** Maps [min, max] (widened to nice ticks) onto [from, to] pixels. */
export function linearScale(min: number, max: number, from: number, to: number, count = 5): Scale {
  const ticks = niceTicks(min, max, count);
  const lo = ticks[0]!, hi = ticks[ticks.length - 1]!;
  const scale = ((v: number) => from + ((v - lo) / (hi - lo)) * (to - from)) as Scale;
  scale.ticks = ticks;
  scale.format = tickFormat(ticks);
  return scale;
}

/** Log10 scale (for losses that fall by decades), ticks at 1, 2, 5 × 10^k. */
export function logScale(min: number, max: number, from: number, to: number): Scale {
  const lo = Math.floor(Math.log10(min)), hi = Math.ceil(Math.log10(max));
  const span = Math.max(1, hi - lo);
  const scale = ((v: number) => from + ((Math.log10(v) - lo) / span) * (to - from)) as Scale;
  const mults = span <= 2 ? [1, 2, 5] : [1];
  scale.ticks = [];
  for (let k = lo; k <= lo + span; k++) for (const m of mults) if (m * 10 ** k <= 10 ** (lo + span)) scale.ticks.push(m * 10 ** k);
  scale.format = (v) => (v >= 0.01 && v < 1e4 ? String(Number(v.toPrecision(3))) : v.toExponential(0));
  return scale;
}

export function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${r2(x)}" y="${r2(y)}" ${attrs}>${esc(content)}</text>`;
}

export function line(x1: number, y1: number, x2: number, y2: number, attrs = ''): string {
  return `<line x1="${r2(x1)}" y1="${r2(y1)}" x2="${r2(x2)}" y2="${r2(y2)}" ${attrs}/>`;
}

export function polyline(points: Array<[number, number]>, attrs = ''): string {
  return `<polyline points="${points.map(([x, y]) => `${r2(x)},${r2(y)}`).join(' ')}" fill="none" ${attrs}/>`;
}

/** A closed band between an upper and a lower edge, both given left to right. */
export function band(upper: Array<[number, number]>, lower: Array<[number, number]>, attrs = ''): string {
  const pts = [...upper, ...[...lower].reverse()];
  return `<polygon points="${pts.map(([x, y]) => `${r2(x)},${r2(y)}`).join(' ')}" ${attrs}/>`;
}

/** A plot frame with grid lines and tick labels on the left (y) and bottom (x) axes. */
export function frame(box: { x: number; y: number; w: number; h: number }, xs: Scale, ys: Scale, labels: { title: string; x: string; y: string }): string {
  const parts: string[] = [`<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" fill="none" stroke="#888"/>`];
  for (const t of ys.ticks) {
    const y = ys(t);
    parts.push(line(box.x, y, box.x + box.w, y, 'stroke="#e4e4e4"'), text(box.x - 6, y + 4, ys.format(t), `${FONT} font-size="11" text-anchor="end" fill="#444"`));
  }
  for (const t of xs.ticks) {
    const x = xs(t);
    parts.push(line(x, box.y, x, box.y + box.h, 'stroke="#f0f0f0"'), text(x, box.y + box.h + 15, xs.format(t), `${FONT} font-size="11" text-anchor="middle" fill="#444"`));
  }
  parts.push(
    text(box.x + box.w / 2, box.y - 10, labels.title, `${FONT} font-size="14" font-weight="bold" text-anchor="middle"`),
    text(box.x + box.w / 2, box.y + box.h + 32, labels.x, `${FONT} font-size="12" text-anchor="middle" fill="#333"`),
    `<text transform="translate(${r2(box.x - 48)},${r2(box.y + box.h / 2)}) rotate(-90)" ${FONT} font-size="12" text-anchor="middle" fill="#333">${esc(labels.y)}</text>`,
  );
  return parts.join('\n');
}

export function svgDocument(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
