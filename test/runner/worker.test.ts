import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeSkip } from '../backend/helpers.ts';

/**
 * The pooled worker (src/runner/worker.ts) with real training: a run trained second in a worker
 * gives the same numbers, bit for bit, as the same run in a fresh process. Weight decay is on
 * because it selects kernels by name, and tfjs names the second model's weights `kernel_1`.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/bnn-ablate.js');

function train(results: string, backend: string, extra: string[] = []) {
  const args = ['run', 'experiments/smoke.yaml', '--preset', 'ci', '--set', 'seed=0', '--set', 'train.weight_decay=0.01',
    '--results', results, '--backend', backend, '--jobs', '1', ...extra];
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /more tensors after this run/, 'a worker leaked tensors between runs');
  return r;
}

/** Per run id: its metrics, the evaluation lines without their clock fields, the worker's pid and the worker log. */
function records(results: string) {
  const dir = join(results, 'smoke');
  return Object.fromEntries(readdirSync(dir).filter((n) => !n.endsWith('.json')).map((id) => {
    const read = (f: string) => readFileSync(join(dir, id, f), 'utf8');
    const lines = read('metrics.jsonl').trim().split('\n').map((l) => {
      const { elapsed_s: _e, images_per_s: _i, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
    const meta = JSON.parse(read('meta.json')) as { pid: number; name: string };
    return [id, { name: meta.name, metrics: JSON.parse(read('final.json')).metrics, lines, pid: meta.pid }];
  }));
}

const NATIVE_SKIP = await nativeSkip();

for (const backend of ['wasm', 'native']) {
  test(`${backend}: a run trained after another in one worker matches the same run trained alone, bit for bit`, { skip: backend === 'native' && NATIVE_SKIP }, () => {
    const pooled = mkdtempSync(join(tmpdir(), 'bnn-worker-pooled-'));
    train(pooled, backend);
    const both = records(pooled);
    const ids = Object.keys(both);
    assert.equal(ids.length, 2);
    assert.equal(both[ids[0]!]!.pid, both[ids[1]!]!.pid, 'at --jobs 1 one worker process trained both runs');

    const alone = mkdtempSync(join(tmpdir(), 'bnn-worker-alone-'));
    train(alone, backend, ['--only', 'model.binary=false']);
    const single = records(alone);
    const [id] = Object.keys(single);
    assert.equal(single[id!]!.name, 'binary=false,seed=0');
    assert.deepEqual(both[id!]!.metrics, single[id!]!.metrics, 'final metrics');
    assert.deepEqual(both[id!]!.lines, single[id!]!.lines, 'every evaluation line');
  });
}

test('`bnn-ablate worker` outside the runner is a one-line usage error, exit 2', () => {
  const r = spawnSync(process.execPath, [BIN, 'worker'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr.trim(), /^bnn-ablate: bnn-ablate worker is started by `bnn-ablate run`/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});
