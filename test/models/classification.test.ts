import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import { buildModel } from '../../src/models/build.ts';
import { alexnetStem, scaled } from '../../src/models/classification.ts';
import { defaultConfig, type RunConfig } from '../../src/config/schema.ts';
import type { Mutable } from './helpers.ts';

before(async () => {
  // cpu with this project's kernels, as every run gets it (register.ts).
  await selectBackend('cpu');
});

function classifierConfig(arch: 'alexnet' | 'resnet18', over: Partial<RunConfig['model']> = {}): RunConfig {
  const c = defaultConfig() as Mutable<RunConfig>;
  c.task = 'classification';
  c.model.arch = arch;
  c.model.width_multiplier = 1 / 16;
  c.data.num_classes = 10;
  Object.assign(c.model, over);
  return c as RunConfig;
}

const binaryNames = (m: tf.LayersModel) => m.layers.filter((l) => l.getClassName().startsWith('Binary')).map((l) => l.name);

describe('binary AlexNet', () => {
  test('MNIST-size input runs and gives logits; first and last layers real', () => {
    const built = buildModel(classifierConfig('alexnet'), { inputShape: [28, 28, 1] });
    const y = built.model.predict(tf.zeros([2, 28, 28, 1])) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 10]);
    assert.equal(built.model.getLayer('conv1').getClassName(), 'Conv2D');
    assert.equal(built.model.getLayer('fc8').getClassName(), 'Dense');
    assert.deepEqual(binaryNames(built.model), ['conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7']);
    assert.equal(built.model.getLayer('conv2').getWeights()[0].shape[3], scaled(256, 1 / 16));
    built.dispose();
  });

  test('ImageNet-size input uses the 11×11 stride-4 stem (built, not run)', () => {
    assert.deepEqual(alexnetStem(224), { kernel: 11, strides: 4 });
    assert.deepEqual(alexnetStem(64), { kernel: 5, strides: 2 });
    const built = buildModel(classifierConfig('alexnet', { width_multiplier: 1 / 32 }), { inputShape: [224, 224, 3], numClasses: 1000 });
    assert.deepEqual(built.model.getLayer('conv1').getWeights()[0].shape, [11, 11, 3, 3]);
    assert.deepEqual(built.model.outputs[0].shape, [null, 1000]);
    assert.deepEqual(built.model.getLayer('pool5').outputShape, [null, 7, 7, 8]);
    built.dispose();
  });

  test('keep_real [] binarizes first and last too; binary=false binarizes nothing', () => {
    const all = buildModel(classifierConfig('alexnet', { keep_real: [] }), { inputShape: [28, 28, 1] });
    assert.ok(binaryNames(all.model).includes('conv1') && binaryNames(all.model).includes('fc8'));
    all.dispose();
    const real = buildModel(classifierConfig('alexnet', { binary: false }), { inputShape: [28, 28, 1] });
    assert.deepEqual(binaryNames(real.model), []);
    real.dispose();
  });
});

describe('binary ResNet-18', () => {
  test('CIFAR-size input runs; 16 binary 3×3 convs, stem, fc and downsamples real', () => {
    const built = buildModel(classifierConfig('resnet18', { activation: 'prelu' }), { inputShape: [32, 32, 3] });
    const y = built.model.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 10]);
    const names = binaryNames(built.model);
    assert.equal(names.length, 16);
    assert.ok(names.every((n) => /^layer[1-4]_[01]_conv[12]$/.test(n)));
    assert.equal(built.model.getLayer('layer2_0_down_conv').getClassName(), 'Conv2D');
    assert.deepEqual(built.model.getLayer('layer4_1_add').outputShape, [null, 4, 4, scaled(512, 1 / 16)]);
    built.dispose();
  });

  test('ImageNet-size input gets the 7×7 stride-2 stem and max-pool (built, not run)', () => {
    const built = buildModel(classifierConfig('resnet18', { width_multiplier: 1 / 32 }), { inputShape: [224, 224, 3], numClasses: 1000 });
    assert.deepEqual(built.model.getLayer('conv1').getWeights()[0].shape, [7, 7, 3, 2]);
    assert.deepEqual(built.model.getLayer('conv1_pool').outputShape, [null, 56, 56, 2]);
    assert.deepEqual(built.model.getLayer('layer4_1_add').outputShape, [null, 7, 7, 16]);
    built.dispose();
  });

  test('input sides outside 28..224 are config errors', () => {
    assert.throws(() => buildModel(classifierConfig('resnet18'), { inputShape: [16, 16, 3] }), /data.input_size/);
    assert.throws(() => buildModel(classifierConfig('alexnet'), { inputShape: [256, 256, 3] }), /data.input_size/);
  });
});
