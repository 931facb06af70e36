// The Slurm executor without Slurm: scripts, layers, settings, slurm.json and resubmission, with
// sbatch/squeue replaced by a fake `exec`. The real cluster test is slurm-cluster.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plan, PlannedRun } from '../../src/grid/index.ts';
import { loadPlan } from '../../src/grid/index.ts';
import { ResultsStore } from '../../src/results/store.ts';
import { runSlurm, readSlurmRecord, formatSubmissions, SLURM_DIR, type SlurmRunOptions } from '../../src/runner/slurm.ts';
import { dependencyLayers, mergeSlurmSettings, renderScript, shellQuote, BIN } from '../../src/runner/slurm-script.ts';
import { parseSacct, parseSqueue, querySlurm, type CommandResult, type Exec } from '../../src/runner/slurm-scheduler.ts';
import type { PreparedRun } from '../../src/runner/local.ts';
import { RunFailedError, UsageError } from '../../src/errors.ts';
import { throwsConfig, tree } from '../config/fixture.ts';

const made: string[] = [];
process.on('exit', () => { for (const dir of made) rmSync(dir, { recursive: true, force: true }); });

const ok = (stdout = ''): CommandResult => ({ status: 0, stdout, stderr: '' });

function run(id: string, dependsOn: string[] = []): PlannedRun {
  return { id, name: `run-${id}`, seed: 0, params: { seed: 0 }, config: { task: 'pose', id } as never, dependsOn };
}

/** A fake Slurm: sbatch hands out job ids from `firstId` and keeps the scripts; squeue answers from `queue`. */
function fakeSlurm(queue: string[] = [], firstId = 100) {
  const calls: Array<{ command: string; args: string[] }> = [];
  const scripts: string[] = [];
  let next = firstId;
  const exec: Exec = (command, args) => {
    calls.push({ command, args });
    if (command === 'sbatch') { scripts.push(readFileSync(args.at(-1)!, 'utf8')); return ok(`${next++}\n`); }
    if (command === 'squeue') return ok(queue.join('\n'));
    return { status: 1, stdout: '', stderr: 'Slurm accounting storage is disabled' };
  };
  return { exec, calls, scripts };
}

function setup(runs: PlannedRun[], executor?: Plan['executor']) {
  const root = mkdtempSync(join(tmpdir(), 'bnn-slurm-'));
  made.push(root);
  const plan: Plan = { experiment: 'study', file: 'study.yaml', runs, ...(executor ? { executor } : {}) };
  const options = (over: Partial<SlurmRunOptions> = {}): SlurmRunOptions => ({
    resultsRoot: root, backend: 'auto', force: false, preset: null, sets: [], flags: {}, dryRun: false, cwd: root,
    now: () => new Date('2025-01-02T03:04:05Z'), ...over,
  });
  return { root, plan, options, store: new ResultsStore(root, 'study') };
}

