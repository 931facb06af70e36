import type { ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plan } from '../grid/index.ts';
import { decideResume, type ResumeDecision } from '../results/resume.ts';
import { ResultsStore } from '../results/store.ts';
import { BnnError, ResultsError } from '../errors.ts';
import { acquireRunLock, describeHolder, type LockInfo, type RunLock } from '../results/lock.ts';
import type { BackendName } from '../backend/names.ts';
import type { ProgressDisplay, RunEnd, RunLabel } from './progress.ts';
import type { WorkerMessage } from './run-one.ts';
import type { FreeMessage, ReadyMessage, RunCommand, UnavailableMessage } from './worker.ts';
import { spawnWorker, threadEnv, type FirstWorker, type SpawnWorker } from './worker-process.ts';
import { experimentRecord } from './experiment-record.ts';
import { type DepStatus, nextStep, stopsGrid } from './schedule.ts';

/** Exit code of a worker that checkpointed after SIGINT/SIGTERM. */
const INTERRUPTED_EXIT = 130;
/** Worker stdout and stderr, kept in the run folder so a failure can be read after the fact. */
export const WORKER_LOG = 'worker.log';

/** What preparing run folders needs; shared by the local pool and the Slurm executor. */
export interface PrepareOptions {
  resultsRoot: string;
  force: boolean;
  preset: string | null;
  sets: string[];
  /** Plan only: decide what would run, but write no file (a dry run). */
  dryRun?: boolean;
  /**
   * Train a run that several experiments of this invocation plan (the same resolved config, so
   * the same id) once, and copy its results into the other experiments' folders (local runner).
   */
  share?: boolean;
  /** Runs to leave untouched (e.g. still queued on the cluster): neither prepared nor returned. */
  hold?: (experiment: string, id: string) => boolean;
}

/** A pending run with its folder prepared; `deps` are `experiment/id` keys of its teachers. */
export interface PreparedRun extends RunLabel {
  store: ResultsStore;
  deps: string[];
  /** With `share`: the `experiment/id` whose results this run copies instead of training (also in deps). */
  copyOf?: string;
  /** This process's lock on the run (absent in a dry run); release it when done with the run. */
  lock?: RunLock;
}

export interface Preparation {
  planned: number;
  /** Runs already done (final.json parses): not run again. */
  skipped: number;
  /** Runs left alone because `hold` said so. */
  held: RunLabel[];
  /** Runs another live process is training (it holds their lock): left to it. */
  locked: Array<RunLabel & { holder: LockInfo }>;
  /** Lines for the user: corrupt or replaced runs whose files were set aside. */
  notes: string[];
  pending: PreparedRun[];
  /** Every plan's store, by experiment name (dependencies may cross experiments with `share`). */
  stores: Map<string, ResultsStore>;
  resultsDirs: string[];
}

/**
 * Writes each plan's experiment.json and prepares a folder (config.yaml, a `pending` meta.json) for
 * every run that is not done yet, in plan order (teachers first). A folder holding another config
 * is refused (all at once) unless `force`, which replaces it (setting the old files aside, as for a
 * corrupt run). Each prepared run is locked first; a run another live process holds is left to
 * it (`locked`). The caller releases the locks of `pending`.
 */
export function prepareRuns(plans: Plan[], options: PrepareOptions): Preparation {
  const out: Preparation = { planned: 0, skipped: 0, held: [], locked: [], notes: [], pending: [], resultsDirs: [], stores: new Map() };
  // Every plan's decisions first: a refusal (a folder holding another config) writes nothing.
  const decided = plans.map((plan) => {
    const store = new ResultsStore(options.resultsRoot, plan.experiment);
    return { plan, store, decisions: decideResume(store, plan.runs, { force: options.force }) };
  });
  // The first experiment (in plan order) that plans each run id trains it; later ones copy it.
  const firstOf = new Map<string, string>();
  try {
    for (const { plan, store, decisions } of decided) {
      out.resultsDirs.push(store.dir);
      out.stores.set(plan.experiment, store);
      if (!options.dryRun) store.writeExperiment(experimentRecord(plan, options.preset, options.sets));
      for (const decision of decisions) {
        const first = firstOf.get(decision.run.id);
        if (!first) firstOf.set(decision.run.id, `${plan.experiment}/${decision.run.id}`);
        prepareOne(plan, store, decision, options, out, options.share ? first : undefined);
      }
    }
  } catch (err) {
    for (const run of out.pending) run.lock?.release();
    throw fileSystemProblem(err);
  }
  return out;
}

