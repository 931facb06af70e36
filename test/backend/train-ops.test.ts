import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { overrideCallCounts, selectBackend } from '../../src/backend/index.ts';
import { nativeSkip, relError } from './helpers.ts';
import { type StepRecord, trainTinyLayersModel, trainTinyNet } from './tiny-net.ts';

const STEPS = 2;
const runs: Record<string, StepRecord[]> = {};

const NATIVE_SKIP = await nativeSkip();

for (const backend of ['cpu', 'wasm', 'native'] as const) {
  const skip = backend === 'native' ? NATIVE_SKIP : undefined;
  test(`${backend}: a training step using every op the models need runs and is deterministic`, { skip }, async () => {
    await selectBackend(backend);
    const before = overrideCallCounts()[`${backend}_Conv2DBackpropFilter`] ?? 0;
    const first = trainTinyNet(STEPS);
    // The composite kernels free their intermediates: nothing is left behind by a second run.
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    const second = trainTinyNet(STEPS);
    assert.equal(tf.memory().numTensors, tensors, 'no tensors leaked');
    assert.equal(tf.engine().backend.numDataIds(), dataIds, 'no backend buffers leaked');
    const after = overrideCallCounts()[`${backend}_Conv2DBackpropFilter`] ?? 0;
    // 3 plain convs + 1 fused conv per step, two runs.
    assert.equal(after - before, 2 * STEPS * 4, 'every conv filter gradient took the fast path');
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

for (const other of ['wasm', 'native'] as const) {
  test(`${other} and cpu gradients agree on every parameter at every step`, { skip: other === 'native' ? NATIVE_SKIP : undefined }, () => {
    const cpu = runs.cpu;
    const got = runs[other];
    assert.ok(cpu && got, 'both backend runs completed');
    for (let s = 0; s < STEPS; s++) {
      assert.ok(Math.abs(cpu[s]!.loss - got[s]!.loss) <= 1e-5 * Math.abs(cpu[s]!.loss), `step ${s} loss`);
      for (const name of Object.keys(cpu[s]!.grads)) {
        const e = relError(got[s]!.grads[name]!, cpu[s]!.grads[name]!);
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
