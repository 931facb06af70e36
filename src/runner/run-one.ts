import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { RunConfig } from '../config/schema.ts';
import type { Dataset } from '../data/types.ts';
import { BnnError, InterruptedError, ResultsError, RunFailedError, stackWithCauses } from '../errors.ts';
import { FILES, ResultsStore } from '../results/store.ts';
import type { BackendRequest } from '../backend/names.ts';
import { RunEvents, histogramOf } from '../tensorboard/index.ts';
import { acquireRunLock, describeHolder, joinParentLock, type RunLock } from '../results/lock.ts';

/** Messages a worker sends its parent over the IPC channel (when it has one). */
export type WorkerMessage =
  | { type: 'started'; id: string; backend: string }
  | { type: 'progress'; id: string; step: number; total: number; stage: string; loss: number; imagesPerSecond: number }
  | { type: 'eval'; id: string; step: number; metric: string; value: number };

export interface RunOneOptions {
  backend: BackendRequest;
  signal?: AbortSignal;
  /** Receives progress; default: the IPC channel when forked, else nothing. */
  report?: (message: WorkerMessage) => void;
  /** The parent's lock token: a pooled worker gets one with each run (the runner locked it first). */
  lockToken?: string;
  /** Opens the run's dataset (default: a fresh one); a pooled worker reuses one across runs. */
  openDataset?: (config: RunConfig) => Promise<Dataset>;
}

/** How often (ms) progress is reported: often enough for a live bar, rarely enough to cost nothing. */
const PROGRESS_INTERVAL_MS = 500;

/**
 * Trains the run whose folder the runner prepared (`<results>/<experiment>/<id>/` with
 * config.yaml and meta.json) and records the outcome there: done with final.json, failed with
 * the reason, or interrupted after a checkpoint. Throws after recording a failure.
 */
export async function runOne(runDir: string, options: RunOneOptions): Promise<void> {
  const dir = resolve(runDir);
  const id = basename(dir);
  const store = new ResultsStore(dirname(dirname(dir)), basename(dirname(dir)));
  const config = store.readConfig(id) as RunConfig | undefined;
  const meta = store.readMeta(id);
  if (!config || !meta) throw new ResultsError(`${dir}: not a prepared run folder (needs ${FILES.config} and ${FILES.meta}); use 'bnn-ablate run'`);
  const lock = lockRun(dir, options.lockToken);
  try {
    await trainRun(dir, store, id, config, meta, options);
  } finally {
    lock?.release();
  }
}

/**
 * The run's lock: the parent's when it passed its token (the local runner locks before it
 * prepares), else one of our own (a cluster task, a user). A run another live process holds
 * is refused, so no run is trained twice at once.
 */
function lockRun(dir: string, token: string | undefined): RunLock | undefined {
  if (token && joinParentLock(dir, token)) return undefined;
  const attempt = acquireRunLock(dir);
  if (!attempt.acquired) throw new ResultsError(`${dir}: being trained by ${describeHolder(attempt.holder)}; not started a second time`);
  return attempt.lock;
}

async function trainRun(dir: string, store: ResultsStore, id: string, config: RunConfig, meta: { name: string; dependsOn: string[] },
  options: RunOneOptions): Promise<void> {
  // Only while the parent listens: a send on a closed channel is an unhandled error that kills the worker.
  const report = options.report ?? ((m: WorkerMessage) => { if (process.connected) process.send?.(m); });
  let events: RunEvents | undefined;

  try {
    const teacherDir = resolveTeacher(store, config, meta.dependsOn);
    // Loaded here, not at the top: the parent process imports this module without tfjs.
    const { selectBackend } = await import('../backend/index.ts');
    const { train } = await import('../train/trainer.ts');
    // train.threads, else what the runner (or Slurm's --cpus-per-task) put in OMP_NUM_THREADS.
    const backend = await selectBackend(options.backend, { threads: config.train.threads ?? undefined });
    store.markRunning(id, { name: backend.name, version: backend.version, ...backend.versions, threads: backend.threads, detail: backend.detail });
    report({ type: 'started', id, backend: backend.name });
    let lastReport = 0;
    const metric = config.task === 'pose' ? 'pckh' : 'top1';
    events = config.train.tensorboard ? new RunEvents(dir, meta.name) : undefined;
    const outcome = await train({
      config, runDir: dir, teacherDir, signal: options.signal, openDataset: options.openDataset,
      hooks: {
        // Lines (and TensorBoard events) after the step training starts from (0, or a checkpoint's) are logged again.
        onStart: (step) => {
          store.truncateMetrics(id, step);
          events?.start(step);
        },
        onEval: (record, extras) => {
          store.appendMetrics(id, record);
          events?.evaluation(record, Object.fromEntries(Object.entries(extras.latentWeights).map(([layer, w]) => [layer, histogramOf(w)])));
          report({ type: 'eval', id, step: record.step, metric, value: Number(record[metric]) });
        },
        onProgress: (p) => {
          const now = Date.now();
          if (now - lastReport < PROGRESS_INTERVAL_MS && p.step < p.total) return;
          lastReport = now;
          report({ type: 'progress', id, ...p });
        },
      },
    });
    if (outcome.status === 'interrupted') {
      store.interrupt(id, `interrupted at step ${outcome.step}; rerun to resume from its checkpoint`);
      throw new InterruptedError(`run ${id} interrupted at step ${outcome.step}`);
    }
    store.finish(id, { ...outcome.final });
  } catch (err) {
    if (err instanceof InterruptedError) throw err;
    const message = err instanceof BnnError ? err.message : `${(err as Error)?.message ?? err}`;
    store.fail(id, message);
    if (err instanceof BnnError) throw err;
    // An unexpected error: its stack goes to stderr, which is the run's worker.log under the
    // runner, and stays attached as `cause` for BNN_ABLATE_DEBUG.
    process.stderr.write(`run ${id}: ${stackWithCauses(err)}\n`);
    throw new RunFailedError(`run ${id} failed: ${message}`, { cause: err });
  } finally {
    events?.close();
  }
}

/**
 * The teacher's run folder: the grid dependency's sibling folder for a mapping teacher, or the
 * path itself for a saved run. Either must hold a finished run; a student never silently trains
 * without its teacher.
 */
function resolveTeacher(store: ResultsStore, config: RunConfig, dependsOn: string[]): string | undefined {
  const teacher = config.distill.teacher;
  if (teacher === null || teacher === undefined) return undefined;
  let dir: string;
  if (typeof teacher === 'string') {
    dir = resolve(teacher);
  } else {
    const id = dependsOn[0];
    if (!id) throw new RunFailedError('distill.teacher selects a run of the grid, but the plan gave this run no teacher dependency');
    const status = store.status(id);
    if (status !== 'done') {
      const error = store.readMeta(id)?.error;
      throw new RunFailedError(`teacher run ${id} is ${status}${error ? ` (${error})` : ''}`);
    }
    dir = store.runDir(id);
  }
  if (!existsSync(join(dir, FILES.final)) || !existsSync(join(dir, FILES.model, 'model.json'))) {
    throw new RunFailedError(`teacher ${dir} is not a finished run (it needs final.json and model/model.json)`);
  }
  return dir;
}