/** A file-system error while preparing (a path that is a folder, a file, unwritable) is bad input naming the path, not a crash. */
function fileSystemProblem(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException & { dest?: string };
  if (err instanceof BnnError || typeof e?.code !== 'string' || !e.syscall) return err;
  const path = e.dest ?? e.path ?? '?';
  return new ResultsError(`${path}: cannot prepare the run folders (${e.code} on ${e.syscall}); fix or remove it`);
}

function prepareOne(plan: Plan, store: ResultsStore, decision: ResumeDecision, options: PrepareOptions, out: Preparation, copyOf?: string): void {
  out.planned++;
  if (decision.action === 'skip') { out.skipped++; return; }
  const run = decision.run;
  const key = (id: string) => `${plan.experiment}/${id}`;
  const label: RunLabel = { key: key(run.id), experiment: plan.experiment, id: run.id, name: run.name };
  if (options.hold?.(plan.experiment, run.id)) { out.held.push(label); return; }
  let lock: RunLock | undefined;
  if (!options.dryRun) {
    // Locked before prepare: prepare rewrites meta.json, which a live trainer owns.
    mkdirSync(store.runDir(run.id), { recursive: true });
    const attempt = acquireRunLock(store.runDir(run.id));
    if (!attempt.acquired) { out.locked.push({ ...label, holder: attempt.holder }); return; }
    lock = attempt.lock;
    try {
      const why = decision.previous === 'corrupt' ? store.corruption(run.id) : undefined;
      const { setAside } = store.prepare(run, { force: decision.action === 'replace' });
      if (setAside) out.notes.push(`${plan.experiment}/${run.id} ${run.name}: ${why ? `corrupt (${why})` : 'stored config differs (--force)'}; its files were moved to ${setAside}; training it again`);
    } catch (err) {
      lock.release();
      throw err;
    }
  }
  // A copy waits for the run it copies only: its own teachers are that run's teachers' copies.
  const deps = copyOf ? [copyOf] : (run.dependsOn ?? []).map(key);
  out.pending.push({ ...label, store, deps, ...(copyOf ? { copyOf } : {}), ...(lock ? { lock } : {}) });
}

export interface LocalRunOptions {
  resultsRoot: string;
  jobs: number;
  /** Threads per worker (OMP_NUM_THREADS etc.); default 1 when jobs > 1, else the worker's own default. */
  threads?: number;
  /** Runs a worker process trains before it is retired and a fresh one takes over; default no limit. */
  runsPerWorker?: number;
  backend: BackendName;
  failFast: boolean;
  force: boolean;
  preset: string | null;
  sets: string[];
  display: ProgressDisplay;
  /**
   * Starts one pooled worker process (the protocol of src/runner/worker.ts; stdout and stderr
   * piped, or ignored); tests substitute their own.
   */
  spawnWorker?: SpawnWorker;
  /**
   * The worker that resolved the backend while the parent planned (worker-process.ts), forked
   * with this pool's thread count: taken for the first run instead of forking one.
   */
  firstWorker?: FirstWorker;
  /** Resolves when the user asks to stop (SIGINT/SIGTERM); the default listens to the process. */
  stopSignal?: AbortSignal;
  /** Train each distinct run once across the plans (see PrepareOptions.share). */
  share?: boolean;
}

