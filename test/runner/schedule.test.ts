import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DepStatus, nextStep, type Schedulable, stopsGrid } from '../../src/runner/schedule.ts';

const run = (key: string, deps: string[] = [], copyOf?: string): Schedulable => ({ key, deps, ...(copyOf ? { copyOf } : {}) });

function state(waiting: Schedulable[], statuses: Record<string, DepStatus>, over: { running?: number; jobs?: number; stopping?: boolean } = {}) {
  return { waiting, running: over.running ?? 0, jobs: over.jobs ?? 2, stopping: over.stopping ?? false, statusOf: (d: string) => statuses[d] ?? 'pending' };
}

/** Plays a whole grid: every launched run ends as `ends` says (default done) before the next step. */
function play(runs: Schedulable[], ends: Record<string, DepStatus>, jobs: number, failFast = false): string[] {
  const log: string[] = [];
  const statuses: Record<string, DepStatus> = {};
  let waiting = [...runs];
  let running: string[] = [];
  let stopping = false;
  for (;;) {
    const next = nextStep({ waiting, running: running.length, jobs, stopping, statusOf: (d) => statuses[d] ?? 'pending' });
    if (next.action === 'finished') return log;
    if (next.action === 'abandon') { log.push(...next.tasks.map((t) => `not started ${t.key}`)); waiting = []; continue; }
    if (next.action === 'wait') {
      // The oldest running worker ends.
      const key = running.shift()!;
      statuses[key] = ends[key] ?? 'done';
      log.push(`end ${key} ${statuses[key]}`);
      if (stopsGrid(statuses[key] as 'done', failFast)) stopping = true;
      continue;
    }
    waiting = waiting.filter((t) => t !== next.task);
    if (next.action === 'block') { statuses[next.task.key] = 'blocked'; log.push(`block ${next.task.key}: ${next.reason}`); continue; }
    log.push(`launch ${next.task.key}`);
    if (next.task.copyOf) statuses[next.task.key] = statuses[next.task.copyOf]!;
    else running.push(next.task.key);
  }
}

test('a run starts only when its teachers are done and a worker is free; copies take no worker', () => {
  // A copy's one dependency is the run it copies (local.ts prepareOne).
  const s = state([run('e/s', ['e/t']), run('f/t', ['e/t'], 'e/t')], { 'e/t': 'pending' }, { running: 2, jobs: 2 });
  assert.deepEqual(nextStep(s), { action: 'wait' }, 'both workers busy, the copy waits for its run');
  const free = state([run('e/s', ['e/t']), run('x/y')], { 'e/t': 'pending' }, { running: 1, jobs: 2 });
  assert.equal((nextStep(free) as { task: Schedulable }).task.key, 'x/y', 'the first ready run in order, past a waiting student');
  const copy = state([run('f/t', ['e/t'], 'e/t')], { 'e/t': 'done' }, { running: 2, jobs: 2 });
  assert.deepEqual(nextStep(copy), { action: 'launch', task: copy.waiting[0] });
});

test('a failed or blocked teacher blocks its student with the reason; a copy of a failed run says so', () => {
  assert.deepEqual(nextStep(state([run('e/s', ['e/t'])], { 'e/t': 'failed' })),
    { action: 'block', task: run('e/s', ['e/t']), reason: 'teacher e/t failed; not trained without it' });
  assert.equal((nextStep(state([run('e/s', ['e/t'])], { 'e/t': 'blocked' })) as { reason: string }).reason,
    'teacher e/t could not run; not trained without it');
  assert.equal((nextStep(state([run('f/t', ['e/t'], 'e/t')], { 'e/t': 'failed' })) as { reason: string }).reason,
    'e/t, trained for this run too, failed');
});

test('stopping, or nothing running while students wait on an interrupted teacher, abandons the rest', () => {
  const waiting = [run('a'), run('b')];
  assert.deepEqual(nextStep(state(waiting, {}, { stopping: true, running: 1 })), { action: 'abandon', tasks: waiting });
  const orphan = [run('e/s', ['e/t'])];
  assert.deepEqual(nextStep(state(orphan, { 'e/t': 'interrupted' })), { action: 'abandon', tasks: orphan });
  assert.deepEqual(nextStep(state(orphan, { 'e/t': 'interrupted' }, { running: 1 })), { action: 'wait' });
  assert.deepEqual(nextStep(state([], {}, { running: 1 })), { action: 'wait' });
  assert.deepEqual(nextStep(state([], {})), { action: 'finished' });
});

test('a whole grid: jobs bound the overlap, teachers first, fail-fast stops launching', () => {
  const grid = [run('t1'), run('t2'), run('s1', ['t1']), run('s2', ['t2']), run('x')];
  assert.deepEqual(play(grid, {}, 2), [
    'launch t1', 'launch t2', 'end t1 done', 'launch s1', 'end t2 done', 'launch s2', 'end s1 done', 'launch x', 'end s2 done', 'end x done',
  ]);
  assert.deepEqual(play(grid, { t1: 'failed' }, 2), [
    // The freed worker goes to x at once; s2 waits for t2.
    'launch t1', 'launch t2', 'end t1 failed', 'block s1: teacher t1 failed; not trained without it', 'launch x', 'end t2 done', 'launch s2',
    'end x done', 'end s2 done',
  ]);
  assert.deepEqual(play(grid, { t1: 'failed' }, 2, true), ['launch t1', 'launch t2', 'end t1 failed', 'not started s1', 'not started s2', 'not started x', 'end t2 done']);
  assert.equal(stopsGrid('blocked', true), true);
  assert.equal(stopsGrid('interrupted', true), false);
  assert.equal(stopsGrid('failed', false), false);
});