test('teachers and students go to separate layers, chained with afterany, and slurm.json records every task', () => {
  const { plan, options, store } = setup([run('t1'), run('t2'), run('x'), run('s1', ['t1']), run('s2', ['t2']), run('g', ['s1'])]);
  const slurm = fakeSlurm();
  const [sub] = runSlurm([plan], options({ exec: slurm.exec, flags: { partition: 'gpu', gres: 'gpu:1', sbatch: ['#SBATCH --qos=low'] } }));
  assert.deepEqual(sub!.layers.map((l) => [l.layer, l.jobId, l.dependency, l.runs]), [
    [1, '100', null, ['t1', 't2', 'x']],
    [2, '101', 'afterany:100', ['s1', 's2']],
    [3, '102', 'afterany:100:101', ['g']],
  ]);
  // Folders are prepared as the local runner prepares them.
  assert.equal(store.status('s1'), 'pending');
  assert.equal(store.readExperiment()?.runs.length, 6);
  const record = readSlurmRecord(store.dir)!;
  assert.deepEqual(record.runs.s2 && { job: record.runs.s2.jobId, task: record.runs.s2.task, layer: record.runs.s2.layer }, { job: '101', task: 1, layer: 2 });
  assert.equal(record.submissions.length, 1);
  assert.match(record.submissions[0]!.command, new RegExp(`^node ${BIN.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} run-one`));
  const layer2 = slurm.scripts[1]!;
  assert.match(layer2, /^#SBATCH --array=0-1$/m);
  assert.match(layer2, /^#SBATCH --dependency=afterany:100$/m);
  assert.match(layer2, /^#SBATCH --partition=gpu$/m);
  assert.match(layer2, /^#SBATCH --gres=gpu:1$/m);
  assert.match(layer2, /^#SBATCH --qos=low$/m);
  assert.match(layer2, new RegExp(`^  ${join(store.dir, 's1')}  # 0: s1 run-s1$`, 'm'));
  assert.match(layer2, /run-one "\$RUN_DIR" --backend auto$/m);
  // The scripts stay beside the results, in a hidden folder report and status do not list.
  assert.equal(readdirSync(join(store.dir, SLURM_DIR)).filter((f) => f.endsWith('.sbatch')).length, 3);
  assert.deepEqual(store.listRunIds(), ['g', 's1', 's2', 't1', 't2', 'x']);
  assert.match(formatSubmissions([sub!], false, options().cwd), /study: layer 2: job 101, 2 runs, after 100 end/);
});

test('done runs are not submitted again; a student of a done teacher needs no dependency', () => {
  const { plan, options, store } = setup([run('t'), run('s', ['t'])]);
  store.prepare(plan.runs[0]!);
  store.finish('t', { metrics: { pckh: 1 } });
  const slurm = fakeSlurm();
  const [sub] = runSlurm([plan], options({ exec: slurm.exec }));
  assert.equal(sub!.skipped, 1);
  assert.deepEqual(sub!.layers.map((l) => [l.runs, l.dependency]), [[['s'], null]]);
  assert.doesNotMatch(slurm.scripts[0]!, /--dependency/);
});

test('runs still queued or running are held: not prepared again, not resubmitted, and their students wait on that job', () => {
  const { plan, options, store } = setup([run('t'), run('s', ['t']), run('x')]);
  const first = fakeSlurm();
  runSlurm([plan], options({ exec: first.exec }));
  store.markRunning('t', null);
  // t (job 100 task 0) still runs; s (101_0) and x (100_1) ended without results.
  const again = fakeSlurm(['100|0|102|RUNNING|None', '100|1|103|FAILED|NonZeroExitCode', '101|0|104|COMPLETED|None'], 200);
  const [sub] = runSlurm([plan], options({ exec: again.exec }));
  assert.deepEqual(sub!.held, [{ id: 't', job: '100_0' }]);
  assert.equal(store.readMeta('t')?.status, 'running', 'a held run keeps its meta');
  assert.deepEqual(sub!.layers.map((l) => [l.runs, l.dependency]), [[['s', 'x'], 'afterany:100']]);
  const record = readSlurmRecord(store.dir)!;
  assert.equal(record.submissions.length, 2);
  assert.deepEqual([record.runs.t!.jobId, record.runs.s!.jobId, record.runs.x!.jobId], ['100', '200', '200']);
});

test('a dry run prints the scripts with placeholders and writes nothing', () => {
  const { root, plan, options } = setup([run('t'), run('s', ['t'])]);
  const slurm = fakeSlurm();
  const subs = runSlurm([plan], options({ exec: slurm.exec, dryRun: true, maxParallel: 3 }));
  assert.deepEqual(slurm.calls, []);
  assert.deepEqual(readdirSync(root), []);
  const text = formatSubmissions(subs, true, root);
  assert.match(text, /^#SBATCH --array=0-0%3$/m);
  assert.match(text, /^#SBATCH --dependency=afterany:<job id of layer 1>$/m);
  assert.match(text, /not written: dry run/);
});

test('--cpus-per-task comes from train.threads (the most in a layer) unless the settings give it', () => {
  const threaded = (id: string, threads: number | null, dependsOn: string[] = []): PlannedRun =>
    ({ ...run(id, dependsOn), config: { task: 'pose', id, train: { threads } } as never });
  const cpus = (sub: { layers: Array<{ text?: string }> }) => sub.layers.map((l) => /^#SBATCH --cpus-per-task=(\d+)$/m.exec(l.text ?? '')?.[1] ?? null);
  // Layer 1: threads 2 and 4 -> 4; layer 2: no threads -> Slurm's default (no line).
  const { plan, options } = setup([threaded('a', 2), threaded('b', 4), threaded('s', null, ['a'])]);
  const [derived] = runSlurm([plan], options({ exec: fakeSlurm().exec, dryRun: true }));
  assert.deepEqual(cpus(derived!), ['4', null]);
  const [given] = runSlurm([plan], options({ exec: fakeSlurm().exec, dryRun: true, flags: { cpusPerTask: 3 } }));
  assert.deepEqual(cpus(given!), ['3', '3'], 'the flag wins, on every layer');
  const [fromFile] = runSlurm([{ ...plan, executor: { slurm: { sbatch: [], cpusPerTask: 1 } } }], options({ exec: fakeSlurm().exec, dryRun: true }));
  assert.deepEqual(cpus(fromFile!), ['1', '1'], "the file's cpus_per_task wins");
});

test('sbatch missing is a usage error; a refused layer keeps the earlier layers in slurm.json', () => {
  const { plan, options, store } = setup([run('t'), run('s', ['t'])]);
  const missing: Exec = () => ({ status: null, stdout: '', stderr: '', error: Object.assign(new Error('spawn sbatch ENOENT'), { code: 'ENOENT' }) });
  assert.throws(() => runSlurm([plan], options({ exec: missing })), (e: unknown) => e instanceof UsageError && /sbatch not found in PATH; --dry-run/.test(e.message));
  let n = 0;
  const refuses: Exec = (command) => (command !== 'sbatch' ? ok() : n++ === 0 ? ok('7;cluster\n') : { status: 1, stdout: '', stderr: 'sbatch: error: Invalid partition name specified' });
  assert.throws(() => runSlurm([plan], options({ exec: refuses })), (e: unknown) => e instanceof RunFailedError && /Invalid partition name/.test(e.message));
  assert.deepEqual(Object.keys(readSlurmRecord(store.dir)!.runs), ['t']);
  assert.equal(readSlurmRecord(store.dir)!.runs.t!.jobId, '7');
});

test('dependencyLayers follows teacher chains in plan order', () => {
  const p = (key: string, deps: string[] = []) => ({ key, experiment: 'e', id: key.slice(2), name: key, deps, store: undefined as never }) as PreparedRun;
  const layers = dependencyLayers([p('e/a'), p('e/b', ['e/a']), p('e/c', ['e/gone']), p('e/d', ['e/b'])]);
  assert.deepEqual(layers.map((l) => l.map((r) => r.id)), [['a', 'c'], ['b'], ['d']]);
});

test('flags override the experiment file key by key, extra sbatch lines add up, bad values are refused', () => {
  const file = { partition: 'cpu', time: '10', sbatch: ['--qos=a'], setup: 'module load x' };
  const merged = mergeSlurmSettings(file, { partition: 'gpu', cpusPerTask: 4, sbatch: ['#SBATCH --exclusive'] });
  assert.deepEqual(merged, { partition: 'gpu', time: '10', sbatch: ['--qos=a', '--exclusive'], setup: 'module load x', cpusPerTask: 4 });
  assert.throws(() => mergeSlurmSettings(undefined, { cpusPerTask: 0 }), /--slurm-cpus-per-task: expected a positive integer, got integer 0/);
  assert.throws(() => mergeSlurmSettings(undefined, { time: '2 hours' }), /--slurm-time: expected minutes or \[D-\]HH:MM\[:SS\]/);
  assert.throws(() => mergeSlurmSettings(undefined, { partition: 'gpu; rm -rf /' }), /--slurm-partition: expected one word/);
  assert.throws(() => mergeSlurmSettings(undefined, { sbatch: ['qos=x'] }), /--slurm-sbatch: expected an sbatch option/);
});

test('scripts quote what the shell reads and refuse paths #SBATCH lines cannot carry', () => {
  assert.equal(shellQuote('/a/b-c_1'), '/a/b-c_1');
  assert.equal(shellQuote("it's here"), `'it'\\''s here'`);
  const base = { experiment: 'e', layer: 0, layers: 1, runs: [{ id: 'a', name: 'n', dir: '/r/a b' }], outputPattern: '/r/%A_%a.log', cwd: '/w', backend: 'wasm', settings: { sbatch: [], node: '/opt/node 20/bin/node' } };
  const text = renderScript(base);
  assert.match(text, /^ {2}'\/r\/a b' {2}# 0: a n$/m);
  assert.match(text, /^exec '\/opt\/node 20\/bin\/node' /m);
  assert.throws(() => renderScript({ ...base, cwd: '/my work' }), /contains whitespace/);
});

test('executor.slurm in an experiment file reaches the plan, is checked in place, and leaves run ids alone', () => {
  const plain = `
    grid:
      model.stacks: [1, 2]
  `;
  const cwd = tree({
    'plain.yaml': plain,
    'exp.yaml': `${plain}
    executor:
      slurm:
        partition: gpu
        time: 90
        cpus_per_task: 2
        sbatch: ["#SBATCH --qos=low"]
        setup: |
          module load nodejs
    `,
    'bad.yaml': `
    grid:
      model.stacks: [1]
    executor:
      slurm:
        cpus_per_tsk: 2
    `,
  });
  const plan = loadPlan('exp.yaml', { cwd });
  assert.deepEqual(plan.executor, { slurm: { partition: 'gpu', time: '90', cpusPerTask: 2, sbatch: ['--qos=low'], setup: 'module load nodejs\n' } });
  assert.deepEqual(plan.runs.map((r) => r.id), loadPlan('plain.yaml', { cwd }).runs.map((r) => r.id));
  throwsConfig(() => loadPlan('bad.yaml', { cwd }), "bad.yaml:5:5: executor.slurm: unknown key 'cpus_per_tsk' (did you mean 'cpus_per_task'?)");
});

test('squeue and sacct outputs parse per array task; unknown ids only mean the jobs ended', () => {
  const q = parseSqueue('12|0|12|COMPLETED|None\n12|3|15|FAILED|NonZeroExitCode\n13|[0-2%1]|13|PENDING|Dependency\n14|N/A|14|RUNNING|None\n');
  assert.deepEqual(q.get('12_3'), { state: 'FAILED', reason: 'NonZeroExitCode', source: 'squeue' });
  assert.deepEqual([...q.keys()], ['12_0', '12_3', '13_0', '13_1', '13_2', '14']);
  const a = parseSacct('12_1|OUT_OF_MEMORY|0:125\n12_2|CANCELLED by 0|0:15\n');
  assert.equal(a.get('12_1')?.state, 'OUT_OF_MEMORY');
  assert.equal(a.get('12_2')?.state, 'CANCELLED');
  const gone: Exec = (command) => (command === 'squeue' ? { status: 1, stdout: '', stderr: 'slurm_load_jobs error: Invalid job id specified' } : ok('12_0|TIMEOUT|0:0\n'));
  const view = querySlurm(['12'], gone);
  assert.equal(view.available, true);
  assert.equal(view.note, 'squeue, sacct');
  assert.equal(view.tasks.get('12_0')?.state, 'TIMEOUT');
  const down: Exec = () => ({ status: 1, stdout: '', stderr: 'slurm_load_jobs error: Unable to contact slurm controller' });
  assert.deepEqual([querySlurm(['1'], down).available, querySlurm(['1'], down).note], [false, 'squeue failed: slurm_load_jobs error: Unable to contact slurm controller']);
});
