'use strict';
/**
 * The local runner's first worker, forked the moment `bnn-ablate run` starts: before tsx, the
 * CLI and the plan load in the parent (about 1 s here), which the worker's own start (Node, tsx,
 * tfjs, the backend, the trainer: about 1.5 s) then overlaps instead of following. The worker
 * warms the backend the command line names and waits for its start command (worker-main.ts);
 * the local executor takes it over (takePrestarted) or, when the command needs none (Slurm,
 * bad input, nothing to train), the entry releases it. Issue 10: runner overhead under 2 % of
 * a grid's wall time; the first run's start was most of the fixed cost.
 *
 * Plain CommonJS (types in prestart.d.cts) because bin/bnn-ablate.js calls it before it
 * registers tsx: that alone is 0.4 s. For the same reason it requires nothing of ours. All
 * worker processes are forked here (forkWorker), prestarted or not.
 */
const { fork } = require('node:child_process');
const path = require('node:path');

const WORKER_BIN = path.join(__dirname, '..', '..', 'bin', 'worker.js');

/** Forks bin/worker.js with `args`, stdout and stderr piped, plus the IPC channel. */
function forkWorker(args, env) {
  return fork(WORKER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env });
}

/**
 * Whether `argv` (the CLI's arguments) will, as far as one can tell without parsing it, train
 * here: `run` on the local executor, not asking for help. A wrong guess costs only the worker's
 * CPU until the entry releases it; yargs parses the flags for real afterwards.
 */
function trainsLocally(argv) {
  if (argv[0] !== 'run') return false;
  if (argv.some((a) => a === '--help' || a === '-h' || a === '--dry-run' || a === '--executor=slurm')) return false;
  const i = argv.indexOf('--executor');
  return !(i >= 0 && argv[i + 1] === 'slurm');
}

/** The raw `--backend` value of `argv` in either spelling, or undefined (the worker checks it). */
function backendValue(argv) {
  const i = argv.indexOf('--backend');
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith('--backend='));
  return eq === undefined ? undefined : eq.slice('--backend='.length);
}

/** Whether a worker process is still running and reachable over IPC. */
function workerAlive(child) {
  return child.exitCode === null && child.signalCode === null && child.connected;
}

/** Ends a worker that has no run: disconnected, an idle one exits; SIGTERM also ends one still starting up. */
function endWorker(child) {
  if (child.connected) child.disconnect();
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}

let prestarted;

/** Forks the worker if `argv` trains locally; once per process, later calls do nothing. */
function prestartWorker(argv) {
  if (prestarted !== undefined || !trainsLocally(argv)) return;
  const value = backendValue(argv);
  prestarted = forkWorker(value === undefined ? [] : ['--expect', value], process.env);
  // A worker that dies early is seen by takePrestarted (not alive); send errors are 'error' events.
  prestarted.on('error', () => {});
}

/** The prestarted worker, if it is alive; afterwards the caller owns it. */
function takePrestarted() {
  const child = prestarted;
  prestarted = null;
  return child && workerAlive(child) ? child : undefined;
}

/** Ends the prestarted worker unless it was taken. */
function releasePrestarted() {
  const child = prestarted;
  prestarted = null;
  if (child) endWorker(child);
}

module.exports = { forkWorker, workerAlive, endWorker, trainsLocally, backendValue, prestartWorker, takePrestarted, releasePrestarted };
