// The Slurm executor against a real Slurm: test/slurm/start.sh starts munged, slurmctld and slurmd
// for this host under a temp folder; a tiny distillation grid (two teachers, two students) goes
// through `bnn-ablate run --executor slurm`; one teacher is made to die in its set-up, so the other
// teacher's student must still train and the orphaned student must fail with the reason; a second
// submission finishes the grid. stop.sh stops the daemons by their pid files.
// Skipped (with the reason) where Slurm is not installed; .ci/run installs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPlan } from '../../src/grid/index.ts';
import { experimentStatus, formatStatus, type ExperimentStatus } from '../../src/runner/status.ts';
import { readSlurmRecord } from '../../src/runner/slurm.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin/bnn-ablate.js');
const START = join(REPO, 'test/slurm/start.sh');
const STOP = join(REPO, 'test/slurm/stop.sh');

function skipReason(): string | false {
  const missing = ['sbatch', 'squeue', 'sinfo', 'slurmctld', 'slurmd', 'munged'].filter((cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0);
  if (missing.length) return `Slurm is not installed here (${missing.join(', ')} not found); apt-get install slurm-wlm munge to run it (.ci/run does)`;
  if (process.getuid?.() !== 0) return 'the test cluster runs as root (SlurmUser=root); run the tests as root';
  return false;
}

test('a distillation grid runs on a real single-node Slurm: layers, afterany, failure reasons, lost tasks, resubmission', { skip: skipReason(), timeout: 180_000 }, async (t) => {
  const cluster = mkdtempSync(join(tmpdir(), 'bnn-slurm-cluster-'));
  const started = spawnSync('bash', [START, cluster], { encoding: 'utf8' });
  t.after(() => {
    spawnSync('bash', [STOP, cluster]);
    rmSync(cluster, { recursive: true, force: true });
  });
  if (started.status !== 0) {
    const logs = ['slurmctld.log', 'slurmd.log', 'munged.log'].map((f) => join(cluster, 'log', f)).filter(existsSync)
      .map((f) => `--- ${f}\n${readFileSync(f, 'utf8').split('\n').slice(-15).join('\n')}`);
    assert.fail(`test/slurm/start.sh failed (${started.status}): ${started.stderr}\n${logs.join('\n')}`);
  }
  // Every Slurm client this process and the CLI start finds the test cluster through this.
  process.env.SLURM_CONF = join(cluster, 'slurm.conf');

  const work = mkdtempSync(join(tmpdir(), 'bnn-slurm-work-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  writeFileSync(join(work, 'kd.yaml'), [
    'name: slurm-kd',
    `extends: ${join(REPO, 'configs/base/pose.yaml')}`,
    'set:',
    '  distill.weight: 0.5',
    'grid:',
    '  distill.teacher: [{model.binary: false}]',
    '  model.stacks: [1, 2]',
    '',
  ].join('\n'));
  // One seed: the ci preset's three would triple the grid for nothing here.
  const sets = ['train.steps=4', 'train.eval_every=4', 'seed=0'];
  const planArgs = ['kd.yaml', '--preset', 'ci', ...sets.flatMap((s) => ['--set', s])];
  const plan = loadPlan('kd.yaml', { cwd: work, preset: 'ci', sets });
  const teachers = plan.runs.filter((r) => r.dependsOn.length === 0);
  const students = plan.runs.filter((r) => r.dependsOn.length > 0);
  assert.equal(teachers.length, 2);
  const doomed = teachers.find((r) => r.config.model.stacks === 2)!;
  const healthy = teachers.find((r) => r !== doomed)!;
  const orphan = students.find((r) => r.dependsOn[0] === doomed.id)!;
  const sibling = students.find((r) => r !== orphan)!;

  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8', env: process.env });
    assert.equal(r.status, 0, `bnn-ablate ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const dir = join(work, 'results', 'slurm-kd');
  const settle = async (): Promise<ExperimentStatus> => {
    const deadline = Date.now() + 100_000;
    for (;;) {
      const s = experimentStatus(dir);
      if (s.counts.pending + s.counts.running === 0) return s;
      if (Date.now() > deadline) assert.fail(`the grid did not finish in time:\n${formatStatus(s)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  };

  // 1. The doomed teacher's task dies in the set-up, before run-one can record anything.
  const failing = `case "$RUN_DIR" in */${doomed.id}) echo "set-up fails on purpose"; exit 3;; esac`;
  const first = cli('run', ...planArgs, '--executor', 'slurm', '--backend', 'wasm', '--slurm-setup', failing);
  assert.match(first, /layer 1: job \d+, 2 runs/);
  assert.match(first, /layer 2: job \d+, 2 runs, after \d+ end/);
  const s1 = await settle();
  const state = (s: ExperimentStatus, id: string) => s.runs.find((r) => r.id === id)!;
  const table = formatStatus(s1);
  assert.equal(state(s1, healthy.id).state, 'done', table);
  assert.equal(state(s1, sibling.id).state, 'done', `afterany lets the other teacher's student run\n${table}`);
  assert.equal(state(s1, doomed.id).state, 'lost', table);
  assert.equal(state(s1, doomed.id).slurm, 'FAILED', table);
  assert.equal(state(s1, orphan.id).state, 'failed', table);
  assert.match(state(s1, orphan.id).detail, new RegExp(`teacher run ${doomed.id} is pending`), table);
  assert.match(readFileSync(join(dir, doomed.id, 'worker.log'), 'utf8'), /set-up fails on purpose/);

  // 2. Resubmitting skips the done runs; submitting again while those jobs are queued holds them.
  const second = cli('run', ...planArgs, '--executor', 'slurm', '--backend', 'wasm');
  assert.match(second, /submitted 2 runs, 2 skipped/);
  const third = cli('run', ...planArgs, '--executor', 'slurm', '--backend', 'wasm');
  assert.match(third, /nothing to submit \(2 done, 2 still in Slurm\)/);
  const s2 = await settle();
  assert.deepEqual(s2.counts, { done: 4, running: 0, pending: 0, interrupted: 0, failed: 0, lost: 0, corrupt: 0 }, formatStatus(s2));

  // 3. The results are the local runner's: final.json and a done meta in each run folder, read by `status`.
  const json = JSON.parse(cli('status', dir, '--json')) as ExperimentStatus[];
  assert.deepEqual(json[0]!.runs.map((r) => [r.id, r.state, r.slurm]).sort(), plan.runs.map((r) => [r.id, 'done', 'COMPLETED']).sort());
  const record = readSlurmRecord(dir)!;
  assert.equal(record.submissions.length, 2);
  assert.equal(record.runs[orphan.id]!.layer, 2);
});
