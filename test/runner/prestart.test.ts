import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { backendValue, trainsLocally } from '../../src/runner/prestart.cjs';
import { startFirstWorker, type SpawnWorker } from '../../src/runner/worker-process.ts';
import { RunFailedError } from '../../src/errors.ts';

/** The prestarted first worker (src/runner/prestart.cjs) and how the local executor takes it over. */
const WORKER = fileURLToPath(new URL('../../bin/worker.js', import.meta.url));
const noSpawn: SpawnWorker = () => { throw new Error('a prestarted worker was given: nothing else may be forked'); };

test('trainsLocally: only `run` on the local executor, not help or a Slurm submission', () => {
  const cases: [string[], boolean][] = [
    [['run', 'experiments/smoke.yaml'], true],
    [['run', 'a.yaml', '--executor', 'local', '--jobs', '2'], true],
    [['run', 'a.yaml', '--executor', 'slurm'], false],
    [['run', 'a.yaml', '--executor=slurm'], false],
    [['run', 'a.yaml', '--dry-run'], false],
    [['run', '--help'], false],
    [['run', 'a.yaml', '-h'], false],
    [['plan', 'a.yaml'], false],
    [['run-one', 'results/x/1'], false],
    [[], false],
  ];
  for (const [argv, expected] of cases) assert.equal(trainsLocally(argv), expected, argv.join(' '));
});

test('backendValue: the raw --backend value in either spelling, undefined without the flag (the worker checks it)', () => {
  assert.equal(backendValue(['run', 'a.yaml', '--backend', 'native']), 'native');
  assert.equal(backendValue(['run', 'a.yaml', '--backend=wasm', '--jobs', '1']), 'wasm');
  assert.equal(backendValue(['run', 'a.yaml']), undefined);
  assert.equal(backendValue(['run', 'a.yaml', '--backend', 'tpu']), 'tpu');
  assert.equal(backendValue(['run', 'a.yaml', '--backend']), undefined);
});

test('startFirstWorker hands the request and thread env to a prestarted worker instead of forking one', async () => {
  const child = fork(WORKER, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const first = startFirstWorker('cpu', { OMP_NUM_THREADS: '1' }, noSpawn, child);
  try {
    const report = await first.backend;
    assert.equal(report.name, 'cpu');
    assert.equal(first.take(), child, 'the pool takes the prestarted process itself');
  } finally {
    first.release();
    child.disconnect();
  }
  assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 0);
});

test('a prestarted worker that already ended rejects at once with its exit code, not a hang', { timeout: 20_000 }, async () => {
  const child = fork('-e', ['process.exit(3)'], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
  await new Promise((resolve) => child.once('exit', resolve));
  const first = startFirstWorker('cpu', {}, noSpawn, child);
  await assert.rejects(first.backend, (err: unknown) => err instanceof RunFailedError && /ended \(exit code 3\) before it reported/.test(err.message));
  assert.equal(first.take(), undefined);
});
