/**
 * The local runner's first worker, forked the moment `bnn-ablate run` starts: before the parent
 * loads the CLI, parses its flags and plans the grid (about 0.5 s here), which the worker's own
 * start (Node, tsx, tfjs, the trainer: about 1.5 s) then overlaps instead of following. The
 * worker waits for its backend request (worker-main.ts); the local executor hands it over
 * (takePrestarted) or, when the run needs none (Slurm, bad input, nothing left to train), the
 * entry releases it. Issue 10: runner overhead under 2 % of a grid's wall time, where the first
 * run's start was most of the fixed cost.
 *
 * Only this module's imports load before the fork, so it imports nothing of the CLI or tfjs.
 */
import type { ChildProcess } from 'node:child_process';
import { BACKEND_CHOICES, DEFAULT_BACKEND, type BackendRequest } from '../backend/names.ts';
import { forkWorker } from './worker-process.ts';

let prestarted: ChildProcess | undefined;

/**
 * Whether `argv` (the CLI's arguments) will, as far as one can tell without parsing it, train
 * here: `run` on the local executor, not asking for help. A wrong guess costs only the worker's
 * CPU until the entry releases it; the flags are parsed for real by yargs afterwards.
 */
export function trainsLocally(argv: readonly string[]): boolean {
  if (argv[0] !== 'run') return false;
  if (argv.some((a) => a === '--help' || a === '-h' || a === '--dry-run' || a === '--executor=slurm')) return false;
  const i = argv.indexOf('--executor');
  return !(i >= 0 && argv[i + 1] === 'slurm');
}

/**
 * The backend `argv` asks for, as far as one can tell without parsing it: the worker warms it up
 * (worker-main.ts), and the start command still carries what yargs parsed.
 */
export function expectedBackend(argv: readonly string[]): BackendRequest {
  const i = argv.indexOf('--backend');
  const value = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--backend='))?.slice('--backend='.length);
  return (BACKEND_CHOICES as readonly string[]).includes(value ?? '') ? value as BackendRequest : DEFAULT_BACKEND;
}

/** Forks the worker if `argv` trains locally (once per process). */
export function prestartWorker(argv: readonly string[]): void {
  if (prestarted || !trainsLocally(argv)) return;
  prestarted = forkWorker(['--expect', expectedBackend(argv)], process.env);
  // A worker that dies early is seen by takePrestarted (not alive); its send errors are 'error' events.
  prestarted.on('error', () => {});
}

/** The prestarted worker, if it is alive; afterwards the caller owns it. */
export function takePrestarted(): ChildProcess | undefined {
  const child = prestarted;
  prestarted = undefined;
  if (child && child.exitCode === null && child.signalCode === null && child.connected) return child;
  return undefined;
}

/** Ends the prestarted worker unless it was taken: disconnected, it exits; SIGTERM if it is still loading. */
export function releasePrestarted(): void {
  const child = prestarted;
  prestarted = undefined;
  if (!child) return;
  if (child.connected) child.disconnect();
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}
