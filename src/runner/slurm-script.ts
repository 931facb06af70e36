/**
 * The pure half of the Slurm executor: which runs go in which layer, and the sbatch script of a
 * layer. Nothing here touches the filesystem or the scheduler, so tests compare text.
 */
import { fileURLToPath } from 'node:url';
import { normalizeSbatchLine, slurmValueProblem, type SlurmSettings } from '../config/executor.ts';
import { UsageError } from '../errors.ts';
import type { PreparedRun } from './local.ts';

/** The CLI entry every task runs, by absolute path: a compute node need not have npx or the package in PATH. */
export const BIN = fileURLToPath(new URL('../../bin/bnn-ablate.js', import.meta.url));

/** The Slurm settings as command-line flags give them (all optional; they override the file's). */
export type SlurmFlags = Partial<SlurmSettings>;

/** The experiment file's `executor.slurm`, overridden key by key by flags; `--slurm-sbatch` lines add to the file's. */
export function mergeSlurmSettings(file: SlurmSettings | undefined, flags: SlurmFlags): SlurmSettings {
  const out: SlurmSettings = { ...(file ?? {}), sbatch: [...(file?.sbatch ?? [])] };
  for (const [flag, value] of Object.entries(flags) as Array<[keyof SlurmFlags, unknown]>) {
    if (value === undefined) continue;
    const name = `--slurm-${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (flag === 'sbatch') {
      for (const raw of value as string[]) {
        const line = normalizeSbatchLine(raw);
        const problem = slurmValueProblem('sbatch', line);
        if (problem) throw new UsageError(`${name}: ${problem}`);
        out.sbatch.push(line);
      }
      continue;
    }
    const problem = slurmValueProblem(flag, value);
    if (problem) throw new UsageError(`${name}: ${problem}`);
    (out as unknown as Record<string, unknown>)[flag] = value;
  }
  return out;
}

/**
 * `--cpus-per-task` of a layer: the settings' own (the file's `cpus_per_task` or
 * --slurm-cpus-per-task), else the most `train.threads` among the layer's runs, so that a native
 * run gets the cores its threads are meant for (Slurm gives a task 1 CPU by default; the script
 * sets OMP_NUM_THREADS from SLURM_CPUS_PER_TASK). One value per job array: a run with fewer threads
 * uses fewer. Undefined where neither says: Slurm's default.
 */
export function layerCpus(settings: SlurmSettings, threads: ReadonlyArray<number | null | undefined>): number | undefined {
  if (settings.cpusPerTask !== undefined) return settings.cpusPerTask;
  const most = Math.max(0, ...threads.map((t) => t ?? 0));
  return most > 0 ? most : undefined;
}

/**
 * Splits one experiment's pending runs into dependency layers: layer 0 has no pending teacher,
 * layer k+1 needs a run of layer k. Runs arrive teachers first (plan order), so one pass does it.
 */
export function dependencyLayers(pending: PreparedRun[]): PreparedRun[][] {
  const layerOf = new Map<string, number>();
  const layers: PreparedRun[][] = [];
  for (const run of pending) {
    const depLayers = run.deps.map((d) => layerOf.get(d)).filter((l): l is number => l !== undefined);
    const layer = depLayers.length ? Math.max(...depLayers) + 1 : 0;
    layerOf.set(run.key, layer);
    (layers[layer] ??= []).push(run);
  }
  return layers;
}

export interface LayerScript {
  experiment: string;
  layer: number;
  layers: number;
  /** Absolute run folders; array task i trains runs[i]. */
  runs: Array<{ id: string; name: string; dir: string }>;
  /** `--dependency` value (`afterany:12:13`), or a placeholder in a dry run; none for a free layer. */
  dependency?: string;
  /** `%N` on the array: at most N tasks of this layer at once (from --jobs). */
  maxParallel?: number;
  /** Slurm's own output (`%A_%a` expanded by Slurm); the run's output goes to its worker.log. */
  outputPattern: string;
  /** The submitting directory: relative paths in configs (a saved teacher) resolve from here. */
  cwd: string;
  backend: string;
  settings: SlurmSettings;
}

/** Single-quotes a word for bash. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The sbatch script of one layer: a job array with one task per run. Each task redirects its
 * output into the run's worker.log (as local workers do), runs the set-up, then execs
 * `node bin/bnn-ablate.js run-one <dir>`, which refuses a student whose teacher is not done.
 */
export function renderScript(s: LayerScript): string {
  for (const path of [s.outputPattern, s.cwd]) {
    // #SBATCH lines are not shell: a path with spaces there would be cut at the space.
    if (/\s/.test(path)) throw new UsageError(`--executor slurm: '${path}' contains whitespace, which #SBATCH lines cannot carry; use a results folder and working directory without spaces`);
  }
  const opt = s.settings;
  const last = s.runs.length - 1;
  const lines = [
    '#!/bin/bash',
    `# bnn-ablate run --executor slurm: ${s.experiment}, layer ${s.layer + 1} of ${s.layers}` +
      (s.layer === 0 ? ' (runs without a pending teacher)' : ' (students of earlier layers)'),
    '# One array task per run. Written by bnn-ablate; rerun `bnn-ablate run --executor slurm` rather than resubmitting by hand.',
    `#SBATCH --job-name=bnn-${s.experiment}-L${s.layer + 1}`,
    `#SBATCH --array=0-${last}${s.maxParallel ? `%${s.maxParallel}` : ''}`,
    `#SBATCH --output=${s.outputPattern}`,
    `#SBATCH --chdir=${s.cwd}`,
    ...(s.dependency ? [
      // afterany, not afterok: one failed teacher must not strand the students of the others;
      // run-one fails a student whose own teacher is not done, with the reason.
      `#SBATCH --dependency=${s.dependency}`,
    ] : []),
    ...(opt.partition ? [`#SBATCH --partition=${opt.partition}`] : []),
    ...(opt.account ? [`#SBATCH --account=${opt.account}`] : []),
    ...(opt.time ? [`#SBATCH --time=${opt.time}`] : []),
    ...(opt.cpusPerTask ? [`#SBATCH --cpus-per-task=${opt.cpusPerTask}`] : []),
    ...(opt.mem ? [`#SBATCH --mem=${opt.mem}`] : []),
    ...(opt.gres ? [`#SBATCH --gres=${opt.gres}`] : []),
    ...opt.sbatch.map((l) => `#SBATCH ${l}`),
    '',
    'set -eo pipefail',
    'RUNS=(',
    ...s.runs.map((r, i) => `  ${shellQuote(r.dir)}  # ${i}: ${r.id} ${r.name.replace(/\n/g, ' ')}`),
    ')',
    'RUN_DIR=${RUNS[$SLURM_ARRAY_TASK_ID]}',
    'exec >>"$RUN_DIR/worker.log" 2>&1',
    'echo "== slurm job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} (id ${SLURM_JOB_ID}) on $(hostname) at $(date -Is)"',
    '# As many math threads as CPUs allocated: tasks sharing a node must not oversubscribe it.',
    'export TF_NUM_INTRAOP_THREADS=${TF_NUM_INTRAOP_THREADS:-${SLURM_CPUS_PER_TASK:-1}}',
    'export TF_NUM_INTEROP_THREADS=${TF_NUM_INTEROP_THREADS:-1}',
    'export OMP_NUM_THREADS=${OMP_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}',
    ...(opt.setup?.trim() ? ['# --- set-up (executor.slurm.setup / --slurm-setup) ---', opt.setup.trimEnd(), '# --- end of set-up ---'] : []),
    `exec ${shellQuote(opt.node ?? 'node')} ${shellQuote(BIN)} run-one "$RUN_DIR" --backend ${shellQuote(s.backend)}`,
    '',
  ];
  return lines.join('\n');
}
