/**
 * A GPU error must not pass silently (src/backend/webgpu.ts watchDeviceErrors). Its own file:
 * the error is sticky for the process, by design.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import { skipReason } from './backends.ts';

test('webgpu: a shader that fails to compile makes the next read reject with the device error', { skip: skipReason('webgpu') }, async () => {
  await selectBackend('webgpu');
  const ok = tf.add(tf.ones([2]), 1);
  assert.deepEqual(Array.from(await ok.data()), [2, 2], 'reads work before any error');
  // tfjs-backend-webgpu 4.22 pads rank-6 tensors with a shader indexing a 'vec6', which WGSL lacks.
  const bad = tf.pad(tf.ones([1, 1, 1, 1, 1, 2]), [[0, 0], [0, 0], [0, 1], [0, 0], [0, 0], [0, 0]]);
  await assert.rejects(bad.data(), /^Error: webgpu device error: .+/);
  await assert.rejects(ok.data(), /webgpu device error/, 'and every read after it');
});
