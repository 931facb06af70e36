/**
 * The `report` and `check` commands' work, apart from their yargs modules (cli/ holds no logic)
 * and free of process globals except where a command's contract needs them
 * ($GITHUB_STEP_SUMMARY), so tests call them directly.
 */
import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DataError, UsageError } from '../errors.ts';
import { writeFileAtomic } from '../results/atomic.ts';
import { buildReport } from './build.ts';
import { readBaseline, updateBaseline } from './baseline.ts';
import { checkExperiment, checkSummaryMarkdown, junitXml, type CheckCase, type CheckOptions } from './check.ts';
import { loadResults } from './load.ts';
import { fixed } from './format.ts';
import { powerDefinitions, powerTable } from './markdown.ts';
import { powerAnalysis, type PowerRow } from './power.ts';
import { combinedDir, resolveTargets } from './resolve.ts';
import { writeCombinedReport, writeExperimentReport, type WrittenReport } from './write.ts';

export interface ReportOptions {
  targets: string[];
  resultsDir?: string;
  /** Folder of the combined report (default: see combinedDir). */
  out?: string;
  plots?: boolean;
  png?: boolean;
  cwd?: string;
}

export interface ReportOutcome {
  /** What the command prints: the study's report, or the combined one. */
  markdown: string;
  files: string[];
  written: WrittenReport[];
}

export async function runReport(options: ReportOptions): Promise<ReportOutcome> {
  const cwd = options.cwd ?? process.cwd();
  const resultsDir = options.resultsDir ?? 'results';
  const targets = await resolveTargets(options.targets, { resultsDir, cwd });
  if (targets.dirs.length === 0) {
    throw new DataError(`no results yet for ${targets.suite ? `suite '${targets.suite}' (${targets.missing.join(', ')})` : options.targets.join(', ')}; run the studies first`);
  }
  const written: WrittenReport[] = [];
  for (const dir of targets.dirs) written.push(await writeExperimentReport(loadResults(dir), { plots: options.plots, png: options.png }));
  const files = written.flatMap((w) => w.files);
  if (written.length === 1 && !targets.suite) return { markdown: written[0]!.markdown, files, written };
  const outDir = options.out ? resolve(cwd, options.out) : combinedDir(targets, resultsDir, cwd);
  const title = targets.suite ? `bnn-ablate report: ${targets.suite}` : 'bnn-ablate report';
  const combined = writeCombinedReport(title, written, outDir, targets.missing, options.png !== false);
  return { markdown: combined.markdown, files: [...combined.files, ...files], written };
}

export interface CheckRunOptions extends Partial<CheckOptions> {
  targets: string[];
  baseline: string;
  resultsDir?: string;
  junit?: string;
  update?: boolean;
  cwd?: string;
  /** Where to append the summary; defaults to $GITHUB_STEP_SUMMARY. */
  stepSummary?: string;
}

export interface CheckOutcome {
  markdown: string;
  cases: CheckCase[];
  failures: number;
  files: string[];
}

