/**
 * report.csv: one line per row (teachers included, marked by `role`), every number as a plain
 * value for spreadsheets and scripts (rounded to 4 decimals so reruns diff cleanly).
 */
import { stringify } from 'csv-stringify/sync';
import { canonicalJson } from '../config/canonical.ts';
import type { ExperimentReport } from './types.ts';

type Cell = string | number | boolean | null;

const round = (v: number | null | undefined): Cell => (v === null || v === undefined || !Number.isFinite(v) ? null : Number(v.toFixed(4)));

/** Records (column → value) of one report; `csvText` turns any number of them into CSV. */
export function csvRecords(report: ExperimentReport): Array<Record<string, Cell>> {
  // Every row gets every param column, so teachers' extra keys do not land after the metrics.
  const paramKeys = [...new Set(report.rows.flatMap((r) => Object.keys(r.params)))].filter((k) => k !== 'role');
  return report.rows.map((row) => {
    const rec: Record<string, Cell> = {
      experiment: report.experiment,
      setting: row.label,
      role: row.role,
      n: row.seeds.length,
      planned: row.planned,
      seeds: row.seeds.join(';'),
    };
    for (const key of paramKeys) {
      const value = row.params[key];
      rec[`param:${key}`] = value === undefined ? null : typeof value === 'object' ? canonicalJson(value) : (value as Cell);
    }
    for (const column of report.columns) {
      rec[`${column}_mean`] = round(row.columns[column]?.mean);
      rec[`${column}_std`] = round(row.columns[column]?.std);
    }
    const c = row.comparison;
    const power = c && report.power.find((p) => p.comparison === c);
    Object.assign(rec, {
      versus: c?.versusLabel ?? null,
      delta: round(c?.delta),
      delta_se: round(c?.se),
      delta_n: c ? c.n : null,
      delta_method: c?.method ?? null,
      stage_budget: row.stageBudget,
      delta_sd: round(c?.sd),
      mde_2se: round(power?.mde2se),
      mde_t95: round(power?.mdeT),
      mde_power80: round(power?.mde80),
      paper_finding: row.finding?.finding.id ?? null,
      paper_delta: row.finding ? round(row.finding.finding.delta) : null,
      paper_qualifier: row.finding?.finding.qualifier ?? null,
      paper_sign: row.finding ? (row.finding.finding.sign > 0 ? '+' : '-') : null,
      paper_source: row.finding?.finding.source ?? null,
      verdict: row.finding?.verdict ?? null,
      wall_s_mean: round(row.wallS.mean),
      images_per_s_mean: round(row.imagesPerS.mean),
    });
    return rec;
  });
}

/** CSV of records with possibly different keys: the header is the union, in first-seen order. */
export function csvText(records: Array<Record<string, Cell>>): string {
  const columns: string[] = [];
  for (const rec of records) for (const key of Object.keys(rec)) if (!columns.includes(key)) columns.push(key);
  return stringify(records, { header: true, columns, // csv-stringify writes false as an empty cell by default: spell booleans out.
    cast: { number: (v) => String(v), boolean: (v) => String(v) } });
}

export function renderCsv(report: ExperimentReport): string {
  return csvText(csvRecords(report));
}
