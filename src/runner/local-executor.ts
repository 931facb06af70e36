/**
 * The `local` executor: worker processes on this machine (local.ts), `--wait` for runs another
 * process holds (wait-locked.ts), SIGINT/SIGTERM turned into checkpoints.
 *
 * Start-up order: the parent plans, forks the first worker, which resolves the backend and
 * reports it (worker-process.ts), sizes the pool by that backend, prints the backend line, and
 * only then prepares the run folders and trains. The parent itself never loads tfjs.
 */
import { availableParallelism } from 'node:os';
import type { BackendName, BackendRequest } from '../backend/names.ts';
import { InterruptedError, RunFailedError, UsageError } from '../errors.ts';
import type { Plan } from '../grid/index.ts';
import type { Executor, ExecutorSummary } from './executor.ts';
import type { GridSummary, LocalRunOptions } from './local.ts';
import type { ProgressDisplay } from './progress.ts';
import type { BackendReport } from './worker.ts';
import type { FirstWorker, SpawnWorker } from './worker-process.ts';

export interface LocalExecutorOptions {
  resultsRoot: string;
  backend: BackendRequest;
  /** --jobs and --threads, when given (shareCores fills in the rest). */
  jobs?: number;
  threads?: number;
  /** --runs-per-worker: retire a worker process after this many runs (default: never). */
  runsPerWorker?: number;
  failFast: boolean;
  force: boolean;
  preset: string | null;
  sets: string[];
  /** --wait: wait for runs another live process trains, then train what it left. */
  wait: boolean;
  /** Where the one line about the backend and the pool goes (stderr). */
  note(line: string): void;
  /** Cores to share (default: this machine's); tests pin it. */
  cores?: number;
  /** Forks a worker process (default: bin/worker.js); tests substitute a fake. */
  spawnWorker?: SpawnWorker;
  /** The progress display of a pass over the grid (default: bars on a terminal, else lines on stderr). */
  makeDisplay?: () => ProgressDisplay;
}

interface LocalPrepared {
  plans: Plan[];
  backend: BackendReport;
  jobs: number;
  threads: number;
  /** The worker that resolved the backend, for the pool's first run (released if unused). */
  first: FirstWorker;
}

interface LocalResult {
  summary: GridSummary;
  /** The user asked to stop (SIGINT/SIGTERM). */
  aborted: boolean;
}

export function localExecutor(options: LocalExecutorOptions): Executor<LocalPrepared, LocalResult> {
  return { name: 'local', prepare: (plans) => prepareLocal(plans, options), launch: (p) => launchLocal(p, options), summarise };
}

/** Backends that compute on this process's cores, one job per core by default (shareCores). */
const CPU_LIKE: ReadonlySet<BackendRequest> = new Set<BackendName>(['native', 'wasm', 'cpu']);

/**
 * `auto` is resolved once, by the first worker, so every worker uses the same backend and the
 * pool size fits it. That worker is forked before the backend is known, with the thread count
 * of the likely outcome (`auto` picks a CPU backend on most machines); if the backend asks for
 * another count, it is retired unused and the pool forks its own.
 */
async function prepareLocal(plans: Plan[], options: LocalExecutorOptions): Promise<LocalPrepared> {
  const runCount = plans.reduce((n, p) => n + p.runs.length, 0);
  const configured = Math.max(0, ...plans.flatMap((p) => p.runs.map((r) => r.config.train.threads ?? 0)));
  const size = (cpuLike: boolean) => shareCores(options.cores ?? availableParallelism(), runCount, cpuLike, options.jobs, options.threads ?? (configured || undefined));
  const guess = size(options.backend === 'auto' || CPU_LIKE.has(options.backend));
  const { spawnWorker, startFirstWorker, threadEnv } = await import('./worker-process.ts');
  // A substituted spawner (tests) gets every worker; otherwise the one bin/ prestarted, if any.
  const prestarted = options.spawnWorker ? undefined : (await import('./prestart.cjs')).takePrestarted();
  const first = startFirstWorker(options.backend, threadEnv(guess.threads), options.spawnWorker ?? spawnWorker, prestarted);
  try {
    // Loaded while the worker starts: launch needs them next.
    const preload = Promise.all([import('./local.ts'), import('./progress.ts')]).catch(() => undefined);
    const backend = await first.backend;
    const { jobs, threads } = size(CPU_LIKE.has(backend.name));
    if (threads !== guess.threads) first.release();
    const each = backend.name === 'native' ? `, ${threads} thread${threads > 1 ? 's' : ''} each` : '';
    options.note(`backend: ${backend.name} (${backend.reason}); ${jobs} parallel job${jobs > 1 ? 's' : ''}${each}`);
    await preload;
    return { plans, backend, jobs, threads, first };
  } catch (err) {
    first.release();
    throw err;
  }
}

