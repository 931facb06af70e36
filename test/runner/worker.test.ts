import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
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
const WORKER = join(ROOT, 'bin/worker.js');

function train(results: string, backend: string, extra: string[] = [], experiment = ['experiments/smoke.yaml', '--preset', 'ci']) {
  const args = ['run', ...experiment, '--set', 'seed=0', '--set', 'train.weight_decay=0.01',
    '--results', results, '--backend', backend, '--jobs', '1', ...extra];
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /more tensors after this run/, 'a worker leaked tensors between runs');
  return r;
}

/** Per run id: its metrics, the evaluation lines without their clock fields, the worker's pid and the worker log. */
function records(results: string, experiment = 'smoke') {
  const dir = join(results, experiment);
  return Object.fromEntries(readdirSync(dir).filter((n) => !n.endsWith('.json')).map((id) => {
    const read = (f: string) => readFileSync(join(dir, id, f), 'utf8');
    const lines = read('metrics.jsonl').trim().split('\n').map((l) => {
      const { elapsed_s: _e, images_per_s: _i, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
    const meta = JSON.parse(read('meta.json')) as { pid: number; name: string; backend: { name: string } };
    const log = existsSync(join(dir, id, 'worker.log')) ? read('worker.log') : '';
    return [id, { name: meta.name, metrics: JSON.parse(read('final.json')).metrics, lines, pid: meta.pid, backend: meta.backend.name, log }];
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

test('bin/worker.js outside the runner is a one-line usage error, exit 2', () => {
  const r = spawnSync(process.execPath, [WORKER], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr.trim(), /^bnn-ablate: bin\/worker\.js is started by `bnn-ablate run`/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

type First = { message: { type: string; backend?: { name: string; reason: string; threads: number }; message?: string }; code: number | null };

/**
 * The first message of bin/worker.js, forked as the runner forks it, and its exit code: with
 * `--backend <request>`, or prestarted (no flag) and then sent the start command.
 */
function firstMessage(request: string, start?: { env: Record<string, string>; args?: string[] }): Promise<First> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, start ? start.args ?? [] : ['--backend', request], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    if (start) child.send({ type: 'start', backend: request, env: start.env });
    let message: { type: string } | undefined;
    child.once('message', (m: { type: string }) => {
      message = m;
      // An idle worker ends when its parent leaves.
      if (child.connected) child.disconnect();
    });
    child.once('exit', (code) => (message ? resolve({ message: message as never, code }) : reject(new Error(`worker exited ${code} without a message`))));
  });
}

test('a prestarted worker takes its backend and thread environment from the start command, also after a warm start', { skip: NATIVE_SKIP }, async () => {
  // --expect native starts the backend before the thread env arrives: the env must still win.
  for (const [threads, args] of [['1', []], ['2', []], ['1', ['--expect', 'native']], ['2', ['--expect', 'native']]] as const) {
    const { message, code } = await firstMessage('native', { env: { OMP_NUM_THREADS: threads }, args: [...args] });
    assert.equal(message.type, 'ready', JSON.stringify(message));
    assert.equal(message.backend!.name, 'native');
    assert.equal(message.backend!.threads, Number(threads), 'the start command\'s OMP_NUM_THREADS reached the backend');
    assert.equal(code, 0);
  }
});

test('a prestarted worker whose parent leaves before the start command exits 0, with no error', async () => {
  const child = fork(WORKER, [], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => { output += c; });
  child.stderr!.on('data', (c: Buffer) => { output += c; });
  child.disconnect();
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, output);
  // Its warm-up may print a backend's own warnings (Dawn's, where a Vulkan driver is present), never an error line.
  assert.doesNotMatch(output, /^bnn-ablate:|Error/m);
});

test('a worker resolves `auto` as soon as it starts and reports the backend, before any run is sent', async () => {
  const { message, code } = await firstMessage('auto');
  assert.equal(message.type, 'ready');
  assert.ok(['gpu', 'node', 'webgpu', 'native', 'wasm', 'cpu'].includes(message.backend!.name), JSON.stringify(message));
  assert.match(message.backend!.reason, /^auto/);
  assert.equal(code, 0, 'an idle worker whose parent leaves exits cleanly');
});

test('a worker asked for an unavailable backend reports it and exits 2', async () => {
  const { message, code } = await firstMessage('gpu');
  assert.equal(message.type, 'unavailable');
  assert.match(String(message.message), /^backend 'gpu' is not available: /);
  assert.equal(code, 2);
});

test('run --backend auto: the backend line names what the first worker picked, and every run records it', () => {
  const results = mkdtempSync(join(tmpdir(), 'bnn-worker-auto-'));
  const r = train(results, 'auto');
  const line = r.stderr.split('\n').find((l) => l.startsWith('backend: '));
  assert.match(String(line), /^backend: (\w+) \(auto[^)]*.*\); 1 parallel job/);
  const picked = /^backend: (\w+)/.exec(line!)![1];
  for (const run of Object.values(records(results))) assert.equal(run.backend, picked);
});

const COCO = fileURLToPath(new URL('../../../shared/data/pose-fixtures/coco', import.meta.url));
const COCO_SKIP = existsSync(COCO) ? false : `${COCO} is absent (the shared research data is not on this machine)`;

test('a worker reuses the dataset of its previous run (coco-keypoints), and that run matches the same run trained alone, bit for bit', { skip: COCO_SKIP }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-worker-data-'));
  const file = join(dir, 'reuse.yaml');
  writeFileSync(file, [
    'name: reuse', 'set:', '  data.name: coco-keypoints', `  data.root: ${JSON.stringify(COCO)}`, '  data.train_annotations: test_coco.json',
    '  data.val_annotations: test_coco.json', '  data.images: .', '  data.input_size: 32', '  data.heatmap_size: 8', '  data.train_size: 12',
    '  data.val_size: 12', '  model.channels: 8', '  model.depth: 1', '  train.batch_size: 4', '  train.steps: 6', '  train.eval_every: 3',
    '  train.checkpoint_every: 6', 'grid:', '  model.binary: [true, false]', '',
  ].join('\n'));
  const pooled = join(dir, 'pooled');
  train(pooled, 'wasm', [], [file]);
  const both = records(pooled, 'reuse');
  const second = Object.values(both).find((r) => r.name.startsWith('binary=false'))!;
  const first = Object.values(both).find((r) => r.name.startsWith('binary=true'))!;
  assert.equal(first.pid, second.pid, 'one worker trained both');
  assert.doesNotMatch(first.log, /reused/);
  assert.match(second.log, /^worker: data coco-keypoints reused from this worker's previous run$/m);

  const alone = join(dir, 'alone');
  train(alone, 'wasm', ['--only', 'model.binary=false'], [file]);
  const [single] = Object.values(records(alone, 'reuse'));
  assert.doesNotMatch(single!.log, /reused/);
  assert.deepEqual(second.metrics, single!.metrics, 'final metrics');
  assert.deepEqual(second.lines, single!.lines, 'every evaluation line');
});