export interface GridSummary {
  planned: number;
  skipped: number;
  done: RunLabel[];
  failed: Array<RunLabel & { error: string }>;
  interrupted: RunLabel[];
  /** Runs never started because the grid stopped first (fail-fast or interrupt). */
  notStarted: RunLabel[];
  /** Runs left to another live process that holds their lock. */
  locked: Array<RunLabel & { holder: LockInfo }>;
  resultsDirs: string[];
}

type Task = PreparedRun;

/**
 * Trains the plans' pending runs in worker processes, at most `jobs` at once, each run only
 * after its teachers are done. A failed run is recorded and the grid goes on (unless failFast);
 * its students fail with the reason instead of training without a teacher.
 */
export async function runLocal(plans: Plan[], options: LocalRunOptions): Promise<GridSummary> {
  const prepared = prepareRuns(plans, options);
  try {
    return await trainPrepared(prepared, options);
  } finally {
    for (const task of prepared.pending) task.lock?.release();
  }
}

function trainPrepared(prepared: Preparation, options: LocalRunOptions): Promise<GridSummary> {
  return new LocalGrid(prepared, options).run();
}

/** A pooled worker process, the run it trains now, and the last run it was sent (whose log its output joins). */
interface PooledWorker {
  child: ChildProcess;
  /** Runs sent to it so far. */
  runs: number;
  /** Live tfjs tensors after its first run: more after a later one means the worker leaks. */
  tensors?: number;
  task?: Task;
  last?: Task;
  /** Resolves the task's entry in `running`. */
  settle?: () => void;
}

/**
 * One invocation's pool of worker processes: launches what `nextStep` (schedule.ts) picks on an
 * idle worker (at most `jobs` live; each trains run after run), records how each run ended
 * (`finish`), and turns a stop (fail-fast or the signal) into SIGTERM for the workers, which
 * checkpoint. The workers end with the grid.
 */
class LocalGrid {
  private readonly summary: GridSummary;
  private readonly display: ProgressDisplay;
  private readonly outcome = new Map<string, RunEnd>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly workers = new Set<PooledWorker>();
  private readonly idle: PooledWorker[] = [];
  private readonly exited: Array<Promise<void>> = [];
  private stopping = false;
  private readonly stop = () => {
    if (this.stopping) return;
    this.stopping = true;
    for (const worker of this.workers) worker.child.kill('SIGTERM');
  };

  constructor(private readonly prepared: Preparation, private readonly options: LocalRunOptions) {
    this.display = options.display;
    this.summary = {
      planned: prepared.planned, skipped: prepared.skipped, done: [], failed: [], interrupted: [], notStarted: [],
      locked: prepared.locked, resultsDirs: prepared.resultsDirs,
    };
  }

  async run(): Promise<GridSummary> {
    const { prepared, display } = this;
    for (const line of prepared.notes) display.note?.(line);
    for (const r of prepared.locked) display.note?.(`${r.experiment}/${r.id} ${r.name}: trained by another process (${describeHolder(r.holder)}); left to it`);
    display.gridStart(prepared.pending.length, this.summary.skipped);
    this.options.stopSignal?.addEventListener('abort', this.stop);
    let waiting: Task[] = [...prepared.pending];
    for (;;) {
      const next = nextStep({
        waiting, running: this.running.size, jobs: this.options.jobs, stopping: this.stopping, statusOf: (d, t) => this.statusOf(d, t),
      });
      if (next.action === 'finished') break;
      if (next.action === 'wait') await Promise.race(this.running.values());
      else if (next.action === 'abandon') { this.summary.notStarted.push(...next.tasks); waiting = []; }
      else {
        waiting = waiting.filter((t) => t !== next.task);
        if (next.action === 'launch') this.launch(next.task);
        else { next.task.store.fail(next.task.id, next.reason); this.finish(next.task, 'blocked', next.reason); }
      }
    }
    this.options.stopSignal?.removeEventListener('abort', this.stop);
    await this.closeWorkers();
    display.stop();
    return this.summary;
  }

