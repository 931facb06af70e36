/**
 * Results → report: pure, so the Markdown, CSV, JSON, plots and the CI gate all read one structure.
 *
 * Rows are the distinct run params without the seed (so one row per value of the varying keys;
 * implicit distillation teachers form their own rows with role `teacher`). Only finished runs
 * enter the statistics; every other run is listed in `excluded`.
 */
import { canonicalJson } from '../config/canonical.ts';
import { PCKH_COLUMNS } from '../metrics/pckh.ts';
import { isObject, lookup } from './load.ts';
import { checkPaperDeltas, findingsFor } from './paper.ts';
import { powerAnalysis } from './power.ts';
import { compareSeeds, summarize, verdict, type PerSeed } from './stats.ts';
import type {
  Comparison, ExcludedRun, ExperimentReport, FindingResult, LoadedExperiment, Metric, PaperFinding, ReportRow, Role, RunRecord, Task,
} from './types.ts';

export const CLASSIFICATION_COLUMNS = ['top1', 'top5'] as const;

/** Settings named under every table (the activation placement alone moves the numbers, so a table says which it used). */
const SETUP_KEYS = ['model.arch', 'model.channels', 'model.activation_placement', 'model.sign_at_zero', 'data.name', 'train.steps'];

export function columnsFor(task: Task): { columns: string[]; headline: string; metric: Metric } {
  return task === 'pose'
    ? { columns: [...PCKH_COLUMNS], headline: 'Mean', metric: 'pckh' }
    : { columns: [...CLASSIFICATION_COLUMNS], headline: 'top1', metric: 'top1' };
}

/** One run's value for a table column, or undefined when the run did not report it. */
export function columnValue(run: RunRecord, task: Task, column: string): number | undefined {
  const m = run.final?.metrics;
  if (!m) return undefined;
  let v: unknown;
  if (task === 'pose') v = m.pckh_columns?.[column] ?? (column === 'Mean' ? m.pckh : undefined);
  else v = m[column];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

interface Group {
  key: string;
  params: Record<string, unknown>;
  runs: RunRecord[];
}

export function buildReport(exp: LoadedExperiment): ExperimentReport {
  const notes = [...exp.notes];
  const { columns, headline, metric } = columnsFor(exp.task);
  if (exp.spec.metric !== undefined && exp.spec.metric !== metric) {
    notes.push(`report.metric '${String(exp.spec.metric)}' does not fit a ${exp.task} study; reporting ${metric}`);
  }
  notes.push(...checkPaperDeltas(exp.spec, exp.task));

  // Ablation rows in plan order, then the teachers (the planner lists teachers first to train them first).
  const groups = groupRuns(exp.runs).sort((a, b) => Number(a.params.role === 'teacher') - Number(b.params.role === 'teacher'));
  const rows = groups.map((g) => makeRow(g, exp, columns));
  const setting = (row: ReportRow, key: string) => settingOf(groups.find((g) => g.key === row.key)!, key);
  for (const row of rows) row.role = roleOf(row, exp, setting);
  if (isObject(exp.spec.baseline) && !rows.some((r) => r.role === 'baseline')) {
    notes.push(`report.baseline ${JSON.stringify(exp.spec.baseline)} matches no row: no Δ column`);
  }

  const compared = rows.filter((r) => r.role !== 'teacher');
  const otherKeys = exp.varying.filter((k) => !(isObject(exp.spec.baseline) && k in exp.spec.baseline));
  for (const row of compared) {
    if (row.role === 'baseline') continue;
    const base = baselineFor(row, compared, otherKeys, setting);
    if (base) row.comparison = comparison(row, base, headline);
  }

  const findings = evaluateFindings(findingsFor(exp.task), compared, headline, setting, exp.varying);
  for (const f of findings) {
    const row = rows.find((r) => r.key === f.row)!;
    if (row.comparison?.versus === f.comparison.versus && !row.finding) row.finding = f;
  }

  const done = exp.runs.filter((r) => r.status === 'done');
  return {
    experiment: exp.name,
    dir: exp.dir,
    file: exp.file,
    description: exp.description,
    task: exp.task,
    metric,
    columns,
    headline,
    preset: exp.preset,
    sets: exp.sets,
    spec: exp.spec,
    rows,
    findings,
    power: powerAnalysis({ rows, findings }),
    excluded: exp.runs.filter((r) => r.status !== 'done').map(excludedRun),
    pckhVariants: distinct(done.map((r) => r.final?.metrics.pckh_variant).filter((v): v is string => typeof v === 'string')),
    pckhThresholds: distinct(done.map((r) => r.final?.metrics.pckh_threshold).filter((v): v is number => typeof v === 'number')),
    setup: setupOf(exp, done),
    notes,
  };
}

/** A run's row: its params without the seed. */
export function rowParams(run: Pick<RunRecord, 'params'>): Record<string, unknown> {
  const { seed: _seed, ...params } = run.params;
  return params;
}

export function rowKey(run: Pick<RunRecord, 'params'>): string {
  return canonicalJson(rowParams(run));
}

function groupRuns(runs: RunRecord[]): Group[] {
  const groups = new Map<string, Group>();
  for (const run of runs) {
    const params = rowParams(run);
    const key = canonicalJson(params);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, params, runs: [] }));
    g.runs.push(run);
  }
  return [...groups.values()];
}

