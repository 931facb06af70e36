/**
 * report.md: a paper-style table per study (rows = settings, columns = PCKh joints or top-1/top-5,
 * mean ± std over seeds), Δ against the baseline row with its standard error, the paper's Δ with
 * its source, a verdict, then the runs left out, the findings and the definitions used. No
 * timestamps or absolute paths, so the text only changes when the results do (snapshot-tested).
 */
import { formatPaperDelta } from './paper.ts';
import { SIGNIFICANCE_SE } from './stats.ts';
import { deltaCell, fixed, mdTable, nCell, SHORT_COLUMN, statCell } from './format.ts';
import type { ExperimentReport, FindingResult, PaperFinding } from './types.ts';

export interface PlotLinks {
  curves?: string;
  bars?: string;
}

export interface MarkdownOptions {
  /** `#` level of the study's heading (1 alone, 2 inside a combined report). */
  level?: number;
  plots?: PlotLinks;
  /** Source numbers shared across a combined report; a standalone report numbers its own. */
  sources?: Map<string, number>;
  /** false inside a combined report: definitions and sources are printed once at its end. */
  standalone?: boolean;
}

export function metricTitle(report: ExperimentReport): string {
  if (report.metric === 'top1') return 'top-1 / top-5 accuracy (%)';
  const t = report.pckhThresholds.length === 1 ? report.pckhThresholds[0] : 0.5;
  // Sets with their own PCK (coco-keypoints) name it in the variant: "PCK@0.2 torso (...)".
  const pck = report.pckhVariants.length === 1 && /^PCK@\S+ (\w+)/.exec(report.pckhVariants[0]!);
  if (pck) return `PCK@${t} ${pck[1]} (%)`;
  return `PCKh@${t} (%)`;
}