async function launchLocal(p: LocalPrepared, options: LocalExecutorOptions): Promise<LocalResult> {
  const { runLocal } = await import('./local.ts');
  const { createDisplay } = await import('./progress.ts');
  const makeDisplay = options.makeDisplay ?? (() => createDisplay());
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const common: Omit<LocalRunOptions, 'display'> = {
      resultsRoot: options.resultsRoot, jobs: p.jobs, threads: p.threads, runsPerWorker: options.runsPerWorker, backend: p.backend.name, failFast: options.failFast,
      force: options.force, preset: options.preset, sets: options.sets, stopSignal: stop.signal, share: true,
      firstWorker: p.first, ...(options.spawnWorker ? { spawnWorker: options.spawnWorker } : {}),
    };
    const summary = options.wait
      ? await (await import('./wait-locked.ts')).runLocalWaiting(p.plans, common, { makeDisplay })
      : await runLocal(p.plans, { ...common, display: makeDisplay() });
    return { summary, aborted: stop.signal.aborted };
  } finally {
    // Nothing to train (or a refusal while preparing the folders): the first worker is not needed.
    p.first.release();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function summarise({ summary, aborted }: LocalResult): ExecutorSummary {
  const shared = summary.done.filter((r) => (r as { copyOf?: string }).copyOf).length;
  const locked = summary.locked.length ? `, ${summary.locked.length} left to another process training them` : '';
  const lines = [
    `${summary.done.length} done${shared ? ` (${shared} copied from a run another study shares)` : ''}, ${summary.skipped} skipped (done earlier), `
    + `${summary.failed.length} failed, ${summary.interrupted.length} interrupted, ${summary.notStarted.length} not started${locked}`,
    ...summary.failed.map((f) => `  failed ${f.experiment}/${f.id} ${f.name}: ${f.error}`),
    `results: ${summary.resultsDirs.join(', ')}`,
  ];
  const text = `${lines.join('\n')}\n`;
  if (aborted || summary.interrupted.length > 0) {
    return { text, error: new InterruptedError('interrupted: finished runs are saved and unfinished ones checkpointed; run the same command again to resume') };
  }
  const n = summary.failed.length;
  return n > 0 ? { text, error: new RunFailedError(`${n} run${n > 1 ? 's' : ''} failed`) } : { text };
}

/**
 * Parallel jobs and threads per job on `cores`: jobs x threads <= cores. Default jobs: one per
 * core on the CPU backends, 1 on gpu/node (which thread themselves); default threads: cores /
 * jobs. Given threads without jobs, as many jobs as fit. Both given and too many: a usage error.
 */
export function shareCores(cores: number, runs: number, cpuLike: boolean, jobs?: number, threads?: number): { jobs: number; threads: number } {
  const capped = (n: number) => Math.max(1, Math.min(n, runs));
  if (jobs !== undefined && threads !== undefined) {
    if (jobs * threads > cores) throw new UsageError(`--jobs ${jobs} x --threads ${threads} = ${jobs * threads} exceeds the ${cores} cores here`);
    return { jobs, threads };
  }
  if (threads !== undefined) return { jobs: capped(Math.floor(cores / Math.min(threads, cores))), threads: Math.min(threads, cores) };
  const j = jobs ?? capped(cpuLike ? cores : 1);
  return { jobs: j, threads: Math.max(1, Math.floor(cores / j)) };
}
