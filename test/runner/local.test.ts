import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { ResultsError } from '../../src/errors.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plan, PlannedRun } from '../../src/grid/index.ts';
import { runLocal, type LocalRunOptions } from '../../src/runner/local.ts';
import { LineDisplay } from '../../src/runner/progress.ts';
import { ResultsStore } from '../../src/results/store.ts';
import { selectRuns } from '../../src/runner/select-runs.ts';

const FAKE = fileURLToPath(new URL('./fake-worker.ts', import.meta.url));

function run(id: string, fake: { ms: number; fail?: string; crash?: boolean; tensors?: number }, dependsOn: string[] = [], params: Record<string, unknown> = {}): PlannedRun {
  return { id, name: `run-${id}`, seed: 0, params: { ...params, seed: 0 }, config: { task: 'pose', fake } as never, dependsOn };
}

function setup(runs: PlannedRun[]) {
  const root = mkdtempSync(join(tmpdir(), 'bnn-runner-'));
  const log = join(root, 'events.log');
  const lines: string[] = [];
  const plan: Plan = { experiment: 'study', file: 'study.yaml', runs };
  const options = (over: Partial<LocalRunOptions> = {}): LocalRunOptions => ({
    resultsRoot: root, jobs: 2, backend: 'cpu', failFast: false, force: false, preset: null, sets: [],
    display: new LineDisplay({ write: (s: string) => lines.push(s) }),
    spawnWorker: (_backend, env) => fork(FAKE, [log], { execArgv: ['--import', 'tsx'], env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }),
    ...over,
  });
  const events = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')) : []);
  return { root, plan, options, events, lines, store: new ResultsStore(root, 'study') };
}

test('teachers finish before their students start, and at most `jobs` runs overlap', async () => {
  const { plan, options, events, store } = setup([
    run('t1', { ms: 300 }), run('t2', { ms: 300 }), run('a', { ms: 50 }),
    run('s1', { ms: 50 }, ['t1']), run('s2', { ms: 50 }, ['t2']),
  ]);
  const summary = await runLocal([plan], options({ jobs: 2 }));
  assert.equal(summary.done.length, 5);
  const at = (kind: string, id: string) => Number(events().find(([k, i]) => k === kind && i === id)![2]);
  assert.ok(at('start', 's1') >= at('end', 't1'));
  assert.ok(at('start', 's2') >= at('end', 't2'));
  let live = 0; let peak = 0;
  for (const [kind] of events().sort((x, y) => Number(x[2]) - Number(y[2]))) { live += kind === 'start' ? 1 : -1; peak = Math.max(peak, live); }
  assert.ok(peak <= 2, `peak concurrency ${peak}`);
  assert.equal(store.readExperiment()?.runs.length, 5);
});

test('a failed teacher fails its student with the reason; other runs go on; a rerun skips done runs', async () => {
  const { plan, options, store } = setup([run('t', { ms: 20, fail: 'loss is NaN at step 3' }), run('s', { ms: 20 }, ['t']), run('x', { ms: 20 })]);
  const summary = await runLocal([plan], options());
  assert.deepEqual(summary.done.map((r) => r.id), ['x']);
  assert.deepEqual(summary.failed.map((r) => [r.id, r.error]), [['t', 'loss is NaN at step 3'], ['s', 'teacher study/t failed; not trained without it']]);
  assert.equal(store.status('s'), 'failed');
  const again = await runLocal([plan], options());
  assert.equal(again.skipped, 1);
  assert.deepEqual(again.failed.map((r) => r.id).sort(), ['s', 't']);
});

test('fail-fast stops launching after the first failure', async () => {
  const { plan, options, events } = setup([run('bad', { ms: 10, fail: 'boom' }), run('b', { ms: 10 }), run('c', { ms: 10 })]);
  const summary = await runLocal([plan], options({ jobs: 1, failFast: true }));
  assert.deepEqual(summary.failed.map((r) => r.id), ['bad']);
  assert.deepEqual(summary.notStarted.map((r) => r.id), ['b', 'c']);
  assert.deepEqual(events().filter(([k]) => k === 'start').map(([, id]) => id), ['bad']);
});

test('a stop signal interrupts running workers and leaves the rest for a rerun', async () => {
  const { plan, options, store, events } = setup([run('long', { ms: 30_000 }), run('next', { ms: 10 })]);
  const stop = new AbortController();
  // Once the worker is up (it has its SIGTERM handler): a fixed delay lost the race on a loaded machine.
  const poll = setInterval(() => { if (events().some(([k]) => k === 'start')) { clearInterval(poll); setTimeout(() => stop.abort(), 50); } }, 20);
  const summary = await runLocal([plan], options({ jobs: 1, stopSignal: stop.signal }));
  assert.deepEqual(summary.interrupted.map((r) => r.id), ['long']);
  assert.deepEqual(summary.notStarted.map((r) => r.id), ['next']);
  assert.equal(store.status('long'), 'interrupted');
});

