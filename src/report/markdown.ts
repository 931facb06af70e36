/**
 * report.md: a paper-style table per study (rows = settings, columns = PCKh joints or top-1/top-5,
 * mean ± std over seeds), Δ against the baseline row with its standard error, the paper's Δ with
 * its source, a verdict, then the runs left out, the findings and the definitions used. No
 * timestamps or absolute paths, so the text only changes when the results do (snapshot-tested).
 */
import { formatPaperDelta } from './paper.ts';
import { MAX_SEEDS, POWER_GOAL_POINTS, type PowerRow } from './power.ts';
import { SIGNIFICANCE_SE } from './stats.ts';
import { deltaCell, fixed, mdTable, nCell, SHORT_COLUMN, statCell } from './format.ts';
import type { ExperimentReport, FindingResult, PaperFinding } from './types.ts';

export interface PlotLinks {
  curves?: string;
  bars?: string;
  binary?: string;
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
  out.push(mainTable(report, sources), '');
  out.push(...sideTables(report));
  if (report.findings.length) out.push(`${h}# Paper findings`, '', findingsTable(report.findings, sources), '');
  if (report.power.length) out.push(`${h}# Statistical power`, '', powerTable(report.power), '');
  const said = [
    report.spec.paper_finding ? `The experiment file's summary of the paper: "${String(report.spec.paper_finding)}".` : '',
    report.spec.expect ? `The experiment file expects: "${String(report.spec.expect)}".` : '',
  ].filter(Boolean);
  if (said.length) out.push(said.join(' '), '');
  out.push(...plotLines(report, options.plots));
  if (options.standalone === false) {
    if (report.notes.length) out.push('Warnings:', ...report.notes.map((n) => `- ${n}`));
  } else {
    out.push(...footnotes(report, sources));
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** The ablation rows (teachers apart): each column's statistic, the Δ to the baseline, the paper's Δ and the verdict. */
function mainTable(report: ExperimentReport, sources: Map<string, number>): string {
  const main = report.rows.filter((r) => r.role !== 'teacher');
  const columns = report.columns.map((c) => SHORT_COLUMN[c] ?? c);
  const headlineName = SHORT_COLUMN[report.headline] ?? report.headline;
  // Named on every row as soon as one row trains in two stages: "equal total" and "own" budgets differ.
  const staged = main.some((r) => r.stageBudget !== null);
  return mdTable(
    ['Setting', 'Role', 'n', ...(staged ? ['Stages'] : []), ...columns, `Δ ${headlineName}`, 'Paper Δ', 'Verdict'],
    main.map((row) => [
      row.label,
      row.role === 'ablation' ? '' : row.role,
      nCell(row),
      ...(staged ? [row.stageBudget ?? 'one stage'] : []),
      ...report.columns.map((c) => statCell(row.columns[c])),
      deltaCell(row.comparison),
      row.finding ? `${formatPaperDelta(row.finding.finding)} [${sources.get(row.finding.finding.id)}]` : '',
      row.finding ? row.finding.verdict : '',
    ]),
    ['l', 'l', 'r', ...(staged ? ['l' as const] : []), ...report.columns.map(() => 'r' as const), 'r', 'r', 'l'],
  );
}

/** The teachers' table and the runs left out of the averages, where there are any. */
function sideTables(report: ExperimentReport): string[] {
  const out: string[] = [];
  const columns = report.columns.map((c) => SHORT_COLUMN[c] ?? c);
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
  return out;
}

function plotLines(report: ExperimentReport, plots: MarkdownOptions['plots']): string[] {
  if (!plots?.curves && !plots?.bars) return [];
  const out: string[] = [];
  if (plots.curves) out.push(`![training curves of ${report.experiment}](${plots.curves})`);
  if (plots.bars) out.push(`![${report.headline} per setting of ${report.experiment}](${plots.bars})`);
  if (plots.binary) out.push(`![binary-network diagnostics of ${report.experiment}](${plots.binary})`);
  out.push('');
  return out;
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

/** What each comparison could resolve at its seeds, and the seeds its target Δ would need. */
export function powerTable(power: PowerRow[]): string {
  const seeds = (n: number | null, known: boolean) => (n !== null ? String(n) : known ? `> ${MAX_SEEDS.toExponential(0)}` : '—');
  return mdTable(
    ['Row', 'vs', 'n', 'σ', 'MDE 2 SE', 'MDE t 95 %', 'MDE 80 %', 'p', 'Target Δ', 'Seeds 2 SE / t / 80 %'],
    power.map((p) => {
      const known = p.comparison.sd !== null;
      return [
        p.rowLabel,
        p.versusLabel,
        `${p.comparison.n}${p.comparison.method === 'unpaired' ? '†' : ''}`,
        fixed(p.comparison.sd, 2) || '—',
        fixed(p.mde2se, 2) || '—',
        fixed(p.mdeT, 2) || '—',
        fixed(p.mde80, 2) || '—',
        p.p === null ? '—' : p.p < 0.001 ? '< 0.001' : p.p.toFixed(3),
        `${fixed(p.target.delta, 2)} (${p.target.source})`,
        [p.seeds.twoSe, p.seeds.tTest, p.seeds.power80].map((n) => seeds(n, known)).join(' / '),
      ];
    }),
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

/** What the Stages column means (docs/paper.md §6). */
export const STAGES_DEFINITION = '- Stages: how a two-stage init order (binarize.order) spent its steps. "equal total: s × T": the first stage took the fraction s of the T steps a joint run has, so the fully binary stage got (1 − s)·T; "own: N + T": N steps for the first stage, then all T fully binary, each stage with its own learning-rate schedule (binarize.stage_steps; the paper trains each stage on its own). See docs/paper.md §6.';

/** What the power table's columns mean. */
export function powerDefinitions(): string[] {
  return [
    `- Statistical power: σ = sd of one seed's difference (paired; † = √(s₁² + s₂²), seeds not paired), SE = σ/√n. MDE = the smallest |Δ| each bar lets through at these seeds: ${SIGNIFICANCE_SE} SE (the verdict rule), t(0.975, n − 1)·SE (two-sided paired t-test at 95 %; an effect of exactly this size is seen half of the time), and (t(0.975) + t(0.80))·SE (seen with 80 % power). p: the t-test's two-sided p of the observed Δ.`,
    `- Target Δ: --delta when given, else the paper's Δ (paper), else ${fixed(POWER_GOAL_POINTS, 2)} point (goal: resolve 1 point). Seeds: how many seeds per row would bring each bar down to the target, σ held at its estimate (rough with 2–3 seeds).`,
  ];
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
    `- Verdict (rows with a paper finding): "reproduced" when our Δ has the paper's sign and exceeds ${SIGNIFICANCE_SE} SE, "contradicted" when it has the opposite sign beyond ${SIGNIFICANCE_SE} SE, else "not significant" (also with fewer than two seeds); "no data" while a row of the pair has no finished run. ${SIGNIFICANCE_SE} SE is a loose bar: with 3 seeds a 95 % t-test needs 4.3 SE.`,
    '- Paper Δ: the paper\'s difference in points where a source gives it, "n/a (+)" where only its sign is known; never estimated.',
  ];
}

function footnotes(report: ExperimentReport, sources: Map<string, number>): string[] {
  const out = ['Notes:', metricDefinition(report), ...statDefinitions(SHORT_COLUMN[report.headline] ?? report.headline)];
  if (report.rows.some((r) => r.stageBudget !== null)) out.push(STAGES_DEFINITION);
  if (report.power.length) out.push(...powerDefinitions());
  if (sources.size) out.push('', 'Sources:', ...sourceLines(report.findings.map((f) => f.finding), sources));
  if (report.notes.length) out.push('', 'Warnings:', ...report.notes.map((n) => `- ${n}`));
  return out;
}
