/**
 * The CI baseline: per study, each row's headline mean, std and per-seed values, and which paper
 * findings held, taken from a report of known-good results. One JSON file can hold several
 * studies (keyed by experiment name) so one `check` call gates a pose and a classification study.
 *
 * A missing baseline is a UsageError and a malformed one a DataError: both exit 2, never 1, so a
 * broken gate can't pass for a regression (or the other way round).
 */
import { existsSync, readFileSync } from 'node:fs';
import { DataError, UsageError } from '../errors.ts';
import { writeFileAtomic } from '../results/atomic.ts';
import { isObject } from './load.ts';
import type { ExperimentReport, Metric, Role, Task, Verdict } from './types.ts';

export const BASELINE_FORMAT = 'bnn-ablate-baseline@1';

export interface BaselineRow {
  key: string;
  label: string;
  role: Role;
  n: number;
  mean: number;
  /** Sample std over seeds; null for a single seed (then only --tolerance protects the row). */
  std: number | null;
  values: Record<string, number>;
}

export interface BaselineFinding {
  id: string;
  row: string;
  versus: string;
  rowLabel: string;
  versusLabel: string;
  verdict: Verdict;
  delta: number | null;
  se: number | null;
}

export interface BaselineExperiment {
  task: Task;
  metric: Metric;
  headline: string;
  preset: string | null;
  sets: string[];
  rows: BaselineRow[];
  findings: BaselineFinding[];
}

export interface BaselineFile {
  format: typeof BASELINE_FORMAT;
  createdAt: string;
  experiments: Record<string, BaselineExperiment>;
}

/** The gate-relevant part of a report: rows with at least one finished seed. */
export function baselineFromReport(report: ExperimentReport): BaselineExperiment {
  return {
    task: report.task,
    metric: report.metric,
    headline: report.headline,
    preset: report.preset,
    sets: report.sets,
    rows: report.rows.flatMap((row) => {
      const stat = row.columns[report.headline];
      if (!stat || stat.mean === null) return [];
      return [{ key: row.key, label: row.label, role: row.role, n: stat.n, mean: stat.mean, std: stat.std, values: row.values[report.headline] ?? {} }];
    }),
    findings: report.findings.map((f) => ({
      id: f.finding.id, row: f.row, versus: f.comparison.versus, rowLabel: f.rowLabel, versusLabel: f.comparison.versusLabel,
      verdict: f.verdict, delta: f.comparison.delta, se: f.comparison.se,
    })),
  };
}

export function readBaseline(path: string): BaselineFile {
  if (!existsSync(path)) throw new UsageError(`baseline ${path} does not exist (create it from known-good results with --update)`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DataError(`baseline ${path}: not valid JSON (${(err as Error).message})`);
  }
  const problem = validate(data);
  if (problem) throw new DataError(`baseline ${path}: ${problem}`);
  return data as BaselineFile;
}

/** Why `data` is not a baseline file, or undefined when it is one. */
function validate(data: unknown): string | undefined {
  if (!isObject(data)) return 'expected a JSON object';
  if (data.format !== BASELINE_FORMAT) return `format is ${JSON.stringify(data.format)}, expected "${BASELINE_FORMAT}"`;
  if (!isObject(data.experiments)) return 'missing "experiments" mapping';
  for (const [name, exp] of Object.entries(data.experiments)) {
    if (!isObject(exp) || !Array.isArray(exp.rows) || !Array.isArray(exp.findings) || typeof exp.headline !== 'string') {
      return `experiments.${name}: expected {headline, rows: [...], findings: [...]}`;
    }
    for (const [i, row] of (exp.rows as unknown[]).entries()) {
      if (!isObject(row) || typeof row.key !== 'string' || typeof row.mean !== 'number' || !Number.isFinite(row.mean)
        || !(row.std === null || (typeof row.std === 'number' && row.std >= 0)) || typeof row.n !== 'number') {
        return `experiments.${name}.rows[${i}]: expected {key, label, n, mean: number, std: number >= 0 | null}`;
      }
    }
    for (const [i, f] of (exp.findings as unknown[]).entries()) {
      if (!isObject(f) || typeof f.id !== 'string' || typeof f.row !== 'string' || typeof f.versus !== 'string' || typeof f.verdict !== 'string') {
        return `experiments.${name}.findings[${i}]: expected {id, row, versus, verdict}`;
      }
    }
  }
  return undefined;
}

/**
 * Writes `reports` as the new baseline for their studies, keeping the other studies an existing
 * file holds (so studies can be re-baselined one at a time). A malformed existing file is
 * replaced, not merged.
 */
export function updateBaseline(path: string, reports: ExperimentReport[], now = new Date()): BaselineFile {
  let previous: BaselineFile | undefined;
  try {
    previous = existsSync(path) ? readBaseline(path) : undefined;
  } catch {
    previous = undefined;
  }
  const file: BaselineFile = { format: BASELINE_FORMAT, createdAt: now.toISOString(), experiments: { ...previous?.experiments } };
  for (const report of reports) file.experiments[report.experiment] = baselineFromReport(report);
  writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`);
  return file;
}
