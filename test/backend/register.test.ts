import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
// The wasm package registers its stock kernels at import; load it before the snapshot so that only
// this project's modules can change the registry afterwards.
import '@tensorflow/tfjs-backend-wasm';

/** Each backend's registered kernel functions by name, and the gradient function of each kernel. */
function snapshot(backends: readonly string[], gradientKernels: readonly string[]) {
  const kernels = new Map<string, tf.KernelFunc>();
  for (const b of backends) for (const k of tf.getKernelsForBackend(b)) kernels.set(`${b}_${k.kernelName}`, k.kernelFunc);
  const gradients = new Map(gradientKernels.map((k) => [k, tf.getGradient(k)?.gradFunc]));
  const classes = { ...tf.serialization.SerializationMap.getMap().classNameMap };
  return { kernels, gradients, classes };
}

const BACKENDS = ['cpu', 'wasm'];
// Prelu has a stock gradient that ours replaces; the Bnn names have none until registration.
const before = snapshot(BACKENDS, [tf.Prelu, 'BnnBatchNormTrain', 'BnnSign', 'BnnBinarizeWeights']);

// Every module of src/backend and src/models, and the binary layers: importing them must change nothing.
const dirs = ['backend', 'models', 'binary'];
for (const dir of dirs) {
  for (const f of readdirSync(new URL(`../../src/${dir}/`, import.meta.url))) {
    if (f.endsWith('.ts') && !f.endsWith('.d.ts')) await import(`../../src/${dir}/${f}`);
  }
}
const { listOverrides, selectBackend, kernelOverrides } = await import('../../src/backend/index.ts');
const { buildModel, LAYER_CLASS_NAMES } = await import('../../src/models/index.ts');

test('importing src/backend, src/models and src/binary leaves every tfjs registry untouched', () => {
  const lists = listOverrides();
  const after = snapshot(BACKENDS, [...before.gradients.keys()]);
  assert.deepEqual([...after.kernels.keys()].sort(), [...before.kernels.keys()].sort(), 'no kernel added or removed');
  for (const [key, fn] of before.kernels) assert.equal(after.kernels.get(key), fn, `${key} unchanged`);
  for (const [k, fn] of before.gradients) assert.equal(after.gradients.get(k), fn, `${k} gradient unchanged`);
  for (const name of LAYER_CLASS_NAMES) assert.equal(after.classes[name], before.classes[name], `layer class ${name} unchanged`);
  // And none of what selection would add is there yet.
  for (const b of BACKENDS) for (const k of lists[b as 'cpu'].added) assert.equal(tf.getKernel(k, b), undefined, `${b} ${k}`);
});

test('listOverrides names every registration, and selecting a backend installs exactly its list', async () => {
  const lists = listOverrides();
  assert.deepEqual(Object.keys(lists).sort(), ['cpu', 'native', 'tensorflow', 'wasm', 'webgpu']);
  for (const profile of ['cpu', 'wasm'] as const) {
    await selectBackend(profile);
    const list = lists[profile];
    const now = snapshot([list.backend], list.gradients);
    for (const k of list.added) assert.ok(now.kernels.has(`${list.backend}_${k}`), `${profile}: ${k} registered`);
    for (const k of list.replaced) {
      const key = `${list.backend}_${k}`;
      assert.ok(now.kernels.has(key), `${profile}: ${k} registered`);
      assert.notEqual(now.kernels.get(key), before.kernels.get(key), `${profile}: ${k} replaced`);
    }
    assert.deepEqual(kernelOverrides(profile).sort(), [...list.replaced].sort());
    for (const k of list.gradients) assert.ok(now.gradients.get(k), `${k} has a gradient`);
    assert.notEqual(now.gradients.get(tf.Prelu), before.gradients.get(tf.Prelu), 'the Prelu gradient is ours');
    // Every other kernel of the backend is the stock one.
    const ours = new Set([...list.added, ...list.replaced].map((k) => `${list.backend}_${k}`));
    for (const [key, fn] of now.kernels) if (!ours.has(key)) assert.equal(fn, before.kernels.get(key), `${key} is stock`);
  }
  // native replaces what wasm does plus its own kernels; the list says so without the addon.
  assert.ok(lists.wasm.replaced.every((k) => lists.native.replaced.includes(k)));
  assert.ok(lists.native.replaced.includes(tf.Conv2D));
});

test('native: selecting it replaces the wasm fixes and its own kernels on wasm, and wasm gets them back', async (t) => {
  const { nativeSkip } = await import('./helpers.ts');
  const skip = await nativeSkip();
  if (skip) return t.skip(skip);
  const lists = listOverrides();
  await selectBackend('native');
  assert.deepEqual(kernelOverrides('native').sort(), [...lists.native.replaced].sort());
  assert.deepEqual(kernelOverrides('wasm'), [], 'one profile per tfjs backend');
  for (const k of lists.native.replaced) assert.notEqual(tf.getKernel(k, 'wasm')?.kernelFunc, before.kernels.get(`wasm_${k}`), `${k} replaced`);
  await selectBackend('wasm');
  assert.deepEqual(kernelOverrides('native'), []);
  // Native-only replacements are the stock (or our plain) kernels again.
  assert.equal(tf.getKernel(tf.BatchMatMul, 'wasm')?.kernelFunc, before.kernels.get(`wasm_${tf.BatchMatMul}`));
});

test('building a model installs the layer classes, under the stock names where they replace one', async () => {
  const { TINY_INPUT, tinyConfig } = await import('../models/helpers.ts');
  await selectBackend('cpu');
  const built = buildModel(tinyConfig(), { inputShape: TINY_INPUT });
  const map = tf.serialization.SerializationMap.getMap().classNameMap;
  for (const name of LAYER_CLASS_NAMES) assert.ok(map[name], `${name} registered`);
  assert.notEqual(map.Conv2D![0], before.classes.Conv2D![0], 'Conv2D loads as the prunable conv');
  assert.notEqual(map.BatchNormalization![0], before.classes.BatchNormalization![0]);
  built.dispose();
});
