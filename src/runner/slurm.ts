/**
 * `bnn-ablate run --executor slurm`: prepares run folders exactly as the local runner does, writes
 * one sbatch job array per dependency layer of each experiment, submits them chained with
 * `--dependency=afterany`, records the job ids in `<results>/<experiment>/slurm.json`, and returns.
 * The tasks write to the same run folders with the same atomic writes, so `status`, `report` and
 * `check` read a cluster's results like a laptop's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendRequest } from '../backend/names.ts';
import type { SlurmSettings } from '../config/executor.ts';
import { displayPath } from '../config/source.ts';
import { RunFailedError, UsageError } from '../errors.ts';
import type { Plan } from '../grid/index.ts';
import { writeFileAtomic } from '../results/atomic.ts';
import { ResultsStore } from '../results/store.ts';
import { describeHolder } from '../results/lock.ts';
import { prepareRuns, type PreparedRun } from './local.ts';
import { BIN, dependencyLayers, layerCpus, mergeSlurmSettings, renderScript, type SlurmFlags } from './slurm-script.ts';
import { execCommand, phaseOf, querySlurm, sbatch, SbatchFailed, SlurmUnavailable, taskKey, type Exec } from './slurm-scheduler.ts';

/** `<results>/<experiment>/slurm.json`: which Slurm job trains (or trained) each run. */
export const SLURM_FILE = 'slurm.json';
/** Scripts and Slurm's own logs. Hidden, so listings of run folders (report, status) skip it. */
export const SLURM_DIR = '.slurm';

export interface SlurmJobRef {
  /** The array job id; the run is task `task` of it (`<jobId>_<task>` in squeue). */
  jobId: string;
  task: number;
  /** 1 for runs without a pending teacher, 2 for their students, ... */
  layer: number;
  submittedAt: string;
  /** Slurm's output file for this task (the run's own output is in its worker.log). */
  log: string;
}

export interface SlurmRecord {
  experiment: string;
  /** Every submission, oldest first. */
  submissions: Array<{
    submittedAt: string;
    /** What each task runs: node (from PATH after the set-up, unless --slurm-node) and bin/bnn-ablate.js by absolute path. */
    command: string;
    layers: Array<{ layer: number; jobId: string; script: string; dependency: string | null; runs: string[] }>;
  }>;
  /** The latest job of each run. */
  runs: Record<string, SlurmJobRef>;
}

export function readSlurmRecord(experimentDir: string): SlurmRecord | undefined {
  const path = join(experimentDir, SLURM_FILE);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as SlurmRecord;
  } catch {
    return undefined;
  }
}

