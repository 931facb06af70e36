import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendError, RunFailedError } from '../../src/errors.ts';
import type { Plan, PlannedRun } from '../../src/grid/index.ts';
import { localExecutor, type LocalExecutorOptions } from '../../src/runner/local-executor.ts';
import { LineDisplay } from '../../src/runner/progress.ts';
import { ResultsStore } from '../../src/results/store.ts';

/**
 * The local executor's start-up order (local-executor.ts, worker-process.ts) with the fake worker:
 * the first worker resolves the backend and reports it, the parent prints the backend line and
 * sizes the pool by it, and only then prepares folders and trains, in that same worker when its
 * thread count fits.
 */
const FAKE = fileURLToPath(new URL('./fake-worker.ts', import.meta.url));

function run(id: string, ms = 10): PlannedRun {
  return { id, name: `run-${id}`, seed: 0, params: { seed: 0 }, config: { task: 'pose', fake: { ms }, train: {} } as never, dependsOn: [] };
}

/** `backends[i]` is what the i-th forked fake reports (the last one repeats). */
function setup(ids: string[], backends: string[], over: Partial<LocalExecutorOptions> = {}) {
  const root = mkdtempSync(join(tmpdir(), 'bnn-executor-'));
  const log = join(root, 'events.log');
  const plan: Plan = { experiment: 'study', file: 'study.yaml', runs: ids.map((id) => run(id)) };
  const notes: string[] = [];
  const lines: string[] = [];
  const requests: string[] = [];
  let forks = 0;
  const executor = localExecutor({
    resultsRoot: root, backend: 'auto', failFast: false, force: false, preset: null, sets: [], wait: false, cores: 2,
    // What a user sees of the order: whether the run folders exist yet when the backend line is printed.
    note: (line) => notes.push(`${line} [folders: ${existsSync(join(root, 'study'))}]`),
    makeDisplay: () => new LineDisplay({ write: (s: string) => lines.push(s) }),
    spawnWorker: (backend, env) => {
      requests.push(backend);
      const mode = backends[Math.min(forks++, backends.length - 1)]!;
      return fork(FAKE, [log, mode], { execArgv: ['--import', 'tsx'], env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    },
    ...over,
  });
  const events = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')) : []);
  return { root, plan, executor, notes, lines, requests, events, store: new ResultsStore(root, 'study') };
}

async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try { process.kill(pid, 0); } catch { return; }
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`worker ${pid} is still alive`);
}

test('the first worker resolves `auto` and reports it; the backend line comes before any folder; that worker trains the first run', async () => {
  const { plan, executor, notes, requests, events, store } = setup(['a', 'b'], ['native'], { jobs: 1 });
  const prepared = await executor.prepare([plan]);
  assert.deepEqual(notes, ['backend: native (auto: the fake picked native); 1 parallel job, 2 threads each [folders: false]']);
  const summary = executor.summarise(await executor.launch(prepared));
  assert.equal(summary.error, undefined, summary.text);
  assert.equal(store.status('a'), 'done');
  assert.equal(store.status('b'), 'done');
  const [ready, ...rest] = events();
  assert.deepEqual([ready![0], ready![4]], ['ready', '2'], 'forked with the pool\'s thread count');
  assert.deepEqual(rest.filter(([k]) => k === 'start').map(([, id, , pid]) => [id, pid]), [['a', ready![3]], ['b', ready![3]]]);
  assert.deepEqual(requests, ['auto'], 'one worker, asked for the request as given');
});

test('later workers are forked with the backend the first one reported, by name', async () => {
  const { plan, executor, requests, events } = setup(['a', 'b', 'c'], ['wasm']);
  const summary = executor.summarise(await executor.launch(await executor.prepare([plan])));
  assert.equal(summary.error, undefined, summary.text);
  assert.deepEqual(requests, ['auto', 'wasm']);
  assert.equal(new Set(events().filter(([k]) => k === 'start').map(([, , , pid]) => pid)).size, 2);
});

test('a later worker that cannot start the grid\'s backend fails its run with the reason', async () => {
  const { plan, executor, store } = setup(['a', 'b'], ['wasm', 'unavailable']);
  const summary = executor.summarise(await executor.launch(await executor.prepare([plan])));
  assert.ok(summary.error instanceof RunFailedError, summary.text);
  const failed = ['a', 'b'].filter((id) => store.status(id) === 'failed');
  assert.equal(failed.length, 1);
  assert.equal(store.readMeta(failed[0]!)?.error, "backend 'gpu' is not available: the fake has none");
});

test('an unavailable backend is a BackendError before any folder is written, and its worker is gone', async () => {
  const { plan, executor, notes, root, events } = setup(['a'], ['unavailable']);
  await assert.rejects(executor.prepare([plan]), (e: unknown) => e instanceof BackendError && e.message === "backend 'gpu' is not available: the fake has none");
  assert.deepEqual(notes, []);
  assert.equal(existsSync(join(root, 'study')), false);
  await gone(Number(events()[0]![3]));
});

test('a worker that dies before it reports is an error naming its last line', async () => {
  const { plan, executor } = setup(['a'], ['die']);
  await assert.rejects(executor.prepare([plan]), (e: unknown) => e instanceof RunFailedError
    && e.message === 'the worker process ended (exit code 1) before it reported its backend: fake worker: cannot load its backend');
});

test('a backend that wants another thread count than the first worker got: that worker is retired, the pool forks its own', async () => {
  // 2 cores, 3 runs: forked for a CPU backend (2 jobs x 1 thread); `node` gets 1 job x 2 threads.
  const { plan, executor, notes, events } = setup(['a', 'b', 'c'], ['node']);
  const summary = executor.summarise(await executor.launch(await executor.prepare([plan])));
  assert.equal(summary.error, undefined, summary.text);
  assert.match(notes[0]!, /^backend: node \(auto: the fake picked node\); 1 parallel job /);
  const ready = events().filter(([k]) => k === 'ready');
  assert.deepEqual(ready.map((e) => e[4]), ['1', '2']);
  const trainers = new Set(events().filter(([k]) => k === 'start').map(([, , , pid]) => pid));
  assert.deepEqual([...trainers], [ready[1]![3]], 'every run in the worker forked with 2 threads');
  await gone(Number(ready[0]![3]));
});

test('nothing to train: the first worker is released and the grid returns', async () => {
  const { plan, executor, store } = setup(['a'], ['cpu']);
  executor.summarise(await executor.launch(await executor.prepare([plan])));
  assert.equal(store.status('a'), 'done');
  const again = setup(['a'], ['cpu'], { resultsRoot: store.root });
  const summary = again.executor.summarise(await again.executor.launch(await again.executor.prepare([plan])));
  assert.match(summary.text, /^0 done, 1 skipped/);
  await gone(Number(again.events().at(-1)![3]));
});