  /** Idle workers exit when their channel closes; the grid returns once every worker is gone. */
  private async closeWorkers(): Promise<void> {
    for (const worker of this.workers) if (worker.child.connected) worker.child.disconnect();
    await Promise.all(this.exited);
  }

  /**
   * A teacher is in its student's experiment, so the student's store knows it, also when it
   * finished in an earlier invocation and is therefore not in this queue at all.
   */
  private statusOf(depKey: string, student: Task): DepStatus {
    const known = this.outcome.get(depKey);
    if (known) return known;
    const [experiment, id] = depKey.split('/') as [string, string];
    return (this.prepared.stores.get(experiment) ?? student.store).status(id) === 'done' ? 'done' : 'pending';
  }

  private finish(task: Task, status: RunEnd, detail: string): void {
    this.outcome.set(task.key, status);
    if (status === 'done') this.summary.done.push(task);
    else if (status === 'interrupted') this.summary.interrupted.push(task);
    else this.summary.failed.push({ ...task, error: detail });
    this.display.runEnd(task, status, detail);
    if (stopsGrid(status, this.options.failFast)) this.stop();
  }

  private launch(task: Task): void {
    if (task.copyOf) return this.copyShared(task);
    this.display.runStart(task);
    const worker = this.idle.pop() ?? this.startWorker();
    worker.task = task;
    worker.last = task;
    worker.runs++;
    this.running.set(task.key, new Promise<void>((resolve) => { worker.settle = resolve; }));
    const command: RunCommand = { type: 'run', runDir: task.store.runDir(task.id), ...(task.lock ? { lockToken: task.lock.info.token } : {}) };
    worker.child.send(command);
  }

  private startWorker(): PooledWorker {
    const { options } = this;
    const env = { ...process.env, ...threadEnv(options.threads ?? (options.jobs > 1 ? 1 : undefined)) };
    const child = options.firstWorker?.take() ?? (options.spawnWorker ?? spawnWorker)(options.backend, env);
    const worker: PooledWorker = { child, runs: 0 };
    this.workers.add(worker);
    for (const stream of [worker.child.stdout, worker.child.stderr]) stream?.on('data', (chunk: Buffer) => logOutput(worker, chunk));
    // A send to a worker that just died: its 'exit' below records the run.
    worker.child.on('error', (err) => logOutput(worker, Buffer.from(`runner: ${err.message}\n`)));
    worker.child.on('message', (m: WorkerMessage | FreeMessage | ReadyMessage | UnavailableMessage) => {
      // After the output already read in this turn of the event loop, so it joins this run's log.
      if (m.type === 'free') setImmediate(() => this.runEnded(worker, { free: true, tensors: m.tensors }));
      // A later worker is forked with the grid's backend by name; one that cannot start it fails its run with the reason.
      else if (m.type === 'unavailable') { if (worker.task) worker.task.store.fail(worker.task.id, m.message); }
      else if (m.type !== 'ready' && worker.task) this.display.message(worker.task, m);
    });
    this.exited.push(new Promise<void>((resolve) => {
      worker.child.once('exit', (code, signal) => {
        this.workers.delete(worker);
        const i = this.idle.indexOf(worker);
        if (i >= 0) this.idle.splice(i, 1);
        this.runEnded(worker, { code, signal });
        resolve();
      });
    }));
    return worker;
  }

  /** The worker's run ended: it said so and is free again, or the worker exited (with the run, if any). */
  private runEnded(worker: PooledWorker, how: { free: true; tensors: number } | { code: number | null; signal: NodeJS.Signals | null }): void {
    const task = worker.task;
    if (!task) return;
    worker.task = undefined;
    this.running.delete(task.key);
    task.lock?.release();
    if ('free' in how) {
      if (worker.runs < (this.options.runsPerWorker ?? Infinity) && !this.leaks(worker, how.tensors, task)) this.idle.push(worker);
      else worker.child.disconnect();
      this.workerEnded(task, 0, null);
    } else {
      this.workerEnded(task, how.code, how.signal);
    }
    worker.settle?.();
  }

