/**
 * What `report` and `check` arguments name: a study's results folder, a results root holding
 * several studies, an experiment file or suite (its studies' folders under --results), or a bare
 * name (`pose-stacks`, `paper`) looked up as `<results>/<name>` then `experiments/<name>.yaml`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { EXPERIMENT_FILE } from './load.ts';

export interface ResolvedTargets {
  /** Results folders of the studies found, in the order named. */
  dirs: string[];
  /** Studies a suite names that have no results folder yet. */
  missing: string[];
  /** The suite's name when a suite was named. */
  suite?: string;
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** A study folder: has experiment.json, or run folders with meta.json (an older runner). */
function isStudy(dir: string): boolean {
  if (existsSync(join(dir, EXPERIMENT_FILE))) return true;
  return readdirSync(dir).some((name) => existsSync(join(dir, name, 'meta.json')));
}

export async function resolveTargets(args: string[], options: { resultsDir: string; cwd?: string }): Promise<ResolvedTargets> {
  const cwd = options.cwd ?? process.cwd();
  const resultsDir = resolve(cwd, options.resultsDir);
  const out: ResolvedTargets = { dirs: [], missing: [] };
  const add = (dir: string) => { if (!out.dirs.includes(dir)) out.dirs.push(dir); };
  for (const arg of args) {
    const path = resolve(cwd, arg);
    if (isDir(path)) {
      if (isStudy(path)) { add(path); continue; }
      const studies = readdirSync(path).sort().map((n) => join(path, n)).filter((p) => isDir(p) && isStudy(p));
      if (studies.length === 0) throw new UsageError(`${arg}: neither a study's results folder (no ${EXPERIMENT_FILE}, no runs) nor a folder of them`);
      studies.forEach(add);
      continue;
    }
    const named = join(resultsDir, arg);
    if (!/[\\/]/.test(arg) && isDir(named)) { add(named); continue; }
    const file = /\.ya?ml$/.test(arg) ? path : [join(cwd, 'experiments', `${arg}.yaml`), join(cwd, 'experiments', `${arg}.yml`)].find(existsSync);
    if (!file || !existsSync(file)) {
      throw new UsageError(`${arg}: no results folder (${named}) and no experiment file (experiments/${arg}.yaml)`);
    }
    for (const name of await experimentNames(file, cwd, out)) {
      const dir = join(resultsDir, name);
      if (isDir(dir)) add(dir);
      else out.missing.push(name);
    }
  }
  return out;
}

/** Names of the studies an experiment file or suite plans (their results folder names). */
async function experimentNames(file: string, cwd: string, out: ResolvedTargets): Promise<string[]> {
  // config/ is light (no tfjs) but only needed for this path, so it loads on demand.
  const { loadExperiment } = await import('../config/experiment.ts');
  const spec = loadExperiment(file, cwd);
  if (spec.kind === 'experiment') return [spec.name];
  out.suite = spec.name;
  return spec.experiments.map((e) => {
    const sub = loadExperiment(e.file, cwd, e.pos);
    return sub.kind === 'experiment' ? sub.name : basename(e.file).replace(/\.ya?ml$/, '');
  });
}

/** Where a combined report goes: `<results>/<suite>` for a suite, else the studies' common parent. */
export function combinedDir(targets: ResolvedTargets, resultsDir: string, cwd = process.cwd()): string {
  if (targets.suite) return join(resolve(cwd, resultsDir), targets.suite);
  const parents = [...new Set(targets.dirs.map((d) => dirname(d)))];
  return parents.length === 1 ? parents[0]! : resolve(cwd, resultsDir);
}
