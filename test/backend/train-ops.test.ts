import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { overrideCallCounts, selectBackend } from '../../src/backend/index.ts';
import { KERNEL_BACKENDS, skipReason } from './backends.ts';
import { relError } from './helpers.ts';
import { type StepRecord, trainTinyLayersModel, trainTinyNet } from './tiny-net.ts';

const STEPS = 2;
const runs: Record<string, StepRecord[]> = {};

for (const backend of KERNEL_BACKENDS) {
  test(`${backend}: a training step using every op the models need runs and is deterministic`, { skip: skipReason(backend) }, async () => {
    await selectBackend(backend);
    const before = overrideCallCounts()[`${backend}_Conv2DBackpropFilter`] ?? 0;
    const first = await trainTinyNet(STEPS);
    // The composite kernels free their intermediates: nothing is left behind by a second run.
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    const second = await trainTinyNet(STEPS);
    assert.equal(tf.memory().numTensors, tensors, 'no tensors leaked');
    assert.equal(tf.engine().backend.numDataIds(), dataIds, 'no backend buffers leaked');
    const after = overrideCallCounts()[`${backend}_Conv2DBackpropFilter`] ?? 0;
    // 3 plain convs + 1 fused conv per step, two runs (webgpu keeps its own conv gradients).
    assert.equal(after - before, backend === 'webgpu' ? 0 : 2 * STEPS * 4, 'every conv filter gradient took the fast path');
    for (let s = 0; s < STEPS; s++) {
      assert.ok(Number.isFinite(first[s]!.loss), `step ${s} loss is finite`);
      assert.equal(first[s]!.loss, second[s]!.loss, `step ${s}: same loss run to run`);
      for (const [name, g] of Object.entries(first[s]!.grads)) {
        assert.deepEqual(g, second[s]!.grads[name], `step ${s}: ${name} gradient is bit-identical run to run`);
        assert.ok(g.some((v) => v !== 0), `step ${s}: ${name} gets a nonzero gradient`);
      }
    }
    assert.notEqual(first[0]!.loss, first[1]!.loss, 'the SGD step changed the loss');
    runs[backend] = first;
  });
}

for (const other of ['wasm', 'native', 'webgpu'] as const) {
  test(`${other} and cpu gradients agree on every parameter at every step`, { skip: skipReason(other) }, () => {
    const cpu = runs.cpu;
    const them = runs[other];
    assert.ok(cpu && them, 'both backend runs completed');
    for (let s = 0; s < STEPS; s++) {
      assert.ok(Math.abs(cpu[s]!.loss - them[s]!.loss) <= 1e-5 * Math.abs(cpu[s]!.loss), `step ${s} loss`);
      for (const name of Object.keys(cpu[s]!.grads)) {
        const e = relError(them[s]!.grads[name]!, cpu[s]!.grads[name]!);
        assert.ok(e <= 1e-4, `step ${s}: ${name} gradient differs between ${other} and cpu (relative error ${e})`);
      }
    }
  });
}

test('tf.layers conv/batch-norm/pool/upsample/dense model trains identically on wasm and cpu', async () => {
  const weights: Record<string, Float32Array[]> = {};
  for (const backend of ['cpu', 'wasm'] as const) {
    await selectBackend(backend);
    weights[backend] = await trainTinyLayersModel();
    assert.deepEqual(await trainTinyLayersModel(), weights[backend], `${backend}: deterministic run to run`);
  }
  const cpu = weights.cpu!;
  const wasm = weights.wasm!;
  assert.equal(cpu.length, wasm.length);
  for (let i = 0; i < cpu.length; i++) {
    const e = relError(wasm[i]!, cpu[i]!);
    assert.ok(e <= 1e-4, `weight ${i}: relative error ${e}`);
  }
  assert.equal(tf.getBackend(), 'wasm');
});

test('the same tf.layers model trains on webgpu to the cpu weights (up to float32 rounding), deterministically', { skip: skipReason('webgpu') }, async () => {
  await selectBackend('cpu');
  const cpu = await trainTinyLayersModel();
  await selectBackend('webgpu');
  const gpu = await trainTinyLayersModel();
  assert.deepEqual(await trainTinyLayersModel(), gpu, 'webgpu: deterministic run to run');
  assert.equal(gpu.length, cpu.length);
  for (let i = 0; i < cpu.length; i++) {
    const e = relError(gpu[i]!, cpu[i]!);
    assert.ok(e <= 1e-4, `weight ${i}: relative error ${e}`);
  }
});
