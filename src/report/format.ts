/** Number and cell formatting shared by the Markdown, the CSV and the check summary. */
import type { Comparison, ReportRow, Stat } from './types.ts';

/** Short PCKh column names, as the paper-style tables print them. */
export const SHORT_COLUMN: Record<string, string> = {
  Head: 'Head', Shoulder: 'Sho.', Elbow: 'Elb.', Wrist: 'Wri.', Hip: 'Hip', Knee: 'Knee', Ankle: 'Ank.', Mean: 'Mean',
  top1: 'Top-1', top5: 'Top-5',
};

export function fixed(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '' : value.toFixed(digits);
}

export function signed(value: number, digits = 2): string {
  const text = Math.abs(value).toFixed(digits);
  // "-0.00" and "+0.00" both read as noise; print an unsigned zero.
  if (Number(text) === 0) return text;
  return `${value > 0 ? '+' : '−'}${text}`;
}

/** "41.2 ± 0.8", "41.2" for one seed, "—" for none. */
export function statCell(stat: Stat | undefined): string {
  if (!stat || stat.mean === null) return '—';
  return stat.std === null ? fixed(stat.mean) : `${fixed(stat.mean)} ± ${fixed(stat.std)}`;
}

/** "+0.43 ± 0.21" (± = standard error), "†" when unpaired, "(1 seed)" when no SE exists. */
export function deltaCell(c: Comparison | undefined): string {
  if (!c || c.delta === null) return '—';
  const mark = c.method === 'unpaired' ? '†' : '';
  if (c.se === null) return `${signed(c.delta)}${mark} (no SE)`;
  return `${signed(c.delta)} ± ${fixed(c.se, 2)}${mark}`;
}

/** "3", or "2/3" when some planned seeds did not finish. */
export function nCell(row: ReportRow): string {
  return row.seeds.length === row.planned ? String(row.planned) : `${row.seeds.length}/${row.planned}`;
}

/** Escapes what would break a Markdown table cell. */
export function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function mdTable(header: string[], rows: string[][], align?: Array<'l' | 'r'>): string {
  const sep = header.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  const line = (cells: string[]) => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(header), `|${sep.join('|')}|`, ...rows.map(line)].join('\n');
}