/** A key's value for a row: its params first, else the stored config of one of its runs. */
function settingOf(g: Group, key: string): unknown {
  if (key in g.params) return g.params[key];
  for (const run of g.runs) {
    const v = lookup(run.config, key);
    if (v !== undefined) return v;
  }
  return undefined;
}

type Setting = (row: ReportRow, key: string) => unknown;

/**
 * Whether a row has the setting `spec`. With `strict`, a key whose value cannot be found (no
 * params entry, no stored config yet) fails the match; otherwise it matches, because a key that is
 * not in the params is shared by every run and cannot tell rows apart.
 */
function matches(row: ReportRow, spec: Record<string, unknown>, setting: Setting, strict = false): boolean {
  return Object.entries(spec).every(([key, want]) => {
    const got = setting(row, key);
    if (got === undefined) return !strict;
    return canonicalJson(got) === canonicalJson(want);
  });
}

function roleOf(row: ReportRow, exp: LoadedExperiment, setting: Setting): Role {
  if (row.params.role === 'teacher') return 'teacher';
  if (isObject(exp.spec.baseline) && matches(row, exp.spec.baseline, setting)) return 'baseline';
  if (isObject(exp.spec.reference) && matches(row, exp.spec.reference, setting)) return 'reference';
  return 'ablation';
}

/**
 * The baseline row a row is compared with: the baseline row that agrees with it on every varying
 * key the baseline does not pin (e.g. the same stack count in a distillation study); failing that,
 * the only baseline row; failing that, the one agreeing on most keys, when unique.
 */
function baselineFor(row: ReportRow, rows: ReportRow[], otherKeys: string[], setting: Setting): ReportRow | undefined {
  const bases = rows.filter((r) => r.role === 'baseline');
  const agree = (b: ReportRow) => otherKeys.filter((k) => canonicalJson(setting(b, k)) === canonicalJson(setting(row, k))).length;
  const exact = bases.filter((b) => agree(b) === otherKeys.length);
  if (exact.length === 1) return exact[0];
  if (bases.length === 1) return bases[0];
  const best = Math.max(...bases.map(agree));
  const top = bases.filter((b) => agree(b) === best);
  return top.length === 1 ? top[0] : undefined;
}

function comparison(row: ReportRow, versus: ReportRow, headline: string): Comparison {
  return { versus: versus.key, versusLabel: versus.label, ...compareSeeds(row.values[headline] ?? {}, versus.values[headline] ?? {}) };
}

/**
 * Applies each finding to every pair (row, baseline-role row) with the finding's two settings: the
 * row's own Δ row when it fits, else a baseline row that agrees with the row on every other
 * varying key (so "2 vs 1 stacks" is also read off a distillation study's two baseline rows).
 */
function evaluateFindings(findings: PaperFinding[], rows: ReportRow[], headline: string, setting: Setting, varying: string[]): FindingResult[] {
  const results: FindingResult[] = [];
  for (const finding of findings) {
    const keys = new Set([...Object.keys(finding.row), ...Object.keys(finding.versus)]);
    const others = varying.filter((k) => !keys.has(k));
    for (const row of rows) {
      if (!matches(row, finding.row, setting, true)) continue;
      const own = row.comparison && rows.find((r) => r.key === row.comparison!.versus);
      let versus = own && matches(own, finding.versus, setting, true) ? own : undefined;
      versus ??= rows.find((b) => b.role === 'baseline' && b !== row && matches(b, finding.versus, setting, true)
        && others.every((k) => canonicalJson(setting(b, k)) === canonicalJson(setting(row, k))));
      if (!versus) continue;
      const c = comparison(row, versus, headline);
      results.push({ finding, row: row.key, rowLabel: row.label, comparison: c, verdict: verdict(finding.sign, c.delta, c.se) });
    }
  }
  return results;
}