test('--only keeps matching runs and the teachers they need', () => {
  const plan: Plan = { experiment: 'study', file: 'f', runs: [
    run('aaa1', { ms: 1 }, [], { 'model.binary': false }),
    run('bbb2', { ms: 1 }, ['aaa1'], { 'model.stacks': 2 }),
    run('ccc3', { ms: 1 }, [], { 'model.stacks': 1 }),
  ] };
  assert.deepEqual(selectRuns([plan], 'stacks=2')[0]!.runs.map((r) => r.id), ['aaa1', 'bbb2']);
  assert.deepEqual(selectRuns([plan], 'ccc')[0]!.runs.map((r) => r.id), ['ccc3']);
  assert.throws(() => selectRuns([plan], 'stacks=9'), /no run matches/);
});

test('a student whose teacher finished in an earlier invocation trains on the rerun', async () => {
  const { plan, options, store } = setup([run('t', { ms: 10 }), run('s', { ms: 10, fail: 'first attempt fails' }, ['t'])]);
  const first = await runLocal([plan], options());
  assert.deepEqual(first.failed.map((r) => r.id), ['s']);
  // The student is fixed; its teacher is done and will be skipped, not queued.
  const fixed: Plan = { ...plan, runs: [plan.runs[0]!, { ...plan.runs[1]!, config: { task: 'pose', fake: { ms: 10 } } as never }] };
  const second = await runLocal([fixed], options({ force: true }));
  assert.equal(second.skipped, 1);
  assert.deepEqual(second.done.map((r) => r.id), ['s']);
  assert.deepEqual(second.notStarted, []);
  assert.equal(store.status('s'), 'done');
});

test('a second runner on the same results folder leaves runs locked by the first to it and says so', async () => {
  const { plan, options, events, lines, store } = setup([run('a', { ms: 400 }), run('b', { ms: 10 })]);
  const first = runLocal([plan], options({ jobs: 1 }));
  // The first runner locked both runs while preparing (synchronously), before training either.
  const second = await runLocal([plan], options({ jobs: 1 }));
  assert.deepEqual(second.locked.map((r) => [r.id, r.holder.pid]), [['a', process.pid], ['b', process.pid]]);
  assert.deepEqual(second.done, []);
  assert.equal(lines.filter((l) => /trained by another process \(pid \d+ on this host .*\); left to it/.test(l)).length, 2);
  const summary = await first;
  assert.deepEqual(summary.done.map((r) => r.id), ['a', 'b']);
  assert.deepEqual(events().filter(([k]) => k === 'start').map(([, id]) => id), ['a', 'b'], 'each run trained once');
  assert.equal(store.readMeta('a')?.attempts, 1);
  assert.equal(existsSync(join(store.runDir('a'), '.lock')), false, 'locks released');
  const third = await runLocal([plan], options());
  assert.equal(third.skipped, 2);
});

test('a corrupt run is trained again, its files set aside, and the runner says so', async () => {
  const { plan, options, lines, store } = setup([run('a', { ms: 10 })]);
  await runLocal([plan], options());
  writeFileSync(join(store.runDir('a'), 'final.json'), '{"task": "po');
  const again = await runLocal([plan], options());
  assert.deepEqual([again.skipped, again.done.map((r) => r.id)], [0, ['a']]);
  assert.ok(lines.some((l) => /study\/a run-a: corrupt \(final\.json does not parse.*\); its files were moved to .*\.aside\/a\.corrupt\..*; training it again/.test(l)), lines.join(''));
  assert.equal(store.status('a'), 'done');
});

test('with share, a run two experiments plan is trained once and copied into the other folder', async () => {
  const { plan, options, events, root } = setup([run('t', { ms: 30 }), run('s', { ms: 30 }, ['t']), run('only-a', { ms: 10 })]);
  const other: Plan = { experiment: 'other', file: 'other.yaml', runs: [run('t', { ms: 30 }), run('s', { ms: 30 }, ['t']), run('only-b', { ms: 10 })] };
  const summary = await runLocal([plan, other], options({ share: true }));
  assert.equal(summary.done.length, 6);
  assert.deepEqual(events().filter(([k]) => k === 'start').map(([, id]) => id).sort(), ['only-a', 'only-b', 's', 't'], 'the shared runs trained once');
  const copy = new ResultsStore(root, 'other');
  assert.equal(copy.status('s'), 'done');
  assert.equal(copy.readMeta('s')?.sharedFrom, 'study/s');
  assert.deepEqual(copy.readFinal('s'), new ResultsStore(root, 'study').readFinal('s'));
  // A later invocation finds both done; without share each experiment trains its own.
  const again = await runLocal([plan, other], options({ share: true }));
  assert.equal(again.skipped, 6);
});

