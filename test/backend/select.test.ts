import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../../src/errors.ts';
import { classifyImportError, kernelOverrides, probeBackends, selectBackend } from '../../src/backend/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('selectBackend("cpu") activates cpu with the fast filter gradient', async () => {
  const b = await selectBackend('cpu');
  assert.equal(b.name, 'cpu');
  assert.equal(b.tfjsBackend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(b.fastConvGradients, true);
  assert.equal(b.reason, '--backend cpu');
  assert.match(b.versions['tfjs-core']!, /^\d+\.\d+\.\d+/);
  assert.ok(kernelOverrides('cpu').includes('Conv2DBackpropFilter'));
});

test('selectBackend("wasm") runs single-threaded with every wasm override installed', async () => {
  const listenersBefore = process.listeners('uncaughtException').length;
  const b = await selectBackend('wasm');
  assert.equal(b.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.match(b.detail, /\b1 thread\b/);
  assert.equal(b.fastConvGradients, true);
  assert.deepEqual(kernelOverrides('wasm').sort(), [
    'AvgPoolGrad', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Identity', 'MaxPoolGrad', 'OneHot',
    'ResizeNearestNeighborGrad', 'UnsortedSegmentSum',
  ]);
  // Emscripten's process-wide rethrowing handlers are removed again.
  assert.equal(process.listeners('uncaughtException').length, listenersBefore);
});

test('auto takes the first available backend and says why it skipped the others', async () => {
  const report = await probeBackends();
  const picked = await selectBackend('auto');
  assert.equal(picked.name, report.auto);
  assert.equal(picked.name, report.backends.find((b) => b.available && !b.autoSkip)!.name);
  assert.match(picked.reason, /^auto: /);
  for (const b of report.backends) {
    if (b.name === picked.name) break;
    assert.ok(picked.reason.includes(`${b.name}: ${b.autoSkip ?? b.reason}`), `reason mentions why ${b.name} was skipped`);
  }
  assert.deepEqual(report.backends.map((b) => b.name), ['gpu', 'node', 'webgpu', 'native', 'wasm', 'cpu']);
  for (const b of report.backends) {
    if (b.available) assert.ok(b.version, `${b.name} has a version`);
    else assert.ok(b.reason && !b.reason.includes('\n'), `${b.name} has a one-line reason`);
  }
});

test('a forced backend that is unavailable is a one-line BackendError (exit 2)', async () => {
  const report = await probeBackends();
  for (const name of ['gpu', 'node', 'webgpu'] as const) {
    const probe = report.backends.find((b) => b.name === name)!;
    if (probe.available) {
      assert.equal((await selectBackend(name)).name, name);
      continue;
    }
    await assert.rejects(selectBackend(name), (err: unknown) => {
      assert.ok(err instanceof BackendError);
      assert.equal(err.exitCode, 2);
      assert.ok(!err.message.includes('\n'));
      assert.equal(err.message, `backend '${name}' is not available: ${probe.reason}`);
      return true;
    });
  }
});

test('import failures are classified into "not available" reasons', () => {
  const notFound = Object.assign(new Error("Cannot find package '@tensorflow/tfjs-node' imported from /x.ts"), { code: 'ERR_MODULE_NOT_FOUND' });
  assert.equal(classifyImportError('@tensorflow/tfjs-node', notFound), '@tensorflow/tfjs-node is not installed');
  const depMissing = Object.assign(new Error("Cannot find module '@mapbox/node-pre-gyp'"), { code: 'MODULE_NOT_FOUND' });
  assert.equal(classifyImportError('@tensorflow/tfjs-node', depMissing), '@tensorflow/tfjs-node cannot load: missing @mapbox/node-pre-gyp');
  const addon = new Error('The Node.js native addon module (tfjs_binding.node) can not be found at path: /a/b.\nPlease run command ...');
  const r = classifyImportError('@tensorflow/tfjs-node-gpu', addon);
  assert.match(r, /tfjs_binding\.node/);
  assert.ok(!r.includes('\n'));
  const lib = new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');
  assert.match(classifyImportError('@tensorflow/tfjs-node-gpu', lib), /cannot load libtensorflow/);
  assert.equal(classifyImportError('p', new Error('boom\nstack')), 'p failed to load: boom');
});

test('native packages that fail the way a broken install fails are skipped by auto', async () => {
  const addon = 'The Node.js native addon module (tfjs_binding.node) can not be found at path: /nowhere';
  const broken = { importNative: async () => { throw new Error(addon); } };
  const webgpu = (await probeBackends(broken)).backends.find((p) => p.name === 'webgpu')!;
  const b = await selectBackend('auto', broken);
  // Next in line after the native packages: webgpu on a machine with a GPU, then native where the
  // oneDNN addon is built, else wasm.
  const probe = (await probeBackends(broken)).backends;
  const native = probe.find((p) => p.name === 'native')?.available ? 'native' : 'wasm';
  assert.equal(b.name, webgpu.available && !webgpu.autoSkip ? 'webgpu' : native);
  assert.match(b.reason, /gpu: @tensorflow\/tfjs-node-gpu is installed but its native addon \(tfjs_binding\.node\) is missing/);
  await assert.rejects(selectBackend('node', broken), /backend 'node' is not available: .*tfjs_binding\.node/);
  // An import that "succeeds" without registering a native backend is still unavailable.
  await assert.rejects(selectBackend('gpu', { importNative: async () => ({ version: { 'tfjs-node': '0.0.0' } }) }), /failed to initialise/);
});

function runChild(code: string): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT, encoding: 'utf8', timeout: 60_000,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

test('the banner is silenced on import; the cpu fixes go in when cpu is selected, not before', () => {
  const use = `
    console.log(kernelOverrides('cpu').join(',') || 'none');
    const t = tf.tensor([1, 2]); t.dataSync();
    await selectBackend('wasm'); await selectBackend('cpu'); tf.tensor([3]).dataSync();
    console.log(kernelOverrides('cpu').join(','));
    console.log('ok', tf.getBackend());`;
  const ours = runChild(`
    import * as tf from '@tensorflow/tfjs';
    import { kernelOverrides, selectBackend } from './src/backend/index.ts';
    ${use}`);
  assert.equal(ours.stderr, '');
  assert.equal(ours.stdout, 'none\nConv2DBackpropFilter,MaxPoolGrad,AvgPoolGrad,ResizeNearestNeighborGrad\nok cpu\n');
  assert.equal(ours.status, 0);
  // Control: plain tfjs does print it, so the assertion above can fail.
  const plain = runChild(`import * as tf from '@tensorflow/tfjs'; tf.tensor([1]).dataSync();`);
  assert.match(plain.stdout + plain.stderr, /looks like you are running TensorFlow\.js in Node\.js/);
});