  /**
   * A worker holding more live tensors than after its first run leaks (a kernel or layer that does
   * not dispose): it is retired, so memory stays bounded over a long grid, and the user is told.
   */
  private leaks(worker: PooledWorker, tensors: number, task: Task): boolean {
    worker.tensors ??= tensors;
    if (tensors <= worker.tensors) return false;
    this.display.note?.(`${task.key}: the worker held ${tensors - worker.tensors} more tensors after this run than after its first; a fresh worker takes the next run`);
    return true;
  }

  /** Reads how the worker left its run folder: done, checkpointed, or failed (recorded here if it could not). */
  private workerEnded(task: Task, code: number | null, signal: NodeJS.Signals | null): void {
    if (task.store.status(task.id) === 'done') return this.finish(task, 'done', summarize(task));
    const meta = task.store.readMeta(task.id);
    // What the worker recorded, not store.status(), which calls any run of a dead process
    // 'interrupted': a worker killed or crashed mid-run did not checkpoint, and its run failed.
    if (code === INTERRUPTED_EXIT || meta?.status === 'interrupted') return this.finish(task, 'interrupted', 'checkpointed; rerun to resume');
    const runDir = task.store.runDir(task.id);
    const error = meta?.error ?? `worker exited with ${signal ?? `code ${code}`}; see ${join(runDir, WORKER_LOG)}`;
    // A worker that died without recording why (killed, crashed) is recorded here.
    if (meta?.status !== 'failed') task.store.fail(task.id, error);
    if (process.env.BNN_ABLATE_DEBUG) process.stderr.write(`${task.key}: end of ${join(runDir, WORKER_LOG)}:\n${logTail(join(runDir, WORKER_LOG))}\n`);
    this.finish(task, 'failed', error);
  }

  /** A run trained once for several experiments: its results are copied, nothing is trained. */
  private copyShared(task: Task): void {
    const [experiment, id] = task.copyOf!.split('/') as [string, string];
    try {
      task.store.adoptShared(task.id, this.prepared.stores.get(experiment)!.runDir(id), task.copyOf!);
      this.finish(task, 'done', `shared with ${task.copyOf} (trained once)`);
    } catch (err) {
      task.store.fail(task.id, `copying ${task.copyOf}: ${(err as Error).message}`);
      this.finish(task, 'failed', `copying ${task.copyOf}: ${(err as Error).message}`);
    } finally {
      task.lock?.release();
    }
  }
}

/**
 * A worker's stdout and stderr go to the worker.log of the run it trains (or trained last: a
 * stack written just before the worker exits arrives after the run ended), where a failure can be
 * read after the fact.
 */
function logOutput(worker: PooledWorker, chunk: Buffer): void {
  const task = worker.last;
  if (!task) return;
  try {
    appendFileSync(join(task.store.runDir(task.id), WORKER_LOG), chunk);
  } catch {
    // A log that cannot be written (the folder was removed) must not stop the grid.
  }
}

/** The last lines of a worker log (where a failed worker's stack is), for BNN_ABLATE_DEBUG. */
function logTail(path: string, lines = 40): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no worker.log)';
  }
}

function summarize(task: Task): string {
  const final = task.store.readFinal<{ metrics?: Record<string, unknown>; wall_s?: number }>(task.id);
  const m = final?.metrics ?? {};
  const metric = typeof m.pckh === 'number' ? `PCKh ${m.pckh.toFixed(1)}` : typeof m.top1 === 'number' ? `top-1 ${m.top1.toFixed(1)}` : '';
  return [metric, final?.wall_s !== undefined ? `${Math.round(final.wall_s)} s` : ''].filter(Boolean).join(', ');
}
