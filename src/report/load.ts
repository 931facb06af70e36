/**
 * Reads one experiment's results folder through the results store: `experiment.json` for the plan
 * (which runs, which keys vary, the YAML's `report:` mapping) and each run's status, final metrics,
 * evaluation records, meta and config. `ResultsStore.status` is the truth: a run is done iff its
 * final.json parses, whatever its meta says.
 *
 * A folder without experiment.json (an older runner, a hand-made folder) is still readable: the
 * plan is rebuilt from each run's meta.json, and the report says so.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DataError } from '../errors.ts';
import { EXPERIMENT_FILE, ResultsStore } from '../results/store.ts';
import type { ExperimentFile, FinalJson, LoadedExperiment, MetricRecord, PlannedRunInfo, ReportSpec, RunRecord, Task } from './types.ts';

export { EXPERIMENT_FILE };

/** Loads `dir` (= `<root>/<experiment>`). Throws DataError when it is not a results folder. */
export function loadResults(dir: string): LoadedExperiment {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new DataError(`${dir}: no such results folder`);
  const notes: string[] = [];
  const planFile = join(abs, EXPERIMENT_FILE);
  let plan: ExperimentFile | undefined;
  if (existsSync(planFile)) {
    plan = parsePlan(planFile);
  } else {
    notes.push(`${EXPERIMENT_FILE} is missing: runs, params and the report settings were rebuilt from the run folders`);
  }
  // The folder's own name, not plan.experiment: a folder renamed after planning is still readable.
  const store = new ResultsStore(dirname(abs), basename(abs));

  const planned: PlannedRunInfo[] = plan?.runs ?? rebuildPlan(store);
  const known = new Set(planned.map((r) => r.id));
  const stray = store.listRunIds().filter((id) => !known.has(id));
  if (plan && stray.length > 0) notes.push(`${stray.length} run folder(s) not in the current plan were ignored (an earlier plan of this study?)`);

  const runs: RunRecord[] = planned.map((r) => {
    const status = store.status(r.id);
    const final = status === 'done' ? store.readFinal<FinalJson>(r.id) : undefined;
    return {
      ...r,
      dependsOn: r.dependsOn ?? [],
      status,
      final,
      metrics: status === 'absent' ? [] : store.readMetrics<MetricRecord>(r.id).filter((m) => typeof m.step === 'number'),
      meta: store.readMeta(r.id),
      config: store.readConfig(r.id),
    };
  });
  const task = plan?.task ?? inferTask(runs);
  const spec: ReportSpec = isObject(plan?.report) ? (plan!.report as ReportSpec) : {};
  if (!plan?.report && plan) notes.push('the experiment has no report: section (no baseline row, so no Δ)');
  return {
    dir: abs,
    name: plan?.experiment ?? basename(abs),
    file: plan?.file,
    description: plan?.description,
    task,
    spec,
    preset: plan?.preset ?? null,
    sets: plan?.sets ?? [],
    varying: plan?.varying ?? varyingKeys(planned),
    runs,
    notes,
  };
}

function parsePlan(path: string): ExperimentFile {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DataError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(data) || typeof data.experiment !== 'string' || !Array.isArray(data.runs)) {
    throw new DataError(`${path}: expected {experiment, runs: [...]} as the runner writes it`);
  }
  for (const [i, run] of (data.runs as unknown[]).entries()) {
    if (!isObject(run) || typeof run.id !== 'string' || typeof run.seed !== 'number' || !isObject(run.params)) {
      throw new DataError(`${path}: runs[${i}] needs id, seed and params`);
    }
  }
  return data as unknown as ExperimentFile;
}

function rebuildPlan(store: ResultsStore): PlannedRunInfo[] {
  const runs: PlannedRunInfo[] = [];
  for (const id of store.listRunIds()) {
    const meta = store.readMeta(id);
    if (!meta) continue;
    runs.push({ id, name: meta.name ?? id, seed: meta.seed, params: meta.params ?? { seed: meta.seed }, dependsOn: meta.dependsOn ?? [] });
  }
  if (runs.length === 0) throw new DataError(`${store.dir}: neither ${EXPERIMENT_FILE} nor any run folder with a meta.json`);
  // Seed-major like the planner, so rows keep a stable order.
  return runs.sort((a, b) => a.seed - b.seed || a.name.localeCompare(b.name));
}

function inferTask(runs: RunRecord[]): Task {
  for (const r of runs) {
    if (r.final?.task) return r.final.task;
    if (r.final?.metrics.top1 !== undefined) return 'classification';
    if (r.final?.metrics.pckh !== undefined) return 'pose';
    const task = (r.config as { task?: unknown } | undefined)?.task;
    if (task === 'pose' || task === 'classification') return task;
  }
  return 'pose';
}

function varyingKeys(runs: PlannedRunInfo[]): string[] {
  const keys = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r.params)) if (k !== 'seed' && k !== 'role') keys.add(k);
  return [...keys];
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A dotted key looked up in a plain object (a parsed config.yaml). */
export function lookup(obj: unknown, key: string): unknown {
  let node = obj;
  for (const part of key.split('.')) {
    if (!isObject(node)) return undefined;
    node = node[part];
  }
  return node;
}
