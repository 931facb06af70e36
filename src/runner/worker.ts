/**
 * A worker process that trains run after run (bin/worker.js, forked by the local runner):
 * Node, tsx, TensorFlow.js and the backend start once per worker instead of once per run, which
 * was 5–6 s of every run (issue 10: runner and worker overhead under 2 % of a grid's wall time).
 *
 * Protocol over the IPC channel: first the backend, then one run at a time:
 *   parent → worker  { type: 'start', backend, env }       only to a worker forked without --backend
 *                                                          (prestart.ts): the request, and the thread env
 *   worker → parent  { type: 'ready', backend }            the backend it resolved (`auto` included)
 *                    or { type: 'unavailable', message }    the request cannot be met here; it exits 2
 *   parent → worker  { type: 'run', runDir, lockToken }   train this prepared run folder
 *   worker → parent  WorkerMessage…                        progress and evaluations (run-one.ts)
 *   worker → parent  { type: 'free', runDir, tensors }     the run is done; send the next one
 * A run that fails or is interrupted ends the worker (its exit code says which, as `run-one`'s
 * does), so nothing a broken run left behind reaches the next one. The parent closing the
 * channel, SIGINT or SIGTERM checkpoint the run in progress; an idle worker just exits.
 *
 * A run trained after others in one worker gives the same metrics as in a fresh process: every
 * random stream is seeded from the run's config, and names that tfjs makes unique per process
 * (weights become `kernel_1` the second time) are never used to decide anything (train/step.ts
 * selects by `originalName`). test/runner/worker.test.ts checks it bit for bit.
 *
 * The worker resolves the backend as soon as it starts, before the first run is sent: the local
 * runner forks its first worker while it plans and takes the grid's backend from that worker's
 * report (local-executor.ts), so the parent never imports tfjs and the worker's start-up overlaps
 * the parent's. Every later worker is forked with the reported name, so a grid has one backend.
 *
 * A run whose data config matches the previous run's reuses its dataset (data/reuse.ts): the
 * CI pose gate's LSPET crops are read, checked and decoded once per worker, not once per run.
 */
import type { RunConfig } from '../config/schema.ts';
import { DatasetCache } from '../data/reuse.ts';
import { BackendError } from '../errors.ts';
import type { BackendName, BackendRequest } from '../backend/names.ts';
import { runOne, type RunOneOptions } from './run-one.ts';

/** What a worker reports about the backend it resolved: the runner's note line and pool size use it. */
export interface BackendReport {
  name: BackendName;
  /** Why this backend: forced, or which candidates `auto` skipped and why. */
  reason: string;
  detail: string;
  threads: number;
}

/** The worker's first message when its backend works. */
export interface ReadyMessage {
  type: 'ready';
  backend: BackendReport;
}

/** The worker's first message when the requested backend cannot be used here (then it exits 2). */
export interface UnavailableMessage {
  type: 'unavailable';
  /** The BackendError's one line. */
  message: string;
}

/**
 * What the parent sends first to a worker it forked before it knew the backend (prestart.ts):
 * the request, and the environment the worker sets before the backend loads (threadEnv).
 */
export interface StartCommand {
  type: 'start';
  backend: BackendRequest;
  env: Record<string, string>;
}

/** What the parent sends: the next run to train. */
export interface RunCommand {
  type: 'run';
  runDir: string;
  /** The parent's lock on the run (it locked before preparing the folder). */
  lockToken?: string;
}

/** What the worker sends when a run ended well: it is free for the next. */
export interface FreeMessage {
  type: 'free';
  runDir: string;
  /** Live tfjs tensors after the run: the same after every run, or the worker leaks. */
  tensors: number;
}

export interface ServeOptions {
  /** The backend every run uses: what `announceBackend` resolved. */
  backend: BackendName;
  /** Aborts the run in progress (it checkpoints) and ends the loop. */
  signal: AbortSignal;
  /** Trains one run; tests substitute their own. */
  train?: (runDir: string, options: RunOneOptions) => Promise<void>;
}

/**
 * Trains the runs the parent sends until the channel closes or `signal` aborts. Resolves when
 * idle at that point; rejects with the run's error (InterruptedError after a checkpoint).
 */
export function serveRuns(options: ServeOptions): Promise<void> {
  const train = options.train ?? runOne;
  const datasets = new DatasetCache();
  // The line lands in the run's worker.log: a reader can tell which runs skipped the loading.
  const openDataset = async (config: RunConfig) => {
    const { dataset, reused } = await datasets.open(config);
    if (reused) process.stderr.write(`worker: data ${config.data.name} reused from this worker's previous run\n`);
    return dataset;
  };
  return new Promise<void>((resolve, reject) => {
    let busy = false;
    const finish = () => {
      process.off('message', onMessage);
      options.signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      if (!busy) { finish(); resolve(); }
    };
    const onMessage = (message: RunCommand) => {
      if (message?.type !== 'run' || busy) return;
      busy = true;
      train(message.runDir, { backend: options.backend, signal: options.signal, lockToken: message.lockToken, openDataset })
        .then(async () => {
          busy = false;
          if (options.signal.aborted) { finish(); resolve(); return; }
          send({ type: 'free', runDir: message.runDir, tensors: await liveTensors() });
        })
        .catch((err) => { finish(); reject(err); });
    };
    process.on('message', onMessage);
    options.signal.addEventListener('abort', onAbort);
    if (options.signal.aborted) onAbort();
  });
}

/**
 * Resolves the request (`auto` picks as selectBackend does), reports it to the parent and loads
 * the trainer, so the first run starts without imports. An unavailable backend is reported as
 * such and rethrown: the worker ends with the BackendError's line and exit 2.
 */
export async function announceBackend(request: BackendRequest): Promise<BackendName> {
  const { selectBackend } = await import('../backend/index.ts');
  let report: BackendReport;
  try {
    const b = await selectBackend(request);
    report = { name: b.name, reason: b.reason, detail: b.detail, threads: b.threads };
  } catch (err) {
    if (err instanceof BackendError) send({ type: 'unavailable', message: err.message });
    throw err;
  }
  send({ type: 'ready', backend: report });
  await import('../train/trainer.ts');
  return report.name;
}

function send(message: FreeMessage | ReadyMessage | UnavailableMessage): void {
  if (process.connected) process.send?.(message);
}

/** tfjs's live tensor count, where a run loaded tfjs (a substituted trainer may not). */
async function liveTensors(): Promise<number> {
  const { default: tf } = await import('../tf.cjs');
  return tf.memory().numTensors;
}