export async function runCheck(options: CheckRunOptions): Promise<CheckOutcome> {
  const cwd = options.cwd ?? process.cwd();
  const sigma = options.sigma ?? 2;
  const tolerance = options.tolerance ?? 0;
  if (!(Number.isFinite(sigma) && sigma >= 0)) throw new UsageError(`--sigma must be a number >= 0, got ${sigma}`);
  if (!(Number.isFinite(tolerance) && tolerance >= 0)) throw new UsageError(`--tolerance must be a number of points >= 0, got ${tolerance}`);
  const baselinePath = resolve(cwd, options.baseline);
  // A missing baseline is reported before any results are read: it is the likelier mistake.
  const baseline = options.update ? undefined : readBaseline(baselinePath);
  const targets = await resolveTargets(options.targets, { resultsDir: options.resultsDir ?? 'results', cwd });
  if (targets.dirs.length === 0) throw new DataError(`no results to check for ${options.targets.join(', ')}`);
  // A gate that silently skips a study it was asked about would pass for the wrong reason.
  if (targets.missing.length) throw new DataError(`no results folder for ${targets.missing.join(', ')}; run ${targets.missing.length === 1 ? 'it' : 'them'} before checking`);
  const reports = targets.dirs.map((dir) => buildReport(loadResults(dir)));

  if (options.update) {
    const file = updateBaseline(baselinePath, reports);
    const lines = [`## bnn-ablate check --update`, '', `Wrote \`${options.baseline}\` (${reports.length} ${reports.length === 1 ? 'study' : 'studies'}):`, ''];
    for (const r of reports) {
      const base = file.experiments[r.experiment]!;
      const thin = base.rows.filter((row) => row.n < 3).length;
      lines.push(`- ${r.experiment}: ${base.rows.length} rows, ${base.findings.filter((f) => f.verdict === 'reproduced').length} of ${base.findings.length} findings held${thin ? `; ${thin} row(s) with fewer than 3 seeds (their std is weak or absent)` : ''}`);
      for (const row of base.rows) lines.push(`  - ${row.label}: ${fixed(row.mean, 2)}${row.std === null ? '' : ` ± ${fixed(row.std, 2)}`} (n=${row.n})`);
    }
    return { markdown: `${lines.join('\n')}\n`, cases: [], failures: 0, files: [baselinePath] };
  }

  const cases: CheckCase[] = [];
  const notes: string[] = [];
  for (const report of reports) {
    const base = baseline!.experiments[report.experiment];
    if (!base) throw new DataError(`baseline ${options.baseline} has no entry for '${report.experiment}' (it has: ${Object.keys(baseline!.experiments).join(', ') || 'none'}); add one with --update`);
    cases.push(...checkExperiment(report, base, { sigma, tolerance }));
    for (const e of report.excluded) if (e.status === 'failed') notes.push(`${report.experiment}: run ${e.name} failed: ${e.error ?? 'no error recorded'}`);
  }
  const markdown = checkSummaryMarkdown(cases, { baseline: options.baseline, options: { sigma, tolerance }, notes });
  const files: string[] = [];
  if (options.junit) {
    const path = resolve(cwd, options.junit);
    writeFileAtomic(path, junitXml(cases));
    files.push(path);
  }
  const summary = options.stepSummary ?? process.env.GITHUB_STEP_SUMMARY;
  // Appended, not replaced: every step of a job adds to the same summary file.
  if (summary) appendFileSync(summary, `${markdown}\n`);
  return { markdown, cases, failures: cases.filter((c) => c.status === 'fail').length, files };
}

export interface PowerOptions {
  targets: string[];
  resultsDir?: string;
  /** Target Δ in points for every comparison (default: the paper's Δ, else 1 point). */
  delta?: number;
  cwd?: string;
}

export interface PowerOutcome {
  markdown: string;
  json: { format: string; delta: number | null; experiments: Array<{ experiment: string; task: string; headline: string; power: PowerRow[] }> };
}

/** `bnn-ablate power`: the power section of the report, alone, for one or more studies. */
export async function runPower(options: PowerOptions): Promise<PowerOutcome> {
  const { delta } = options;
  if (delta !== undefined && !(Number.isFinite(delta) && delta > 0)) throw new UsageError(`--delta must be a number of points > 0, got ${delta}`);
  const cwd = options.cwd ?? process.cwd();
  const targets = await resolveTargets(options.targets, { resultsDir: options.resultsDir ?? 'results', cwd });
  if (targets.dirs.length === 0) throw new DataError(`no results yet for ${options.targets.join(', ')}; run the studies first`);
  const experiments = targets.dirs.map((dir) => {
    const report = buildReport(loadResults(dir));
    return { experiment: report.experiment, task: report.task, headline: report.headline, power: powerAnalysis(report, delta) };
  });
  const lines: string[] = [];
  for (const e of experiments) {
    lines.push(`## ${e.experiment} (${e.task}, Δ of ${e.headline})`, '');
    lines.push(e.power.length ? powerTable(e.power) : 'No comparison: the study has no baseline row with finished runs to compare against.', '');
  }
  if (targets.missing.length) lines.push(`Not run yet (no results folder): ${targets.missing.join(', ')}.`, '');
  lines.push(...powerDefinitions());
  return { markdown: `${lines.join('\n')}\n`, json: { format: 'bnn-ablate-power@1', delta: delta ?? null, experiments } };
}
