/**
 * A local worker process's whole life (bin/worker.js runs it): the backend, then the runs its
 * parent sends (worker.ts). Its own entry, not a CLI command, because the worker's start-up is
 * the critical path of a grid's first run: yargs and every command's modules cost it 0.3–0.4 s
 * (issue 10: runner overhead under 2 % of a grid's wall time).
 *
 *   bin/worker.js --backend <request>   forked by the pool, the request known
 *   bin/worker.js [--expect <request>]  prestarted (prestart.cjs) before the parent has parsed
 *                                       its command line: while it waits for { type: 'start',
 *                                       backend, env } it loads tfjs and the trainer and, where
 *                                       that is safe (warmable), starts the expected backend
 *
 * A warm start does not fix the threads: the start command's env comes after it, and the backend
 * is selected again with it (as every run in a worker selects it again, run-one.ts), which sets
 * oneDNN's thread count then. TensorFlow's own backends (node, gpu) read their thread count once,
 * when they start, so they are never warmed; nor is `auto` where one of them is installed.
 *
 * Errors end it as `main` ends a command: one line on stderr and the typed exit code.
 */
import { BACKEND_CHOICES, DEFAULT_BACKEND, type BackendRequest } from '../backend/names.ts';
import { errorOutput } from '../cli/error-output.ts';
import { installedVersion } from '../cli/version.ts';
import { EXIT, UsageError } from '../errors.ts';
import { untilStopped } from './until-stopped.ts';
import type { StartCommand } from './worker.ts';

export async function workerMain(argv: readonly string[]): Promise<number> {
  try {
    if (!process.send) throw new UsageError('bin/worker.js is started by `bnn-ablate run` (it needs the IPC channel); use run or run-one');
    const request = backendFlag(argv) ?? await startCommand(expectation(argv));
    if (request === undefined || !process.connected) return EXIT.ok;   // the parent left first
    const { announceBackend, serveRuns } = await import('./worker.ts');
    const backend = await announceBackend(request);
    // The parent left while the backend started (it stopped, or needs a worker with other threads).
    if (!process.connected) return EXIT.ok;
    await untilStopped(['SIGINT', 'SIGTERM', 'disconnect'], (signal) => serveRuns({ backend, signal }));
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    const { code, text } = errorOutput(err, Boolean(process.env.BNN_ABLATE_DEBUG));
    process.stderr.write(text);
    return code;
  }
}

/** `--backend <request>`, checked as the CLI's option is; undefined without the flag. */
function backendFlag(argv: readonly string[]): BackendRequest | undefined {
  const i = argv.indexOf('--backend');
  if (i < 0) return undefined;
  const value = argv[i + 1];
  if (!(BACKEND_CHOICES as readonly string[]).includes(value ?? '')) {
    throw new UsageError(`--backend: '${value ?? ''}' is not one of ${BACKEND_CHOICES.join(', ')}`);
  }
  return value as BackendRequest;
}

/**
 * The backend a prestarted worker warms: `--expect`'s value (the raw `--backend` of the parent's
 * command line), the default without one, none for a value yargs is about to refuse.
 */
function expectation(argv: readonly string[]): BackendRequest | undefined {
  const i = argv.indexOf('--expect');
  if (i < 0) return DEFAULT_BACKEND;
  const value = argv[i + 1] ?? '';
  return (BACKEND_CHOICES as readonly string[]).includes(value) ? value as BackendRequest : undefined;
}

/** Whether starting `request` before the thread env is known leaves nothing fixed (see above). */
function warmable(request: BackendRequest): boolean {
  if (request === 'native' || request === 'wasm' || request === 'cpu') return true;
  return request === 'auto' && !TF_PACKAGES.some((pkg) => installedVersion(pkg) !== undefined);
}

/** The packages of the backends that fix their thread count when they start. */
const TF_PACKAGES = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];

/**
 * Waits for the parent's start command. Meanwhile it loads the backend selector (backend/index.ts
 * installs the banner filter on import), starts the `expected` backend where that is warmable,
 * then loads the trainer; a failure there is left for the real selection to report. Then it
 * applies the command's environment (thread counts). Undefined when the parent disconnects first
 * (it did not need a worker after all).
 */
function startCommand(expected: BackendRequest | undefined): Promise<BackendRequest | undefined> {
  const warm = import('../backend/index.ts')
    .then(async ({ selectBackend }) => { if (expected && warmable(expected)) await selectBackend(expected); })
    .catch(() => undefined);
  // Not waited for: announceBackend reports first and imports the trainer after (the same promise).
  void warm.then(() => import('../train/trainer.ts')).catch(() => undefined);
  return new Promise((resolve) => {
    const done = () => { process.off('message', onMessage); process.off('disconnect', onLeave); };
    const onLeave = () => { done(); resolve(undefined); };
    const onMessage = (m: StartCommand) => {
      if (m?.type !== 'start') return;
      done();
      // After the warm-up, not during it: the selection that follows must not race it.
      void warm.then(() => {
        Object.assign(process.env, m.env);
        resolve(m.backend);
      });
    };
    process.on('message', onMessage);
    process.on('disconnect', onLeave);
    // Gone before this process got this far: no 'disconnect' event is coming.
    if (!process.connected) onLeave();
  });
}
