/**
 * From an experiment file to a Plan: load, resolve every run's config through the layers, expand,
 * add teachers, name, check and order. Trains nothing and never imports tfjs.
 *
 * Precedence, lowest first (later layers win key by key):
 *   1. schema defaults (src/config/schema.ts)
 *   2. the experiment's `extends` chain, root first
 *   3. the experiment's `set`
 *   4. the preset's keys, then its `per_task.<task>` keys for the run's task
 *   5. the point: its grid / zip / include values, and its seed from `seeds`
 *   6. `--set` flags, in order
 * So a preset can shrink what `set` fixed (steps, sizes) but never a key the grid varies, and
 * `--set` beats everything, grid keys and `seed` included (points that become identical collapse).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { applyOverrides, getPath, type Override } from '../config/assign.ts';
import { canonicalJson } from '../config/canonical.ts';
import { checkConsistency } from '../config/consistency.ts';
import { loadExperiment, type ExperimentSpec, type SuiteSpec } from '../config/experiment.ts';
import { loadPreset, type Preset } from '../config/presets.ts';
import { defaultConfig, type RunConfig } from '../config/schema.ts';
import { parseSetFlags } from '../config/set-flag.ts';
import { displayPath } from '../config/source.ts';
import { ConfigError } from '../errors.ts';
import { checkGridSize, DEFAULT_MAX_RUNS, expandPoints, pointKeys } from './expand.ts';
import { describeRuns } from './names.ts';
import { runId } from './run-id.ts';
import { orderRuns, resolveTeachers, type Draft } from './teachers.ts';
import type { Plan, PlannedRun } from './types.ts';

export interface PlanOptions {
  /** A preset name (configs/presets/NAME.yaml) or a path to a preset file. */
  preset?: string;
  /** `--set` flags as typed: `key=value`. */
  sets?: readonly string[];
  /** Resolves the file, the preset and display paths; default process.cwd(). */
  cwd?: string;
  /** Refuse plans above this many runs (all experiments together); default DEFAULT_MAX_RUNS. */
  maxRuns?: number;
}

/** Plans one experiment file (or a plain run config, as one run). A suite is an error here. */
export function loadPlan(file: string, opts: PlanOptions = {}): Plan {
  const cwd = opts.cwd ?? process.cwd();
  const spec = loadExperiment(path.resolve(cwd, file), cwd);
  if (spec.kind === 'suite') {
    throw new ConfigError(`'${spec.name}' is a suite of ${spec.experiments.length} experiments: plan it with loadPlans`, { file: spec.display });
  }
  return buildPlan(spec, load(opts, cwd));
}

/**
 * Plans an experiment, or every experiment of a suite (nested suites flattened, in order), or of
 * several files. A file reached twice (named twice on the command line, or by two suites) is
 * planned once, with a warning: training it twice would only duplicate every run. Two files with
 * the same `name:` are refused (their results would mix in one folder), as is a total above
 * maxRuns.
 */
export function loadPlans(files: string | readonly string[], opts: PlanOptions = {}): Plan[] {
  const cwd = opts.cwd ?? process.cwd();
  const inputs = load(opts, cwd);
  const plans: Plan[] = [];
  const byFile = new Map<string, Plan>();
  const visit = (spec: ExperimentSpec | SuiteSpec, stack: string[]) => {
    if (spec.kind === 'experiment') {
      const seen = byFile.get(spec.file);
      if (seen) {
        const note = `${spec.display} is named more than once (on the command line or in suites); planned once`;
        if (!seen.warnings?.includes(note)) (seen.warnings ??= []).push(note);
        return;
      }
      const plan = buildPlan(spec, inputs);
      byFile.set(spec.file, plan);
      plans.push(plan);
      return;
    }
    for (const entry of spec.experiments) {
      const chain = [...stack, spec.file];
      if (chain.includes(entry.file)) {
        const cycle = [...chain.slice(chain.indexOf(entry.file)), entry.file].map((f) => displayPath(f, cwd));
        throw new ConfigError(`experiments: suite cycle: ${cycle.join(' -> ')}`, entry.pos);
      }
      visit(loadExperiment(entry.file, cwd, entry.pos), [...stack, spec.file]);
    }
  };
  const list = typeof files === 'string' ? [files] : files;
  for (const file of list) visit(loadExperiment(path.resolve(cwd, file), cwd), []);
  const names = new Map<string, string>();
  for (const plan of plans) {
    const other = names.get(plan.experiment);
    if (other) throw new ConfigError(`two experiments are named '${plan.experiment}' (${other} and ${plan.file}): their results would mix`, { file: plan.file });
    names.set(plan.experiment, plan.file);
  }
  const total = plans.reduce((n, p) => n + p.runs.length, 0);
  const limit = opts.maxRuns ?? DEFAULT_MAX_RUNS;
  if (total > limit) {
    throw new ConfigError(`${plans.length} experiments plan ${total} runs together, above the limit of ${limit}; raise --max-runs`, { file: displayPath(path.resolve(cwd, list[0] ?? '.'), cwd) });
  }
  return plans;
}

