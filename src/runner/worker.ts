/**
 * A worker process that trains run after run (`bnn-ablate worker`, forked by the local runner):
 * Node, tsx, TensorFlow.js and the backend start once per worker instead of once per run, which
 * was 5–6 s of every run (issue 10: runner and worker overhead under 2 % of a grid's wall time).
 *
 * Protocol over the IPC channel, one run at a time:
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
 */
import type { BackendRequest } from '../backend/names.ts';
import { runOne, type RunOneOptions } from './run-one.ts';

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
  backend: BackendRequest;
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
      train(message.runDir, { backend: options.backend, signal: options.signal, lockToken: message.lockToken })
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

function send(message: FreeMessage): void {
  if (process.connected) process.send?.(message);
}

/** tfjs's live tensor count, where a run loaded tfjs (a substituted trainer may not). */
async function liveTensors(): Promise<number> {
  const tf = await import('@tensorflow/tfjs');
  return tf.memory().numTensors;
}
