import * as tf from '@tensorflow/tfjs';
import { randomValues, sizeOf } from './helpers.ts';

/**
 * A tiny network touching every op a training step of ResNet-18 / AlexNet / HourGlass (binary or
 * not) needs: strided 7x7 / 3x3 / 1x1 convs with biases, a fused conv with bias, batch-norm from
 * moments, PReLU / leaky ReLU / ReLU, max and average pooling, nearest-neighbour upsampling,
 * concat, add, mul, tanh, sigmoid, global average pooling, dense, dropout, softmax cross-entropy
 * and an MSE heatmap loss. Built from raw ops with seeded parameters so that two backends start
 * from bit-identical numbers.
 */

const SHAPES: Record<string, number[]> = {
  w1: [7, 7, 3, 8], gamma: [8], beta: [8], alpha: [8],
  w2: [3, 3, 8, 8], b2: [8], w3: [1, 1, 8, 8],
  w4: [3, 3, 16, 4], b4: [4],
  w5: [12, 5], b5: [5],
};

export interface StepRecord {
  loss: number;
  grads: Record<string, Float32Array>;
}

function forward(p: Record<string, tf.Variable>, x: tf.Tensor4D, labels: tf.Tensor2D, target: tf.Tensor4D): tf.Scalar {
  // Stem: 7x7 stride-2 conv, batch-norm from batch moments, PReLU. No conv bias: batch-norm
  // cancels it, so its true gradient is zero and the backends would only compare rounding noise.
  let h: tf.Tensor4D = tf.conv2d(x, p.w1 as tf.Tensor4D, 2, 'same');
  const { mean, variance } = tf.moments(h, [0, 1, 2]);
  h = tf.add(tf.mul(tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, 1e-3))), p.gamma!), p.beta!) as tf.Tensor4D;
  h = tf.prelu(h, p.alpha as tf.Tensor) as tf.Tensor4D;
  const pooled = tf.maxPool(h, 2, 2, 'valid');
  // Residual block with a strided 3x3 branch and a strided 1x1 shortcut.
  const branch = tf.leakyRelu(tf.add(tf.conv2d(pooled, p.w2 as tf.Tensor4D, 2, 'same'), p.b2!) as tf.Tensor4D, 0.1);
  const shortcut = tf.conv2d(pooled, p.w3 as tf.Tensor4D, 2, 'same');
  const down = tf.relu(tf.add(branch, shortcut)) as tf.Tensor4D;
  // Hourglass-style upsample and merge.
  const up = tf.image.resizeNearestNeighbor(down, [pooled.shape[1], pooled.shape[2]]);
  const merged = tf.concat([up, pooled], 3);
  const heat = tf.fused.conv2d({ x: merged, filter: p.w4 as tf.Tensor4D, strides: 1, pad: 'same', bias: p.b4 });
  const heatLoss = tf.mean(tf.squaredDifference(tf.sigmoid(heat), target));
  // Classification head: gated features, average pooling, global pooling, dense, dropout.
  const gated = tf.mul(tf.tanh(heat), tf.sigmoid(heat)) as tf.Tensor4D;
  const pooledHeat = tf.mean(tf.avgPool(gated, 2, 1, 'valid'), [1, 2]);
  const features = tf.concat([pooledHeat, tf.mean(down, [1, 2])], 1);
  const logits = tf.add(tf.matMul(features, p.w5 as tf.Tensor2D), p.b5!);
  const dropped = tf.dropout(logits, 0.25, undefined, 7);
  const ce = tf.losses.softmaxCrossEntropy(labels, dropped);
  return tf.add(ce, heatLoss) as tf.Scalar;
}

/** Trains `steps` SGD steps on the current backend; returns the loss and gradients of each step. */
export async function trainTinyNet(steps: number, lr = 0.05): Promise<StepRecord[]> {
  const params: Record<string, tf.Variable> = {};
  let seed = 1;
  for (const [name, shape] of Object.entries(SHAPES)) {
    const scale = name.startsWith('w') ? 0.5 : name === 'gamma' ? 0 : 0.1;
    const values = randomValues(sizeOf(shape), seed++).map((v) => (name === 'gamma' ? 1 : 0) + scale * v);
    const init = tf.tensor(Float32Array.from(values), shape);
    params[name] = tf.variable(init, true, `tiny_${name}_${seed}_${Math.random()}`);
    init.dispose();
  }
  const x = tf.tensor4d(Float32Array.from(randomValues(2 * 16 * 12 * 3, 91)), [2, 16, 12, 3]);
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([1, 3], 'int32'), 5)) as tf.Tensor2D;
  const target = tf.tensor4d(Float32Array.from(randomValues(2 * 4 * 3 * 4, 92)).map((v) => (v + 1) / 2), [2, 4, 3, 4]);
  const records: StepRecord[] = [];
  const vars = Object.values(params);
  for (let s = 0; s < steps; s++) {
    const { value, grads } = tf.variableGrads(() => forward(params, x, labels, target), vars);
    // data(), not dataSync(): webgpu cannot read synchronously under Node.
    const record: StepRecord = { loss: (await value.data())[0]!, grads: {} };
    for (const [name, v] of Object.entries(params)) {
      const g = grads[v.name]!;
      record.grads[name] = (await g.data()) as Float32Array;
      const next = tf.tidy(() => tf.sub(v, tf.mul(g, lr)));
      v.assign(next);
      next.dispose();
    }
    tf.dispose([value, ...Object.values(grads)]);
    records.push(record);
  }
  tf.dispose([x, labels, target, ...vars]);
  return records;
}

/** A tf.layers model with similar op coverage; returns its weights after two Adam steps. */
export async function trainTinyLayersModel(): Promise<Float32Array[]> {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [16, 12, 3], filters: 8, kernelSize: 7, strides: 2, padding: 'same', useBias: false, kernelInitializer: init(1) }),
      tf.layers.batchNormalization(),
      tf.layers.reLU(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.upSampling2d({ size: [2, 2] }),
      tf.layers.conv2d({ filters: 6, kernelSize: 1, padding: 'valid', activation: 'tanh', kernelInitializer: init(3) }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 1 }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dropout({ rate: 0.2, seed: 5 }),
      tf.layers.dense({ units: 5, activation: 'softmax', kernelInitializer: init(4) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const x = tf.tensor4d(Float32Array.from(randomValues(4 * 16 * 12 * 3, 93)), [4, 16, 12, 3]);
  const y = tf.oneHot(tf.tensor1d([0, 2, 4, 1], 'int32'), 5);
  for (let i = 0; i < 2; i++) await model.trainOnBatch(x, y);
  const weights = await Promise.all(model.getWeights().map((w) => w.data() as Promise<Float32Array>));
  tf.dispose([x, y]);
  model.dispose();
  return weights;
}