/** What a plan is built from besides the experiment: the loaded preset and parsed `--set` flags. */
export interface PlanInputs {
  preset?: Preset;
  sets: Override[];
  /** Where relative teacher paths resolve from (the workers' working directory); default process.cwd(). */
  cwd?: string;
  maxRuns?: number;
}

function load(opts: PlanOptions, cwd: string): PlanInputs {
  return { preset: opts.preset ? loadPreset(opts.preset, cwd) : undefined, sets: parseSetFlags(opts.sets ?? []), cwd, maxRuns: opts.maxRuns };
}

/**
 * report.baseline and report.reference must select at least one run of the grid: a selector that
 * matches nothing (a value typo, a key the grid does not vary) silently dropped the Δ column.
 */
function checkReportRows(spec: ExperimentSpec, runs: PlannedRun[]): void {
  const report = spec.report as Record<string, unknown> | undefined;
  if (!report || typeof report !== 'object') return;
  const rows = runs.filter((r) => r.params.role !== 'teacher');
  for (const which of ['baseline', 'reference'] as const) {
    const selector = report[which];
    if (!selector || typeof selector !== 'object') continue;
    const wanted = Object.entries(selector as Record<string, unknown>);
    const hit = rows.some((r) => wanted.every(([k, v]) => canonicalJson(getPath(r.config, k) ?? null) === canonicalJson(v ?? null)));
    if (!hit) {
      const seen = wanted.map(([k]) => `${k} in {${[...new Set(rows.map((r) => canonicalJson(getPath(r.config, k) ?? null)))].join(', ')}}`);
      throw new ConfigError(`report.${which} ${canonicalJson(selector)} matches no run of the grid (runs have ${seen.join('; ')})`,
        spec.reportPos?.[which] ?? { file: spec.display });
    }
  }
}

/** A teacher given as a path must be a finished run folder now: every student would fail without it. */
function checkTeacherFolders(spec: ExperimentSpec, runs: PlannedRun[], cwd: string): void {
  for (const run of runs) {
    const teacher = run.config.distill.teacher;
    if (typeof teacher !== 'string') continue;
    const dir = path.resolve(cwd, teacher);
    const missing = ['final.json', path.join('model', 'model.json')].filter((f) => !existsSync(path.join(dir, f)));
    if (missing.length > 0) {
      throw new ConfigError(`run '${run.name}': distill.teacher '${teacher}' is not a finished run folder (${dir} has no ${missing.join(' or ')})`, { file: spec.display });
    }
  }
}

/** The last value a list of overrides gives a key, if any. */
function lastValue(layers: Override[][], key: string): unknown {
  let value: unknown;
  for (const layer of layers) for (const o of layer) if (o.key === key) value = o.value;
  return value;
}

function resolveConfig(spec: ExperimentSpec, inputs: PlanInputs, point: Override[], seed: number | undefined): RunConfig {
  const seedLayer: Override[] = seed === undefined ? [] : [{ key: 'seed', value: seed, pos: { file: spec.display } }];
  const upper = [...point, ...seedLayer, ...inputs.sets];
  const common = inputs.preset?.overrides ?? [];
  const task = lastValue([spec.base, common, upper], 'task') ?? defaultConfig().task;
  const perTask = inputs.preset?.perTask[String(task)] ?? [];
  return applyOverrides(defaultConfig(), [...spec.base, ...common, ...perTask, ...upper]);
}

export function buildPlan(spec: ExperimentSpec, inputs: PlanInputs): Plan {
  const seeds = inputs.preset?.seeds ?? spec.seeds ?? [undefined];
  checkGridSize(spec, seeds.length, inputs.maxRuns ?? DEFAULT_MAX_RUNS);
  const points = expandPoints(spec);
  const warnings: string[] = [];
  const drafts: Draft[] = [];
  const byId = new Map<string, Draft>();
  let collapsed = 0;
  // Seed-major: all points of the first seed come first, so a partial run already fills a table.
  for (const seed of seeds) {
    for (const point of points) {
      const config = resolveConfig(spec, inputs, point.overrides, seed);
      const id = runId(config);
      if (byId.has(id)) { collapsed++; continue; }
      const draft: Draft = { id, config, dependsOn: [] };
      byId.set(id, draft);
      drafts.push(draft);
    }
  }
  if (collapsed > 0) warnings.push(`${collapsed} point(s) resolved to the same config as an earlier one and were collapsed`);

  const all = resolveTeachers(drafts);
  const described = describeRuns(all, pointKeys(points));
  const runs: PlannedRun[] = all.map((d, i) => ({
    id: d.id, name: described[i]!.name, seed: d.config.seed, params: described[i]!.params, config: d.config, dependsOn: d.dependsOn,
  }));
  for (const run of runs) {
    const problem = checkConsistency(run.config);
    if (problem) throw new ConfigError(`run '${run.name}': ${problem}`, { file: spec.display });
  }
  checkReportRows(spec, runs);
  checkTeacherFolders(spec, runs, inputs.cwd ?? process.cwd());
  const plan: Plan = { experiment: spec.name, file: spec.display, runs: orderRuns(runs) };
  if (spec.description !== undefined) plan.description = spec.description;
  if (spec.report !== undefined) plan.report = spec.report;
  if (spec.executor !== undefined) plan.executor = spec.executor;
  if (warnings.length) plan.warnings = warnings;
  return plan;
}
