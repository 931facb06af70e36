// `bnn-ablate status`: the merge of run folders with what Slurm says, case by case, and the command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunMeta } from '../../src/results/store.ts';
import { ResultsStore } from '../../src/results/store.ts';
import { experimentStatus, formatStatus, mergeRunState, type RunEvidence } from '../../src/runner/status.ts';
import type { SchedulerView, TaskState, Exec } from '../../src/runner/slurm-scheduler.ts';
import { SLURM_FILE, type SlurmRecord } from '../../src/runner/slurm.ts';

const made: string[] = [];
process.on('exit', () => { for (const dir of made) rmSync(dir, { recursive: true, force: true }); });
const BIN = fileURLToPath(new URL('../../bin/bnn-ablate.js', import.meta.url));
const ref = { jobId: '40', task: 2, layer: 1, submittedAt: '2025-01-01T00:00:00Z', log: '/r/.slurm/40_2.log' };
const view = (state?: Omit<TaskState, 'source'>): SchedulerView => ({
  available: true, note: 'squeue', tasks: new Map(state ? [['40_2', { ...state, source: 'squeue' as const }]] : []),
});
const meta = (status: RunMeta['status'], error: string | null = null) => ({ status, error, host: 'node7', pid: 12 }) as RunMeta;
const evidence = (over: Partial<RunEvidence>): RunEvidence => ({
  done: false, hasFolder: true, meta: meta('pending'), folderStatus: 'pending', final: undefined, ref, view: view(), workerLog: '/r/x/worker.log', ...over,
});

test('each combination of folder and scheduler maps to one state with its reason', () => {
  const cases: Array<[string, Partial<RunEvidence>, string, RegExp]> = [
    ['a torn final.json is corrupt, not interrupted', { corruption: 'final.json does not parse (a torn or foreign write)', folderStatus: 'corrupt', meta: meta('done') }, 'corrupt', /^final\.json does not parse .*sets its files aside and trains it again$/],
    ['final.json wins', { done: true, final: { metrics: { pckh: 71.25 }, wall_s: 12.4 }, view: view({ state: 'RUNNING' }) }, 'done', /^PCKh 71\.3, 12 s$/],
    ['queued', { view: view({ state: 'PENDING', reason: 'Dependency' }) }, 'pending', /^queued \(Dependency\)$/],
    ['running', { meta: meta('running'), view: view({ state: 'RUNNING' }) }, 'running', /worker\.log/],
    ['a requeued run that failed before is queued again', { meta: meta('failed', 'old'), view: view({ state: 'PENDING' }) }, 'pending', /queued/],
    ['failed with the reason', { meta: meta('failed', 'teacher run ab12 is failed (loss is NaN)'), view: view({ state: 'FAILED' }) }, 'failed', /^teacher run ab12 is failed \(loss is NaN\)$/],
    ['time limit: checkpointed', { meta: meta('interrupted', 'interrupted at step 40; rerun to resume'), view: view({ state: 'TIMEOUT' }) }, 'interrupted', /step 40.*\(Slurm: TIMEOUT\)/],
    ['killed hard', { meta: meta('running'), view: view({ state: 'OUT_OF_MEMORY', exitCode: '0:125' }) }, 'lost', /job 40_2 ended \(OUT_OF_MEMORY exit 0:125\) without final\.json.*40_2\.log/],
    ['died in the set-up', { view: view({ state: 'FAILED', reason: 'NonZeroExitCode' }) }, 'lost', /FAILED NonZeroExitCode/],
    ['forgotten by the scheduler', { meta: meta('running'), view: view() }, 'lost', /no longer known to squeue or sacct/],
    ['scheduler down', { view: { available: false, note: 'squeue not found', tasks: new Map() } }, 'pending', /submitted as job 40_2; scheduler unavailable/],
    ['never submitted', { ref: undefined, view: undefined }, 'pending', /^prepared, not started$/],
    ['local run still going', { ref: undefined, view: undefined, meta: meta('running'), folderStatus: 'running' }, 'running', /on node7 \(pid 12\)/],
    ['local run whose process died', { ref: undefined, view: undefined, meta: meta('running'), folderStatus: 'interrupted' }, 'interrupted', /rerun to resume/],
    ['no folder', { ref: undefined, view: undefined, hasFolder: false, meta: undefined, folderStatus: 'absent' }, 'pending', /no run folder yet/],
  ];
  for (const [what, over, state, detail] of cases) {
    const row = mergeRunState(evidence(over));
    assert.equal(row.state, state, what);
    assert.match(row.detail, detail, what);
  }
  assert.deepEqual(mergeRunState(evidence({ view: view({ state: 'PENDING' }) })).job, '40_2');
});