function makeRow(g: Group, exp: LoadedExperiment, columns: string[]): ReportRow {
  const done = g.runs.filter((r) => r.status === 'done');
  const values: Record<string, PerSeed> = {};
  for (const column of columns) {
    values[column] = {};
    for (const run of done) {
      const v = columnValue(run, exp.task, column);
      if (v !== undefined) values[column]![String(run.seed)] = v;
    }
  }
  const timing = (pick: (r: RunRecord) => unknown) => summarize(done.map(pick).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)));
  return {
    key: g.key,
    label: rowLabel(g),
    role: 'ablation',
    params: g.params,
    planned: g.runs.length,
    seeds: done.map((r) => r.seed).sort((a, b) => a - b),
    columns: Object.fromEntries(columns.map((c) => [c, summarize(Object.values(values[c]!))])),
    values,
    stageBudget: stageBudgetOf(g),
    wallS: timing((r) => r.final?.wall_s),
    imagesPerS: timing((r) => r.final?.images_per_s),
  };
}

/**
 * How a row's init-order stages spend their steps (docs/paper.md §6): "equal total: 0.5 × 600"
 * (the first stage takes half of the 600 steps a joint run has) or "own: 300 + 600" (300 steps for
 * the first stage, then 600 fully binary). null when the row trains in one stage.
 */
function stageBudgetOf(g: Group): string | null {
  const s = (key: string) => settingOf(g, key);
  const order = s('binarize.order');
  if (s('model.binary') === false || order === undefined || order === 'joint') return null;
  const epochs = s('train.epochs');
  const budget = typeof epochs === 'number' ? `${epochs} epochs` : String(s('train.steps') ?? 'train.steps');
  const own = s('binarize.stage_steps');
  if (typeof own === 'number') return `own: ${own} + ${budget}`;
  const split = s('binarize.stage_split');
  return `equal total: ${typeof split === 'number' ? split : 'stage_split'} × ${budget}`;
}

/** The planner's run name without its seed ("activation=prelu,seed=0" → "activation=prelu"). */
function rowLabel(g: Group): string {
  const name = g.runs[0]!.name.replace(/,?seed=-?\d+$/, '');
  if (name && name !== 'teacher:') return name;
  const parts = Object.entries(g.params).filter(([k]) => k !== 'role').map(([k, v]) => `${k.split('.').pop()}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return (g.params.role === 'teacher' ? 'teacher:' : '') + (parts.join(',') || 'all runs');
}

function excludedRun(run: RunRecord): ExcludedRun {
  const error = run.meta?.error ?? null;
  return { id: run.id, name: run.name, seed: run.seed, status: run.status, error: error === null ? null : String(error).split('\n')[0]!.slice(0, 200) };
}

function setupOf(exp: LoadedExperiment, done: RunRecord[]): Record<string, string> {
  const setup: Record<string, string> = {};
  for (const key of SETUP_KEYS) {
    if (exp.varying.includes(key)) continue;
    const values = distinct(done.map((r) => lookup(r.config, key)).filter((v) => v !== undefined).map((v) => String(v)));
    if (values.length) setup[key] = values.join(' | ');
  }
  const backends = distinct(done.map((r) => r.meta?.backend).filter((b) => b).map((b) => `${b!.name}${b!.version ? ` ${b!.version}` : ''}`));
  if (backends.length) setup.backend = backends.join(' | ');
  if (done.length) setup.machine = machinesOf(done);
  const commits = distinct(done.map((r) => r.meta?.git).filter((g) => g).map((g) => `${g!.commit.slice(0, 10)}${g!.dirty ? ' (dirty)' : ''}`));
  if (commits.length) setup.git = commits.join(' | ');
  return setup;
}

/**
 * The CPUs the runs trained on, with the instruction set oneDNN picked where the backend says
 * (its detail reads "oneDNN 2.6.3 (avx2), ..."): the last bits of a result depend on both. With
 * more than one, how many runs each.
 */
function machinesOf(done: RunRecord[]): string {
  const labels = done.map((r) => {
    const detail = r.meta?.backend?.detail;
    const isa = typeof detail === 'string' ? /^oneDNN [\d.]+ \(([\w.]+)\)/.exec(detail)?.[1] : undefined;
    return `${r.meta?.cpu ?? 'CPU not recorded'}${isa ? ` (${isa})` : ''}`;
  });
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  if (counts.size === 1) return labels[0]!;
  return [...counts].map(([k, n]) => `${k}: ${n} run${n > 1 ? 's' : ''}`).join(' | ');
}

function distinct<T>(values: T[]): T[] {
  return [...new Set(values)];
}
