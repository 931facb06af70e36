import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/bnn-ablate.js');

function cli(args: string[], cwd = ROOT) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 240_000 });
}

test('run trains the smoke study end to end on the ci preset, then skips it', () => {
  const results = mkdtempSync(join(tmpdir(), 'bnn-cli-run-'));
  const first = cli(['run', 'experiments/smoke.yaml', '--preset', 'ci', '--set', 'seed=0', '--results', results, '--backend', 'wasm']);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /^2 done, 0 skipped/m);
  const dir = join(results, 'smoke');
  const runs = readdirSync(dir).filter((n) => !n.endsWith('.json'));
  assert.equal(runs.length, 2);
  for (const id of runs) {
    const final = JSON.parse(readFileSync(join(dir, id, 'final.json'), 'utf8'));
    assert.equal(final.task, 'pose');
    assert.ok(final.metrics.pckh >= 0 && final.metrics.pckh <= 100);
    assert.equal(final.metrics.pckh_variant, 'count-weighted mean, err <= t');
    const meta = JSON.parse(readFileSync(join(dir, id, 'meta.json'), 'utf8'));
    assert.equal(meta.status, 'done');
    assert.equal(meta.backend.name, 'wasm');
    assert.ok(existsSync(join(dir, id, 'model', 'model.json')));
    assert.ok(readFileSync(join(dir, id, 'metrics.jsonl'), 'utf8').trim().split('\n').length >= 2);
  }
  const second = cli(['run', 'experiments/smoke.yaml', '--preset', 'ci', '--set', 'seed=0', '--results', results, '--backend', 'wasm']);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /^0 done, 2 skipped/m);
});

test('a bad experiment is one line naming file, line and key, exit 2, and trains nothing', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'bnn-cli-bad-'));
  writeFileSync(join(cwd, 'bad.yaml'), 'name: bad\ngrid:\n  train.stepz: [1, 2]\n');
  const r = cli(['run', 'bad.yaml', '--results', join(cwd, 'results')], cwd);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /bad\.yaml:3:3: .*unknown key 'train\.stepz' \(did you mean 'train\.steps'\?\)/);
  assert.equal(existsSync(join(cwd, 'results')), false);
});

test('an unavailable forced backend and a bad flag are one-line errors, exit 2', () => {
  const gpu = cli(['run', 'experiments/smoke.yaml', '--backend', 'gpu', '--results', mkdtempSync(join(tmpdir(), 'bnn-cli-'))]);
  assert.equal(gpu.status, 2);
  assert.equal(gpu.stderr.trim().split('\n').length, 1, gpu.stderr);
  const jobs = cli(['run', 'experiments/smoke.yaml', '--jobs', '0']);
  assert.equal(jobs.status, 2);
  assert.match(jobs.stderr, /--jobs must be a positive integer/);
});

test('summary prints the reference HourGlass with its parameter count and binary MAC share', () => {
  const r = cli(['summary', 'configs/bench/hourglass-ref.yaml', '--backend', 'cpu', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const [{ summary }] = JSON.parse(r.stdout);
  assert.equal(summary.totals.params, 1_434_000);
  assert.equal(summary.totals.macs, 218_157_056);
  assert.ok(summary.totals.binaryMacRatio > 0.85 && summary.totals.binaryMacRatio < 0.95);
});

test('SIGINT checkpoints the runs in flight, marks them interrupted and exits 130', async () => {
  const { spawn } = await import('node:child_process');
  const results = mkdtempSync(join(tmpdir(), 'bnn-cli-int-'));
  const args = [BIN, 'run', 'experiments/smoke.yaml', '--preset', 'ci', '--set', 'seed=0', '--set', 'train.steps=100000', '--set', 'train.eval_every=1', '--results', results, '--backend', 'wasm'];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const dir = join(results, 'smoke');
  // Wait until both runs have evaluated at least once: training is under way.
  const deadline = Date.now() + 60_000;
  const evaluated = () => existsSync(dir) && readdirSync(dir).filter((n) => existsSync(join(dir, n, 'metrics.jsonl'))).length === 2;
  while (!evaluated() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 130);
  for (const id of readdirSync(dir).filter((n) => !n.endsWith('.json'))) {
    const meta = JSON.parse(readFileSync(join(dir, id, 'meta.json'), 'utf8'));
    assert.equal(meta.status, 'interrupted');
    assert.ok(existsSync(join(dir, id, 'checkpoints', 'latest.json')), `${id} has a checkpoint`);
  }
});

test('bench times training steps of a small model and finds no tensor leak', () => {
  const r = cli(['bench', 'configs/bench/hourglass-ref.yaml', '--backend', 'wasm', '--steps', '2', '--warmup', '1', '--json',
    '--set', 'model.channels=8', '--set', 'data.input_size=32', '--set', 'data.heatmap_size=8', '--set', 'data.train_size=8']);
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.backend, 'wasm');
  assert.equal(result.timesMs.length, 2);
  assert.equal(result.tensorsAfter, result.tensorsBefore);
  assert.ok(result.medianMs > 0 && result.gflopsPerSecond > 0 && result.flopsPerStep > 0);
});