function results() {
  const root = mkdtempSync(join(tmpdir(), 'bnn-status-'));
  made.push(root);
  const store = new ResultsStore(root, 'study');
  const runs = ['aa', 'bb', 'cc'].map((id) => ({ id, name: `run-${id}`, seed: 0, params: {}, config: { id }, dependsOn: [] as string[] }));
  store.writeExperiment({ experiment: 'study', file: 'f', task: 'pose', preset: null, sets: [], varying: [], runs, plannedAt: '' });
  for (const r of runs) store.prepare(r);
  store.finish('aa', { metrics: { pckh: 50 } });
  return { root, store };
}

test('experimentStatus reads the folders, asks squeue about the recorded jobs, and counts states', () => {
  const { store } = results();
  const record: SlurmRecord = { experiment: 'study', submissions: [], runs: {
    aa: { ...ref, jobId: '5', task: 0 }, bb: { ...ref, jobId: '5', task: 1 }, cc: { ...ref, jobId: '6', task: 0 },
  } };
  writeFileSync(join(store.dir, SLURM_FILE), JSON.stringify(record));
  const asked: string[][] = [];
  const exec: Exec = (command, args) => {
    asked.push([command, ...args]);
    return command === 'squeue'
      ? { status: 0, stdout: '5|0|5|COMPLETED|None\n5|1|7|FAILED|NonZeroExitCode\n6|0|6|PENDING|Dependency\n', stderr: '' }
      : { status: 1, stdout: '', stderr: 'Slurm accounting storage is disabled' };
  };
  const s = experimentStatus(store.dir, { exec });
  assert.ok(asked[0]!.includes('--jobs=5,6'));
  assert.deepEqual(s.runs.map((r) => [r.id, r.state, r.job, r.slurm]), [['aa', 'done', '5_0', 'COMPLETED'], ['bb', 'lost', '5_1', 'FAILED'], ['cc', 'pending', '6_0', 'PENDING']]);
  assert.equal(s.scheduler, 'squeue, no sacct (Slurm accounting storage is disabled)');
  const text = formatStatus(s);
  assert.match(text, /^study \(.*\): 1 done, 1 pending, 1 lost; squeue, no sacct/);
  assert.match(text, /^cc +run-cc +pending +6_0 +queued \(Dependency\)$/m);
  const quiet = experimentStatus(store.dir, { scheduler: false });
  assert.equal(quiet.scheduler, 'scheduler not asked');
  assert.equal(quiet.runs[1]!.state, 'pending');
});

test('the status command prints JSON, and refuses a folder that holds no experiment', () => {
  const { store, root } = results();
  // A stray run folder of an older plan is listed too; plots/ and other folders without run files are not.
  mkdirSync(join(store.dir, 'zz'));
  writeFileSync(join(store.dir, 'zz', 'config.yaml'), 'task: pose\n');
  mkdirSync(join(store.dir, 'plots'));
  const json = spawnSync(process.execPath, [BIN, 'status', store.dir, '--json'], { encoding: 'utf8' });
  assert.equal(json.status, 0, json.stderr);
  const [s] = JSON.parse(json.stdout) as Array<{ scheduler: string; counts: Record<string, number>; runs: Array<{ id: string; state: string }> }>;
  assert.equal(s!.scheduler, 'not submitted to Slurm');
  assert.deepEqual(s!.counts, { done: 1, running: 0, pending: 3, interrupted: 0, failed: 0, lost: 0, corrupt: 0 });
  assert.deepEqual(s!.runs.map((r) => r.id), ['aa', 'bb', 'cc', 'zz']);
  const empty = join(root, 'nothing');
  mkdirSync(empty);
  const bad = spawnSync(process.execPath, [BIN, 'status', empty], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /not an experiment's results folder/);
});
