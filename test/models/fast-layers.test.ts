/**
 * The layer subclasses with fused / prunable training paths (src/models/batch-norm.ts, conv.ts)
 * against the stock tfjs layers they replace, and a small binary HourGlass training run that must
 * be bit-identical run to run on cpu and wasm.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import { defaultConfig } from '../../src/config/index.ts';
import { FastBatchNormalization } from '../../src/models/batch-norm.ts';
import { PrunableConv2D } from '../../src/models/conv.ts';
import { buildModel } from '../../src/models/index.ts';
import { relError } from '../backend/helpers.ts';

const seeded = (shape: number[], seed: number) => tf.randomUniform(shape, -2, 3, 'float32', seed);

for (const backend of ['cpu', 'wasm'] as const) {
  test(`${backend}: fused batch norm and prunable conv layers train exactly like the stock layers`, async () => {
    await selectBackend(backend);
    const x = seeded([4, 6, 6, 5], 1);
    const r = seeded([4, 3, 3, 8], 2);
    const make = (fast: boolean) => {
      const args = { momentum: 0.9, epsilon: 1e-5, gammaInitializer: tf.initializers.constant({ value: 1.3 }) };
      const bn = fast ? new FastBatchNormalization(args) : tf.layers.batchNormalization(args);
      const convArgs = { filters: 8, kernelSize: 3, strides: 2, padding: 'same' as const, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }), biasInitializer: tf.initializers.constant({ value: 0.1 }) };
      const conv = fast ? new PrunableConv2D(convArgs) : tf.layers.conv2d(convArgs);
      return { bn, conv };
    };
    const run = (fast: boolean) => {
      const { bn, conv } = make(fast);
      const f = () => tf.sum(tf.mul(bn.apply(conv.apply(x, { training: true }), { training: true }) as tf.Tensor, r)) as tf.Scalar;
      bn.apply(conv.apply(x)); // build
      const vars = [...conv.trainableWeights, ...bn.trainableWeights].map((v) => v.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(f, vars);
      const out = {
        loss: value.dataSync()[0]!,
        grads: vars.map((v) => grads[v.name]!.dataSync()),
        moving: bn.nonTrainableWeights.map((w) => w.read().dataSync()),
        infer: (bn.apply(conv.apply(x), { training: false }) as tf.Tensor).dataSync(),
        classes: [conv.getClassName(), bn.getClassName()],
      };
      return out;
    };
    const fast = run(true);
    const stock = run(false);
    assert.deepEqual(fast.classes, ['Conv2D', 'BatchNormalization'], 'saved models keep the stock class names');
    assert.ok(Math.abs(fast.loss - stock.loss) <= 1e-5 * Math.max(1, Math.abs(stock.loss)), `loss ${fast.loss} vs ${stock.loss}`);
    // Gradients: kernel, bias, gamma, beta. The conv bias feeds batch norm, which subtracts it
    // again, so its gradient is 0 up to rounding: compared on the scale of the kernel's instead.
    fast.grads.forEach((g, i) => {
      const scale = i === 1 ? Math.hypot(...stock.grads[0]!) : Math.hypot(...stock.grads[i]!);
      const diff = Math.hypot(...g.map((v, j) => v - stock.grads[i]![j]!));
      assert.ok(diff <= 1e-4 * scale, `${backend}: gradient ${i} differs by ${diff} (scale ${scale})`);
    });
    fast.moving.forEach((m, i) => assert.ok(relError(m, stock.moving[i]!) <= 1e-5, `${backend}: moving statistic ${i}`));
    assert.ok(relError(fast.infer, stock.infer) <= 1e-5, `${backend}: inference after the update`);
  });
}

test('a binary HourGlass trains bit-identically run to run on cpu and wasm, and alike across them', async () => {
  const cfg = defaultConfig();
  Object.assign(cfg.model, { binary: true, stacks: 1, channels: 8, depth: 1, activation: 'prelu' });
  cfg.data.heatmap_size = 4;
  const losses: Record<string, number[][]> = {};
  for (const backend of ['cpu', 'wasm'] as const) {
    await selectBackend(backend);
    losses[backend] = [0, 1].map(() => {
      const built = buildModel(cfg, { inputShape: [16, 16, 3], numJoints: 2 });
      const opt = tf.train.rmsprop(1e-2);
      const xb = seeded([2, 16, 16, 3], 7);
      const yb = seeded([2, 4, 4, 2], 8);
      const out: number[] = [];
      for (let s = 0; s < 3; s++) {
        const loss = opt.minimize(() => tf.mean(tf.squaredDifference(built.model.apply(xb, { training: true }) as tf.Tensor, yb)) as tf.Scalar, true)!;
        out.push(loss.dataSync()[0]!);
        loss.dispose();
      }
      opt.dispose();
      built.dispose();
      tf.dispose([xb, yb]);
      return out;
    });
    assert.deepEqual(losses[backend]![0], losses[backend]![1], `${backend}: same losses run to run`);
    assert.ok(losses[backend]![0]!.every(Number.isFinite));
  }
  // Different float order in the convs: close, not equal. Later steps amplify tiny differences
  // through sign flips, so only the first loss is compared tightly.
  assert.ok(Math.abs(losses.cpu![0]![0]! - losses.wasm![0]![0]!) <= 1e-4 * Math.abs(losses.cpu![0]![0]!));
});