export function renderExperimentMarkdown(report: ExperimentReport, options: MarkdownOptions = {}): string {
  const h = '#'.repeat(options.level ?? 1);
  const sources = options.sources ?? sourceNumbers(report.findings.map((f) => f.finding));
  const out: string[] = [];
  out.push(`${h} ${report.experiment}${report.description ? `: ${report.description}` : ''}`, '');
  out.push(headerLine(report), '');
  if (Object.keys(report.setup).length) {
    out.push(`Setup: ${Object.entries(report.setup).map(([k, v]) => `${k} ${v}`).join(' · ')}`, '');
  }

  const main = report.rows.filter((r) => r.role !== 'teacher');
  const columns = report.columns.map((c) => SHORT_COLUMN[c] ?? c);
  const headlineName = SHORT_COLUMN[report.headline] ?? report.headline;
  out.push(mdTable(
    ['Setting', 'Role', 'n', ...columns, `Δ ${headlineName}`, 'Paper Δ', 'Verdict'],
    main.map((row) => [
      row.label,
      row.role === 'ablation' ? '' : row.role,
      nCell(row),
      ...report.columns.map((c) => statCell(row.columns[c])),
      deltaCell(row.comparison),
      row.finding ? `${formatPaperDelta(row.finding.finding)} [${sources.get(row.finding.finding.id)}]` : '',
      row.finding ? row.finding.verdict : '',
    ]),
    ['l', 'l', 'r', ...report.columns.map(() => 'r' as const), 'r', 'r', 'l'],
  ), '');

  const teachers = report.rows.filter((r) => r.role === 'teacher');
  if (teachers.length) {
    out.push('Teachers (trained only to distil from; not rows of the ablation):', '');
    out.push(mdTable(['Teacher', 'n', ...columns], teachers.map((r) => [r.label, nCell(r), ...report.columns.map((c) => statCell(r.columns[c]))]),
      ['l', 'r', ...report.columns.map(() => 'r' as const)]), '');
  }

  if (report.excluded.length) {
    out.push(`Runs not in the averages (${report.excluded.length}):`, '');
    out.push(mdTable(['Run', 'Id', 'Status', 'Error'], report.excluded.map((r) => [r.name, r.id, r.status, r.error ?? ''])), '');
  }

  if (report.findings.length) {
    out.push(`${h}# Paper findings`, '');
    out.push(findingsTable(report.findings, sources), '');
  }

  const said = [
    report.spec.paper_finding ? `The experiment file's summary of the paper: "${String(report.spec.paper_finding)}".` : '',
    report.spec.expect ? `The experiment file expects: "${String(report.spec.expect)}".` : '',
  ].filter(Boolean);
  if (said.length) out.push(said.join(' '), '');

  if (options.plots?.curves || options.plots?.bars) {
    if (options.plots.curves) out.push(`![training curves of ${report.experiment}](${options.plots.curves})`);
    if (options.plots.bars) out.push(`![${report.headline} per setting of ${report.experiment}](${options.plots.bars})`);
    out.push('');
  }

  if (options.standalone === false) {
    if (report.notes.length) out.push('Warnings:', ...report.notes.map((n) => `- ${n}`));
  } else {
    out.push(...footnotes(report, sources));
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function headerLine(report: ExperimentReport): string {
  const parts = [
    `Task: ${report.task}`,
    `metric: ${metricTitle(report)}`,
    `preset: ${report.preset ?? 'none'}`,
  ];
  if (report.sets.length) parts.push(`--set ${report.sets.join(' ')}`);
  if (report.file) parts.push(`file: ${report.file}`);
  return parts.join(' · ');
}

export function findingsTable(findings: FindingResult[], sources: Map<string, number>, experiment?: string): string {
  const header = [...(experiment !== undefined ? ['Study'] : []), 'Finding', 'Row', 'vs', 'Ours Δ', 'Seeds', 'Paper Δ', 'Verdict'];
  return mdTable(header, findings.map((f) => [
    ...(experiment !== undefined ? [experiment] : []),
    `${f.finding.claim} [${sources.get(f.finding.id)}]`,
    f.rowLabel,
    f.comparison.versusLabel,
    deltaCell(f.comparison),
    String(f.comparison.n),
    formatPaperDelta(f.finding),
    f.verdict,
  ]));
}

/** Source numbers [1], [2], ... in order of first use. */
export function sourceNumbers(findings: PaperFinding[]): Map<string, number> {
  const numbers = new Map<string, number>();
  for (const f of findings) if (!numbers.has(f.id)) numbers.set(f.id, numbers.size + 1);
  return numbers;
}

export function sourceLines(findings: PaperFinding[], numbers: Map<string, number>): string[] {
  const byId = new Map(findings.map((f) => [f.id, f]));
  return [...numbers].map(([id, n]) => `- [${n}] ${byId.get(id)!.source}.`);
}

/** What the metric columns mean (named per study: the PCKh variant comes from its runs). */
export function metricDefinition(report: Pick<ExperimentReport, 'task' | 'pckhVariants' | 'pckhThresholds'>): string {
  if (report.task === 'classification') return '- Top-1 and top-5: accuracy in percent on the validation set.';
  const variant = report.pckhVariants.length ? report.pckhVariants.join(' / ') : 'not recorded by the runs';
  const threshold = report.pckhThresholds.length ? report.pckhThresholds.map((t) => fixed(t, 2)).join(' / ') : '0.5';
  if (report.pckhVariants.length && report.pckhVariants.every((v) => v.startsWith('PCK@'))) {
    return `- ${variant}. Each column averages its joints' PCK (left and right; Head: neck and head_top for LSP, nose, eyes and ears for COCO); Mean pools all joints.`;
  }
  return `- PCKh at threshold ${threshold} head sizes; Mean over the 14 MPII joints (pelvis and thorax excluded) as ${variant}; Head is head_top only; each other column averages left and right.`;
}

/** Definitions, so no number in a table is ambiguous. */
export function statDefinitions(headline: string): string[] {
  return [
    '- Each cell: mean ± std over seeds, std being the sample standard deviation (n − 1) of the per-seed final values; n = seeds that finished (done/planned when some did not).',
    `- Δ ${headline}: row − its baseline row, paired by seed (mean of per-seed differences over seeds finished in both, ± its standard error sd/√n); † = seeds did not overlap, so difference of means ± Welch standard error.`,
    `- Verdict (rows with a paper finding): "reproduced" when our Δ has the paper's sign and exceeds ${SIGNIFICANCE_SE} SE, "contradicted" when it has the opposite sign beyond ${SIGNIFICANCE_SE} SE, else "not significant" (also with fewer than two seeds). ${SIGNIFICANCE_SE} SE is a loose bar: with 3 seeds a 95 % t-test needs 4.3 SE.`,
    '- Paper Δ: the paper\'s difference in points where a source gives it, "n/a (+)" where only its sign is known; never estimated.',
  ];
}

function footnotes(report: ExperimentReport, sources: Map<string, number>): string[] {
  const out = ['Notes:', metricDefinition(report), ...statDefinitions(SHORT_COLUMN[report.headline] ?? report.headline)];
  if (sources.size) out.push('', 'Sources:', ...sourceLines(report.findings.map((f) => f.finding), sources));
  if (report.notes.length) out.push('', 'Warnings:', ...report.notes.map((n) => `- ${n}`));
  return out;
}
