import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { registerFileSystemRouter, MODEL_JSON, WEIGHTS_BIN } from '../../src/train/file-io.ts';

test('a model saved through file:// loads back with identical outputs', async () => {
  await tf.setBackend('cpu');
  registerFileSystemRouter();
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, padding: 'same' }),
    tf.layers.batchNormalization(),
    tf.layers.flatten(),
    tf.layers.dense({ units: 4 }),
  ] });
  const dir = join(mkdtempSync(join(tmpdir(), 'bnn-io-')), 'ckpt');
  await model.save(`file://${dir}`);
  assert.deepEqual(readdirSync(dir).sort(), [MODEL_JSON, WEIGHTS_BIN]);
  const loaded = await tf.loadLayersModel(`file://${dir}`);
  const x = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 7);
  const a = (model.predict(x) as tf.Tensor).dataSync();
  const b = (loaded.predict(x) as tf.Tensor).dataSync();
  assert.deepEqual(Array.from(b), Array.from(a));
});

test('loading from a folder with no model is a clear error', async () => {
  registerFileSystemRouter();
  const dir = mkdtempSync(join(tmpdir(), 'bnn-io-'));
  await assert.rejects(tf.loadLayersModel(`file://${dir}`), /no saved model here/);
});