function writeSlurmRecord(experimentDir: string, record: SlurmRecord): void {
  writeFileAtomic(join(experimentDir, SLURM_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

export interface SlurmRunOptions {
  resultsRoot: string;
  backend: BackendRequest;
  force: boolean;
  preset: string | null;
  sets: string[];
  flags: SlurmFlags;
  /** At most this many tasks of a layer at once (`--array=...%N`). */
  maxParallel?: number;
  /** Print the scripts, prepare and submit nothing. */
  dryRun: boolean;
  /** Where tasks start (relative paths in configs resolve from here); default process.cwd(). */
  cwd?: string;
  exec?: Exec;
  now?: () => Date;
}

export interface SlurmSubmission {
  experiment: string;
  layers: Array<{ layer: number; jobId: string | null; script: string; text: string; dependency: string | null; runs: string[] }>;
  skipped: number;
  /** Runs still queued or running from an earlier submission: left alone, waited for. */
  held: Array<{ id: string; job: string }>;
  resultsDir: string;
}

/**
 * Submits (or, in a dry run, only renders) every plan's pending runs. Done runs are skipped, and
 * runs whose earlier job is still queued or running are neither prepared (that would reset their
 * meta under a live task) nor submitted again; their students wait for that job instead.
 */
export function runSlurm(plans: Plan[], options: SlurmRunOptions): SlurmSubmission[] {
  const ctx: SubmitContext = {
    options, exec: options.exec ?? execCommand, cwd: options.cwd ?? process.cwd(), now: options.now ?? (() => new Date()),
  };
  // Settings are checked for every plan before anything is written or submitted.
  const settings = plans.map((plan) => mergeSlurmSettings(plan.executor?.slurm, options.flags));
  return plans.map((plan, i) => submitPlan(plan, settings[i]!, ctx));
}

/** A run's train.threads (hand-built plans, the tests' fakes, may carry configs without `train`). */
function threadsOf(plan: Plan, id: string): number | null | undefined {
  return plan.runs.find((r) => r.id === id)?.config.train?.threads;
}

/** What every plan's submission shares. */
interface SubmitContext {
  options: SlurmRunOptions;
  exec: Exec;
  cwd: string;
  now: () => Date;
}

/** One experiment: prepare its pending runs (leaving live ones alone) and submit one array per layer. */
function submitPlan(plan: Plan, settings: SlurmSettings, ctx: SubmitContext): SlurmSubmission {
  const { options } = ctx;
  const store = new ResultsStore(options.resultsRoot, plan.experiment);
  const record: SlurmRecord = readSlurmRecord(store.dir) ?? { experiment: plan.experiment, submissions: [], runs: {} };
  const live = liveJobs(record, ctx.exec);
  const prepared = prepareRuns([plan], {
    resultsRoot: options.resultsRoot, force: options.force, preset: options.preset, sets: options.sets,
    dryRun: options.dryRun, hold: (_experiment, id) => live.has(id),
  });
  // Each task takes its run's lock itself when it starts; this process only prepared them.
  for (const r of prepared.pending) r.lock?.release();
  const submittedAt = ctx.now().toISOString();
  const command = `${settings.node ?? 'node'} ${BIN} run-one <run-dir> --backend ${options.backend}`;
  const result: SlurmSubmission = {
    experiment: plan.experiment, layers: [], skipped: prepared.skipped, resultsDir: store.dir,
    held: [...prepared.held.map((r) => ({ id: r.id, job: taskKey(record.runs[r.id]!.jobId, record.runs[r.id]!.task) })),
      ...prepared.locked.map((r) => ({ id: r.id, job: `(a process holding its lock: ${describeHolder(r.holder)})` }))],
  };
  const layers = dependencyLayers(prepared.pending);
  const chain: LayerChain = {
    plan, store, settings, record, live, layers: layers.length, submittedAt,
    stamp: submittedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z'), submission: { submittedAt, command, layers: [] }, earlier: [],
  };
  layers.forEach((runs, layer) => result.layers.push(submitLayer(runs, layer, chain, ctx)));
  return result;
}

/** One experiment's layers as they are submitted: each waits for the jobs in `earlier`. */
interface LayerChain {
  plan: Plan;
  store: ResultsStore;
  settings: SlurmSettings;
  record: SlurmRecord;
  live: Map<string, string>;
  layers: number;
  submittedAt: string;
  stamp: string;
  submission: SlurmRecord['submissions'][number];
  /** Job ids of the layers before (placeholders in a dry run). */
  earlier: string[];
}

/** Renders one layer's script and, unless a dry run, writes, submits and records it in slurm.json. */
function submitLayer(runs: PreparedRun[], layer: number, c: LayerChain, ctx: SubmitContext): SlurmSubmission['layers'][number] {
  const { options } = ctx;
  const deps = [...c.earlier, ...heldJobsNeeded(runs, c.live)];
  const dependency = deps.length ? `afterany:${[...new Set(deps)].join(':')}` : null;
  const script = join(c.store.dir, SLURM_DIR, `${c.stamp}-layer${layer + 1}.sbatch`);
  const text = renderScript({
    experiment: c.plan.experiment, layer, layers: c.layers,
    runs: runs.map((r) => ({ id: r.id, name: r.name, dir: r.store.runDir(r.id) })),
    dependency: dependency ?? undefined,
    maxParallel: options.maxParallel, outputPattern: join(c.store.dir, SLURM_DIR, '%A_%a.log'), cwd: ctx.cwd, backend: options.backend,
    settings: { ...c.settings, cpusPerTask: layerCpus(c.settings, runs.map((r) => threadsOf(c.plan, r.id))) },
  });
  if (options.dryRun) {
    // Stands where the job id will be once the layer is really submitted.
    c.earlier.push(`<job id of layer ${layer + 1}>`);
    return { layer: layer + 1, jobId: null, script, text, dependency, runs: runs.map((r) => r.id) };
  }
  writeFileAtomic(script, text);
  const jobId = submitScript(script, ctx);
  c.earlier.push(jobId);
  const entry = { layer: layer + 1, jobId, script, dependency, runs: runs.map((r) => r.id) };
  if (c.submission.layers.length === 0) c.record.submissions.push(c.submission);
  c.submission.layers.push(entry);
  runs.forEach((r, task) => {
    c.record.runs[r.id] = { jobId, task, layer: layer + 1, submittedAt: c.submittedAt, log: join(c.store.dir, SLURM_DIR, `${jobId}_${task}.log`) };
  });
  writeSlurmRecord(c.store.dir, c.record);
  return { ...entry, text };
}

/** sbatch, its failures as the command's errors. Layers submitted before are already in slurm.json, so `status` can follow them. */
function submitScript(script: string, ctx: SubmitContext): string {
  try {
    return sbatch(script, ctx.exec);
  } catch (err) {
    if (err instanceof SlurmUnavailable) throw new UsageError(`--executor slurm: ${err.message}; --dry-run prints the scripts without submitting`);
    if (err instanceof SbatchFailed) throw new RunFailedError(`sbatch refused ${displayPath(script, ctx.cwd)}: ${err.message}`);
    throw err;
  }
}

/** Runs of the record whose task the scheduler still lists as queued or running, with that task's key. */
function liveJobs(record: SlurmRecord, exec: Exec): Map<string, string> {
  const live = new Map<string, string>();
  const refs = Object.entries(record.runs);
  if (refs.length === 0) return live;
  const view = querySlurm(refs.map(([, r]) => r.jobId), exec);
  // Without squeue (a dry run on a laptop) nothing is known to be live.
  if (!view.available) return live;
  for (const [id, ref] of refs) {
    const state = view.tasks.get(taskKey(ref.jobId, ref.task));
    if (state && phaseOf(state.state) !== 'ended') live.set(id, ref.jobId);
  }
  return live;
}

/** Array jobs of held runs that runs of this layer learn from. */
function heldJobsNeeded(runs: PreparedRun[], live: Map<string, string>): string[] {
  const jobs: string[] = [];
  for (const run of runs) {
    for (const dep of run.deps) {
      const job = live.get(dep.slice(dep.indexOf('/') + 1));
      if (job) jobs.push(job);
    }
  }
  return jobs;
}

/** What `run --executor slurm` prints: the scripts in a dry run, else one line per job. */
export function formatSubmissions(submissions: SlurmSubmission[], dryRun: boolean, cwd = process.cwd()): string {
  const rel = (p: string) => displayPath(p, cwd);
  const lines: string[] = [];
  for (const s of submissions) {
    for (const h of s.held) lines.push(`${s.experiment}: ${h.id} is still queued or running as job ${h.job}; not submitted again`);
    if (s.layers.length === 0) lines.push(`${s.experiment}: nothing to submit (${s.skipped} done${s.held.length ? `, ${s.held.length} still in Slurm` : ''})`);
    for (const l of s.layers) {
      if (dryRun) {
        lines.push(`# ---- ${rel(l.script)} (not written: dry run) ----`, l.text);
      } else {
        const after = l.dependency ? `, after ${l.dependency.replace(/^afterany:/, '').split(':').join(', ')} end` : '';
        lines.push(`${s.experiment}: layer ${l.layer}: job ${l.jobId}, ${l.runs.length} run${l.runs.length === 1 ? '' : 's'}${after} (${rel(l.script)})`);
      }
    }
  }
  if (!dryRun) {
    const total = submissions.reduce((n, s) => n + s.layers.reduce((m, l) => m + l.runs.length, 0), 0);
    const skipped = submissions.reduce((n, s) => n + s.skipped, 0);
    lines.push(`submitted ${total} run${total === 1 ? '' : 's'}, ${skipped} skipped (done earlier); follow with: bnn-ablate status ${submissions.map((s) => rel(s.resultsDir)).join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}
