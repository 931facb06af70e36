/**
 * Writes a study's report.md, report.csv, report.json and plots into its results folder, and the
 * combined report of several studies (e.g. the `paper` suite) into a folder of its own. Every file
 * is written atomically: a reader (or a CI artifact upload) never sees half a report.
 */
import { join, relative } from 'node:path';
import { writeFileAtomic } from '../results/atomic.ts';
import { buildReport } from './build.ts';
import { csvRecords, csvText, renderCsv } from './csv.ts';
import { findingsTable, metricDefinition, powerDefinitions, STAGES_DEFINITION, statDefinitions, renderExperimentMarkdown, sourceLines, sourceNumbers, type PlotLinks } from './markdown.ts';
import { writePlots, type PlotFiles } from './plots.ts';
import type { ExperimentReport, LoadedExperiment } from './types.ts';

export const REPORT_FILES = { md: 'report.md', csv: 'report.csv', json: 'report.json' } as const;
export const REPORT_FORMAT = 'bnn-ablate-report@1';

export interface WriteOptions {
  /** Draw the plots (default true); `png: false` keeps only the SVGs (no sharp). */
  plots?: boolean;
  png?: boolean;
}

export interface WrittenReport {
  report: ExperimentReport;
  markdown: string;
  plots?: PlotFiles;
  files: string[];
}

/** The report as JSON: everything but the absolute folder, so it is the same on every machine. */
export function reportJson(report: ExperimentReport, plots?: PlotFiles): Record<string, unknown> {
  const { dir: _dir, ...rest } = report;
  return { format: REPORT_FORMAT, ...rest, ...(plots ? { plots } : {}) };
}

function links(plots: PlotFiles | undefined, png: boolean, prefix = ''): PlotLinks {
  if (!plots) return {};
  const pick = (p: { svg: string; png: string }) => join(prefix, png ? p.png : p.svg);
  return { curves: pick(plots.curves), bars: pick(plots.bars), ...(plots.binary ? { binary: pick(plots.binary) } : {}) };
}

export async function writeExperimentReport(exp: LoadedExperiment, options: WriteOptions = {}): Promise<WrittenReport> {
  const report = buildReport(exp);
  const png = options.png !== false;
  const plots = options.plots === false ? undefined : await writePlots(report, exp, { png });
  const markdown = renderExperimentMarkdown(report, { plots: links(plots, png) });
  const out = (name: string) => join(report.dir, name);
  writeFileAtomic(out(REPORT_FILES.md), markdown);
  writeFileAtomic(out(REPORT_FILES.csv), renderCsv(report));
  writeFileAtomic(out(REPORT_FILES.json), `${JSON.stringify(reportJson(report, plots), null, 2)}\n`);
  const files = [REPORT_FILES.md, REPORT_FILES.csv, REPORT_FILES.json].map(out);
  if (plots) for (const p of [plots.curves, plots.bars, ...(plots.binary ? [plots.binary] : [])]) files.push(out(p.svg), ...(png ? [out(p.png)] : []));
  return { report, markdown, plots, files };
}

/**
 * One document for several studies: a summary of every paper finding across them, then each
 * study's section (plots linked relative to `outDir`). Studies that were never run are named.
 */
export function renderCombinedMarkdown(title: string, written: WrittenReport[], outDir: string, missing: string[] = [], png = true): string {
  const findings = written.flatMap((w) => w.report.findings.map((f) => ({ f, experiment: w.report.experiment })));
  const sources = sourceNumbers(findings.map(({ f }) => f.finding));
  const out = [`# ${title}`, ''];
  out.push(`${written.length} ${written.length === 1 ? 'study' : 'studies'}: ${written.map((w) => w.report.experiment).join(', ')}.`);
  if (missing.length) out.push(`Not run yet (no results folder): ${missing.join(', ')}.`);
  out.push('');
  if (findings.length) {
    out.push('## Paper findings across studies', '');
    // One table: rows of different studies, each Δ measured within its own study.
    const rows = findings.map(({ f, experiment }) => findingsTable([f], sources, experiment).split('\n').slice(2)).flat();
    const header = findingsTable([], sources, '').split('\n').slice(0, 2);
    out.push([...header, ...rows].join('\n'), '');
  }
  for (const w of written) {
    const prefix = relative(outDir, w.report.dir);
    out.push(renderExperimentMarkdown(w.report, { level: 2, plots: links(w.plots, png, prefix), sources, standalone: false }));
  }
  if (sources.size) out.push('## Sources', '', ...sourceLines(findings.map(({ f }) => f.finding), sources), '');
  const definitions = written.map((w) => metricDefinition(w.report));
  out.push('## Definitions', '', ...new Set(definitions), ...statDefinitions('(PCKh Mean or top-1)'));
  if (written.some((w) => w.report.rows.some((r) => r.stageBudget !== null))) out.push(STAGES_DEFINITION);
  if (written.some((w) => w.report.power.length)) out.push(...powerDefinitions());
  out.push('');
  return `${out.join('\n').trimEnd()}\n`;
}

export function writeCombinedReport(title: string, written: WrittenReport[], outDir: string, missing: string[] = [], png = true): { markdown: string; files: string[] } {
  const markdown = renderCombinedMarkdown(title, written, outDir, missing, png);
  const files = [REPORT_FILES.md, REPORT_FILES.csv, REPORT_FILES.json].map((f) => join(outDir, f));
  writeFileAtomic(files[0]!, markdown);
  writeFileAtomic(files[1]!, csvText(written.flatMap((w) => csvRecords(w.report))));
  writeFileAtomic(files[2]!, `${JSON.stringify({ format: REPORT_FORMAT, title, missing, experiments: written.map((w) => reportJson(w.report, w.plots)) }, null, 2)}\n`);
  return { markdown, files };
}
