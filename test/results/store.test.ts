import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { ResultsStore, FILES, type RunIdentity } from '../../src/results/store.ts';
import { decideResume } from '../../src/results/resume.ts';
import { ResultsError } from '../../src/errors.ts';

function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), 'bnn-results-'));
}

function run(id: string, config: Record<string, unknown> = { model: { activation: 'prelu' }, seed: 0 }): RunIdentity {
  return { id, name: `run-${id}`, seed: 0, params: { 'model.activation': 'prelu' }, config };
}

test('a run goes pending → running → done and records its environment', () => {
  const store = new ResultsStore(tempRoot(), 'study');
  const r = run('aaaa');
  const meta = store.prepare(r);
  assert.equal(meta.status, 'pending');
  assert.equal(store.status('aaaa'), 'pending');
  store.markRunning('aaaa', { name: 'cpu', version: '4.22.0' });
  assert.equal(store.status('aaaa'), 'running');
  store.appendMetrics('aaaa', { step: 10, loss: 1.5 });
  store.appendMetrics('aaaa', { step: 20, loss: 1.2 });
  store.finish('aaaa', { pckh: 41.5 });
  assert.equal(store.status('aaaa'), 'done');
  const done = store.readMeta('aaaa')!;
  assert.equal(done.attempts, 1);
  assert.equal(done.backend?.name, 'cpu');
  assert.equal(done.node, process.version);
  assert.ok(done.endedAt && done.startedAt);
  assert.deepEqual(store.readMetrics('aaaa'), [{ step: 10, loss: 1.5 }, { step: 20, loss: 1.2 }]);
  assert.deepEqual(store.readFinal('aaaa'), { pckh: 41.5 });
  assert.deepEqual(store.readConfig('aaaa'), r.config);
});

test('done means final.json parses, whatever meta.json says', () => {
  const store = new ResultsStore(tempRoot(), 'study');
  store.prepare(run('bbbb'));
  store.markRunning('bbbb', null);
  // A non-atomic writer killed mid-write would leave this: it must not count as done.
  writeFileSync(join(store.runDir('bbbb'), FILES.final), '{"pckh": 4');
  assert.equal(store.isDone('bbbb'), false);
  assert.notEqual(store.status('bbbb'), 'done');
});

test('a running run whose process is gone reads as interrupted', () => {
  const store = new ResultsStore(tempRoot(), 'study');
  store.prepare(run('cccc'));
  store.markRunning('cccc', null);
  const metaPath = join(store.runDir('cccc'), FILES.meta);
  const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
  meta.pid = 2 ** 22 + 12345; // above Linux's pid_max default: no such process
  writeFileSync(metaPath, JSON.stringify(meta));
  assert.equal(store.status('cccc'), 'interrupted');
});

test('a torn last metrics line is ignored and truncateMetrics keeps steps up to a checkpoint', () => {
  const store = new ResultsStore(tempRoot(), 'study');
  store.prepare(run('dddd'));
  for (const step of [100, 200, 300]) store.appendMetrics('dddd', { step, loss: 1 / step });
  store.truncateMetrics('dddd', 200);
  assert.deepEqual(store.readMetrics<{ step: number }>('dddd').map((r) => r.step), [100, 200]);
  const path = join(store.runDir('dddd'), FILES.metrics);
  writeFileSync(path, `${readFileSync(path, 'utf8')}{"step": 30`);
  assert.deepEqual(store.readMetrics<{ step: number }>('dddd').map((r) => r.step), [100, 200]);
});

test('resume skips done runs, restarts unfinished ones and starts new ones', () => {
  const store = new ResultsStore(tempRoot(), 'study');
  const [done, failed, interrupted, fresh] = ['d1', 'f1', 'i1', 'n1'].map((id) => run(id, { id }));
  store.prepare(done); store.markRunning(done.id, null); store.finish(done.id, { top1: 90 });
  store.prepare(failed); store.markRunning(failed.id, null); store.fail(failed.id, 'loss is NaN at step 12');
  store.prepare(interrupted); store.markRunning(interrupted.id, null); store.interrupt(interrupted.id);
  const decisions = decideResume(store, [done, failed, interrupted, fresh]);
  assert.deepEqual(decisions.map((d) => [d.run.id, d.action, d.previous]), [
    ['d1', 'skip', 'done'],
    ['f1', 'restart', 'failed'],
    ['i1', 'restart', 'interrupted'],
    ['n1', 'start', 'absent'],
  ]);
  // A restart keeps the attempt count and the first start time.
  const before = store.readMeta('f1')!;
  store.prepare(failed);
  const after = store.markRunning('f1', null);
  assert.equal(after.attempts, 2);
  assert.equal(after.startedAt, before.startedAt);
});