test('a file-system problem while preparing (a folder where a file goes) is bad input naming the path', async () => {
  const { plan, options, store } = setup([run('a', { ms: 10 })]);
  mkdirSync(join(store.dir, 'experiment.json'), { recursive: true });
  await assert.rejects(runLocal([plan], options()), (err: unknown) => err instanceof ResultsError
    && /experiment\.json: cannot prepare the run folders \(EISDIR on rename\)/.test(err.message));
});

test('--wait: a second runner waits for runs another process trains, then counts them done elsewhere', async () => {
  const { plan, options, events } = setup([run('a', { ms: 600 }), run('b', { ms: 10 }, ['a'])]);
  const first = runLocal([plan], options({ jobs: 1 }));
  const { runLocalWaiting } = await import('../../src/runner/wait-locked.ts');
  const notes: string[] = [];
  const { display: _display, ...rest } = options();
  const second = await runLocalWaiting([plan], rest, { pollMs: 50, makeDisplay: () => new LineDisplay({ write: (s: string) => notes.push(s) }) });
  await first;
  assert.deepEqual([second.done.length, second.skipped, second.locked.length], [0, 2, 0]);
  assert.ok(notes.some((l) => /waiting for 2 run\(s\) that other processes are training/.test(l)), notes.join(''));
  assert.deepEqual(events().filter(([k]) => k === 'start').map(([, id]) => id), ['a', 'b'], 'each run trained once');
});

test('workers are pooled: each trains run after run, at most `jobs` of them live, and they end with the grid', async () => {
  const { plan, options, events } = setup(['a', 'b', 'c', 'd', 'e'].map((id) => run(id, { ms: 30 })));
  const summary = await runLocal([plan], options({ jobs: 2 }));
  assert.equal(summary.done.length, 5);
  const pids = new Set(events().filter(([k]) => k === 'start').map(([, , , pid]) => Number(pid)));
  assert.ok(pids.size >= 1 && pids.size <= 2, `runs were trained by ${pids.size} worker processes, at most 2 expected`);
  const single = setup(['a', 'b', 'c'].map((id) => run(id, { ms: 10 })));
  await runLocal([single.plan], single.options({ jobs: 1 }));
  const one = new Set(single.events().filter(([k]) => k === 'start').map(([, , , pid]) => Number(pid)));
  assert.equal(one.size, 1, 'at --jobs 1 a single worker trains every run');
  const fresh = setup(['a', 'b', 'c'].map((id) => run(id, { ms: 10 })));
  await runLocal([fresh.plan], fresh.options({ jobs: 1, runsPerWorker: 1 }));
  const each = new Set(fresh.events().filter(([k]) => k === 'start').map(([, , , pid]) => Number(pid)));
  assert.equal(each.size, 3, 'runsPerWorker 1: a fresh process for every run');
  for (const pid of [...pids, ...one, ...each]) assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} is gone once the grid returns`);
});

test('a run that fails or crashes ends its worker; the next run gets a fresh one and the grid goes on', async () => {
  const { plan, options, events, store } = setup([run('a', { ms: 10 }), run('bad', { ms: 10, fail: 'loss is NaN' }), run('boom', { ms: 10, crash: true }), run('z', { ms: 10 })]);
  const summary = await runLocal([plan], options({ jobs: 1 }));
  assert.deepEqual(summary.done.map((r) => r.id), ['a', 'z']);
  assert.deepEqual(summary.failed.map((r) => r.id), ['bad', 'boom'], JSON.stringify(summary));
  assert.equal(store.readMeta('bad')?.error, 'loss is NaN');
  assert.match(String(store.readMeta('boom')?.error), /worker exited with SIGABRT/);
  const pidOf = (id: string) => events().find(([k, i]) => k === 'start' && i === id)![3];
  assert.equal(pidOf('a'), pidOf('bad'), 'a worker goes on after a run that ended well');
  assert.notEqual(pidOf('bad'), pidOf('boom'));
  assert.notEqual(pidOf('boom'), pidOf('z'));
});

test('a worker that holds more tensors after a run than after its first is retired, and the user is told', async () => {
  const { plan, options, events, lines } = setup([run('a', { ms: 10, tensors: 5 }), run('b', { ms: 10, tensors: 5 }), run('c', { ms: 10, tensors: 9 }), run('d', { ms: 10, tensors: 9 })]);
  const summary = await runLocal([plan], options({ jobs: 1 }));
  assert.equal(summary.done.length, 4);
  const pidOf = (id: string) => events().find(([k, i]) => k === 'start' && i === id)![3];
  assert.equal(pidOf('a'), pidOf('b'));
  assert.equal(pidOf('b'), pidOf('c'), 'the leak shows only after c: c still ran in that worker');
  assert.notEqual(pidOf('c'), pidOf('d'), 'd got a fresh worker');
  assert.ok(lines.some((l) => /study\/c: the worker held 4 more tensors after this run than after its first; a fresh worker takes the next run/.test(l)), lines.join(''));
});
