import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import { BinaryConv2D } from '../../src/binary/binary-layers.ts';
import { planFold } from '../../src/export/fold.ts';

before(async () => {
  await selectBackend('wasm');
});

const C = 6;

/** image → BN (trained-looking statistics, one negative γ, one γ = 0) → [act] → BinaryConv2D. */
function chain(act: 'none' | 'relu' | 'prelu+' | 'prelu-'): { conv: tf.layers.Layer; f: (x: tf.Tensor) => tf.Tensor; model: tf.LayersModel } {
  const input = tf.input({ shape: [4, 4, C] });
  const bn = tf.layers.batchNormalization({ axis: -1, epsilon: 1e-5 });
  let y = bn.apply(input) as tf.SymbolicTensor;
  let actLayer: tf.layers.Layer | null = null;
  if (act === 'relu') actLayer = tf.layers.reLU();
  if (act.startsWith('prelu')) actLayer = tf.layers.prelu({ sharedAxes: [1, 2] });
  if (actLayer) y = actLayer.apply(y) as tf.SymbolicTensor;
  const conv = new BinaryConv2D({ filters: 2, kernelSize: 3 });
  const model = tf.model({ inputs: input, outputs: conv.apply(y) as tf.SymbolicTensor });
  bn.setWeights([tf.tensor1d([1.3, -0.7, 0, 2, 0.01, 1]), tf.tensor1d([0.1, -0.2, 0.3, 0, 0.5, -1e-3]),
    tf.tensor1d([0.25, -1, 3, 0, 1e3, 1e-7]), tf.tensor1d([0.5, 2, 1, 1e-4, 7, 1])]);
  if (act.startsWith('prelu')) actLayer!.setWeights([tf.tensor3d([0.25, 0, 0.1, 1, 0.5, act === 'prelu-' ? -0.1 : 0.2], [1, 1, C])]);
  const f = (x: tf.Tensor) => tf.tidy(() => {
    const b = bn.apply(x, { training: false }) as tf.Tensor;
    return actLayer ? actLayer.apply(b) as tf.Tensor : b;
  });
  return { conv, f, model };
}

function nextFloat(v: number, dir: 1 | -1): number {
  const f = new Float32Array([v]);
  const u = new Int32Array(f.buffer);
  if (v === 0) return dir * 1.401298464324817e-45;
  u[0]! += (v > 0 ? dir : -dir);
  return f[0]!;
}

for (const act of ['none', 'relu', 'prelu+'] as const) {
  for (const sign of ['plus_one', 'zero'] as const) {
    test(`${act}, ${sign}: the thresholds give sign(f(x)) for random x and for the floats next to every threshold`, () => {
      const { conv, f } = chain(act);
      const fold = planFold(conv, sign);
      assert.ok(fold !== null);
      assert.equal(fold.layers.length, act === 'none' ? 1 : 2);
      const xs: number[][] = Array.from({ length: C }, () => []);
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < 200; i++) xs[c]!.push((Math.sin(i * 12.9898 + c) * 43758.5453 % 1) * 10 ** ((i % 9) - 4));
        for (const t of [fold.table[3 * c + 1]!, fold.table[3 * c + 2]!].filter(Number.isFinite)) {
          xs[c]!.push(t * fold.table[3 * c]!, nextFloat(t, 1) * fold.table[3 * c]!, nextFloat(t, -1) * fold.table[3 * c]!);
        }
        xs[c]!.push(0, -0);
      }
      const n = 16 * Math.ceil(Math.max(...xs.map((v) => v.length)) / 16);
      const data = new Float32Array(n * C);
      for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) data[i * C + c] = xs[c]![i % xs[c]!.length]!;
      // Batches of the model's own 4x4 maps (a space-shared PReLU insists on its input shape).
      const fx = f(tf.tensor4d(data, [n / 16, 4, 4, C])).dataSync();
      for (let i = 0; i < data.length; i++) {
        const c = i % C;
        const want: number = fx[i]! < 0 ? -1 : fx[i]! > 0 || sign === 'plus_one' ? 1 : 0;
        const y = Math.fround(data[i]! * fold.table[3 * c]!);
        const got: number = y < fold.table[3 * c + 1]! ? -1 : y >= fold.table[3 * c + 2]! ? 1 : 0;
        assert.equal(got, want, `channel ${c}, x = ${data[i]}, f(x) = ${fx[i]}`);
      }
    });
  }
}

test('a prelu with a negative slope (not monotone) or a BN with another consumer is not folded', () => {
  assert.equal(planFold(chain('prelu-').conv, 'plus_one'), null);
  const input = tf.input({ shape: [4, 4, C] });
  const b = tf.layers.batchNormalization().apply(input) as tf.SymbolicTensor;
  const conv = new BinaryConv2D({ filters: 2, kernelSize: 3 });
  const y = conv.apply(b) as tf.SymbolicTensor;
  tf.model({ inputs: input, outputs: [y, tf.layers.reLU().apply(b) as tf.SymbolicTensor] });
  assert.equal(planFold(conv, 'plus_one'), null);
});