test('a folder holding another config is refused unless forced', () => {
  const store = new ResultsStore(tempRoot(), 'study');
  store.prepare(run('eeee', { lr: 0.1 }));
  store.finish('eeee', { top1: 1 });
  const changed = run('eeee', { lr: 0.2 });
  assert.throws(() => decideResume(store, [changed]), (err: unknown) =>
    err instanceof ResultsError && /eeee\/config\.yaml \(run-eeee\): stored config differs.*--force/.test(err.message));
  assert.throws(() => store.prepare(changed), ResultsError);
  assert.deepEqual(decideResume(store, [changed], { force: true }).map((d) => d.action), ['replace']);
  store.prepare(changed, { force: true });
  assert.equal(store.status('eeee'), 'pending');
  assert.deepEqual(store.readConfig('eeee'), { lr: 0.2 });
});

test('config comparison ignores key order', () => {
  const store = new ResultsStore(tempRoot(), 'study');
  store.prepare(run('ffff', { a: 1, b: { c: 2, d: [1, 2] } }));
  assert.equal(store.storedConfigDiffers('ffff', { b: { d: [1, 2], c: 2 }, a: 1 }), false);
  assert.equal(store.storedConfigDiffers('ffff', { b: { d: [2, 1], c: 2 }, a: 1 }), true);
});

test('experiment names that are not safe folder names are refused', () => {
  assert.throws(() => new ResultsStore(tempRoot(), '../escape'), ResultsError);
});

test('a process killed mid-write leaves the old final.json or none, never a torn one', async () => {
  const root = tempRoot();
  const store = new ResultsStore(root, 'study');
  store.prepare(run('kill'));
  const finalPath = join(store.runDir('kill'), FILES.final);
  // The child rewrites a large final.json over and over until it is killed.
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
    import { ResultsStore } from ${JSON.stringify(new URL('../../src/results/store.ts', import.meta.url).pathname)};
    const store = new ResultsStore(${JSON.stringify(root)}, 'study');
    const big = { blob: 'x'.repeat(8 * 1024 * 1024) };
    process.stdout.write('ready\\n');
    for (let i = 0; ; i++) store.finish('kill', { ...big, i });
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  // Wait until a temp file is in flight, then kill hard.
  const dir = store.runDir('kill');
  const deadline = Date.now() + 20_000;
  const inFlight = () => readdirSync(dir).some((n) => n.endsWith('.tmp'));
  while (!inFlight() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  // Without a write in flight at the kill, this test would prove nothing.
  assert.ok(inFlight(), 'no temp file appeared: the child never got to write');
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  if (existsSync(finalPath)) {
    const final = JSON.parse(readFileSync(finalPath, 'utf8'));
    assert.equal(final.blob.length, 8 * 1024 * 1024);
  }
  // Re-preparing the run sweeps the dead writer's temp files.
  store.prepare(run('kill'));
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), []);
});

test('corrupt runs are named, never done, and set aside (not deleted) when prepared again; --force keeps the replaced files too', () => {
  const store = new ResultsStore(tempRoot(), 'study');
  const finished = (id: string) => { store.prepare(run(id)); store.finish(id, { pckh: 40 }); };
  finished('torn');
  writeFileSync(join(store.runDir('torn'), FILES.final), '{"pckh": 4');
  finished('nometa');
  writeFileSync(join(store.runDir('nometa'), FILES.meta), ''); // an empty meta does not parse either
  finished('badcfg');
  writeFileSync(join(store.runDir('badcfg'), FILES.config), 'a: [1, 2\n');
  const expected: Record<string, RegExp> = { torn: /final\.json does not parse/, nometa: /meta\.json does not parse/, badcfg: /config\.yaml does not parse/ };
  for (const [id, why] of Object.entries(expected)) {
    assert.equal(store.status(id), 'corrupt', id);
    assert.equal(store.isDone(id), false, id);
    assert.match(store.corruption(id)!, why);
  }
  finished('gone');
  rmSync(join(store.runDir('gone'), FILES.meta));
  assert.match(store.corruption('gone')!, /final\.json is there but meta\.json is missing/);
  finished('lost');
  rmSync(join(store.runDir('lost'), FILES.final));
  assert.match(store.corruption('lost')!, /meta\.json says done but final\.json is missing/);

  assert.deepEqual(decideResume(store, [run('torn')]).map((d) => [d.action, d.previous]), [['restart', 'corrupt']]);
  const again = store.prepare(run('torn'));
  assert.match(again.setAside!, /\/\.aside\/torn\.corrupt\.\d{8}T\d{6}Z$/);
  assert.equal(readFileSync(join(again.setAside!, FILES.final), 'utf8'), '{"pckh": 4');
  assert.equal(store.status('torn'), 'pending');
  assert.ok(!store.listRunIds().includes('.aside'));

  finished('valid');
  const replaced = store.prepare(run('valid', { other: true }), { force: true });
  assert.deepEqual(JSON.parse(readFileSync(join(replaced.setAside!, FILES.final), 'utf8')), { pckh: 40 }, 'the valid result survives --force');
});
