/**
 * PackedBinaryLayer on the wasm backend reads its input and writes its output in the wasm heap in
 * place (no dataSync copy): the same floats as the engine called directly, and as on the cpu
 * backend (which copies), for every engine that runs here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import { convGeometry, jsEngine } from '../../src/infer/engine.ts';
import { createEngine } from '../../src/infer/engines.ts';
import { nativeEngineStatus } from '../../src/infer/native-engine.ts';
import { packFilter } from '../../src/infer/pack.ts';
import { PackedBinaryLayer } from '../../src/infer/packed-layers.ts';

const engines = nativeEngineStatus().ok ? ['native', 'wasm', 'js'] : ['wasm', 'js'];

test('packed layer: in place on the wasm heap, equal to the engine and to the cpu backend', async () => {
  const [n, h, w, c, o] = [2, 7, 5, 70, 12];
  let s = 7;
  const r = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const x = Float32Array.from({ length: n * h * w * c }, () => r() - 0.5);
  const kernel = Float32Array.from({ length: 9 * c * o }, (_, i) => (r() < 0.5 ? -1 : 1) * (1 + (i % o) / 8));
  const { bits, alpha } = packFilter(kernel, 3, 3, c, o);
  const g = convGeometry(h, w, 3, 3, 2, 'same');
  const expected = jsEngine.conv({ data: x, n, h, w, c }, 'plus_one', { kh: 3, kw: 3, inChannels: c, outChannels: o, bits, alpha, bias: null }, g);
  for (const backend of ['wasm', 'cpu'] as const) {
    await selectBackend(backend);
    for (const name of engines) {
      const layer = new PackedBinaryLayer({ filters: o, kernelSize: 3, strides: 2, padding: 'same', useBias: false, inChannels: c, signAtZero: 'plus_one', dense: false });
      layer.build();
      layer.attach(bits, alpha, createEngine(name));
      const before = tf.memory().numTensors;
      const input = tf.tensor4d(x, [n, h, w, c]);
      // Two calls: the second must not see the first's output memory (a fresh tensor each time).
      const y1 = layer.apply(input) as tf.Tensor;
      const y2 = layer.apply(input) as tf.Tensor;
      assert.deepEqual(y1.shape, [n, g.outH, g.outW, o]);
      assert.deepEqual(y1.dataSync(), expected, `${backend} ${name}`);
      assert.deepEqual(y2.dataSync(), expected, `${backend} ${name} (second call)`);
      tf.dispose([input, y1, y2]);
      assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
    }
  }
});
