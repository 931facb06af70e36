/**
 * Forking the local runner's worker processes (bin/worker.js: worker-main.ts, worker.ts), and the
 * first of them, which resolves the backend request in its own process and reports what it
 * chose; the pool then takes it over for the first run. So the parent never imports tfjs, and
 * the first worker's start (Node, tsx, tfjs, the backend) overlaps the parent's own: under
 * `bnn-ablate run` it was forked before the CLI loaded (prestart.cjs) and gets its request
 * here; otherwise it is forked here, while the parent plans and prepares the run folders
 * (issue 10: runner overhead under 2 % of a grid).
 */
import type { ChildProcess } from 'node:child_process';
import type { BackendRequest } from '../backend/names.ts';
import { BackendError, RunFailedError } from '../errors.ts';
import { endWorker, forkWorker, workerAlive } from './prestart.cjs';
import type { BackendReport, ReadyMessage, StartCommand, UnavailableMessage } from './worker.ts';

/** Starts one worker process (stdout and stderr piped, or ignored, plus the IPC channel); tests substitute their own. */
export type SpawnWorker = (backend: BackendRequest, env: NodeJS.ProcessEnv) => ChildProcess;

export const spawnWorker: SpawnWorker = (backend, env) => forkWorker(['--backend', backend], env);

/**
 * Each worker's thread count (oneDNN's OpenMP pool, TensorFlow's intra-op pool), so that jobs x
 * threads stays within the cores; a run's own train.threads still wins in the worker. Set at the
 * fork: tfjs-node reads it when the backend starts, before any run.
 */
export function threadEnv(threads: number | undefined): Record<string, string> {
  if (threads === undefined) return {};
  const n = String(threads);
  return { TF_NUM_INTRAOP_THREADS: n, TF_NUM_INTEROP_THREADS: '1', OMP_NUM_THREADS: n };
}

/** The worker that resolves the grid's backend, until the pool takes it. */
export interface FirstWorker {
  /**
   * What the worker resolved. Rejects with a BackendError (the request cannot be met here: its
   * one line) or a RunFailedError (the worker ended before it reported).
   */
  readonly backend: Promise<BackendReport>;
  /** The live worker, handed over once; undefined after it exited, was released or taken. */
  take(): ChildProcess | undefined;
  /** Ends the worker unless the pool took it: an error before training, nothing to train. */
  release(): void;
}

/**
 * Forks the first worker with `env` added to this process's, or hands the request and `env` to
 * `prestarted`, a worker forked before the command line was parsed (prestart.cjs).
 */
export function startFirstWorker(request: BackendRequest, env: Record<string, string>, spawn: SpawnWorker, prestarted?: ChildProcess): FirstWorker {
  const child = prestarted ?? spawn(request, { ...process.env, ...env });
  // Its last output, for the error when it dies before reporting (a broken install, say).
  let tail = '';
  const keepTail = (chunk: Buffer) => { tail = (tail + chunk.toString()).slice(-4000); };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  // A send to a worker that just died is an 'error' event; its 'exit' says what happened.
  const ignore = () => {};
  child.on('error', ignore);
  const backend = new Promise<BackendReport>((resolve, reject) => {
    const onMessage = (m: ReadyMessage | UnavailableMessage) => {
      if (m?.type === 'ready') resolve(m.backend);
      else if (m?.type === 'unavailable') reject(new BackendError(m.message));
    };
    child.on('message', onMessage);
    const ended = (code: number | null, signal: NodeJS.Signals | null) => {
      child.off('message', onMessage);
      reject(new RunFailedError(`the worker process ended (${signal ?? `exit code ${code}`}) before it reported its backend${lastLine(tail)}`));
    };
    child.once('exit', ended);
    // A prestarted worker may have ended already (its 'exit' came and went).
    if (child.exitCode !== null || child.signalCode !== null) ended(child.exitCode, child.signalCode);
  });
  if (prestarted) prestarted.send({ type: 'start', backend: request, env } satisfies StartCommand);
  let owned = true;
  return {
    backend,
    take() {
      if (!owned || !workerAlive(child)) return undefined;
      owned = false;
      child.stdout?.off('data', keepTail);
      child.stderr?.off('data', keepTail);
      child.off('error', ignore);
      return child;
    },
    release() {
      if (!owned) return;
      owned = false;
      endWorker(child);
    },
  };
}

/** ": <the last non-empty line>" of a worker's output, or nothing. */
function lastLine(output: string): string {
  const line = output.trimEnd().split('\n').at(-1)?.trim();
  return line ? `: ${line}` : '';
}
