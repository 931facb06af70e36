import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import { buildModel, loadModel, type BinaryModel } from '../../src/models/build.ts';
import { isQuantizedLayer } from '../../src/binary/quant-state.ts';
import { assertClose } from '../binary/helpers.ts';
import { TINY_INPUT, tinyConfig } from './helpers.ts';

before(async () => {
  // cpu with this project's kernels, as every run gets it (register.ts).
  await selectBackend('cpu');
});

async function roundTrip(built: BinaryModel): Promise<BinaryModel> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await built.model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return loadModel(tf.io.fromMemory(artifacts!));
}

const input = () => tf.randomNormal([2, ...TINY_INPUT], 0, 1, 'float32', 11);

describe('buildModel', () => {
  test('the state starts at binarize.order\'s first stage and progressive.lambda_start', () => {
    const built = buildModel(tinyConfig({ binarize: { order: 'features-first' } as never, progressive: { enabled: true, lambda_start: 2.5 } as never }),
      { inputShape: TINY_INPUT });
    assert.deepEqual(built.quant.binarization, { features: true, weights: false });
    assert.equal(built.quant.lambda, 2.5);
    assert.equal(built.quant.settings.progressive.enabled, true);
    assert.ok(built.model.layers.filter(isQuantizedLayer).every((l) => l.quant === built.quant), 'one shared state');
    built.dispose();
  });

  test('flags and λ change the outputs of the same model, no rebuild', () => {
    const built = buildModel(tinyConfig({ progressive: { enabled: true } as never }), { inputShape: TINY_INPUT });
    const x = input();
    const run = (training: boolean) => Array.from((built.model.apply(x, { training }) as tf.Tensor).dataSync());
    const hard = run(false);
    built.quant.setLambda(50);
    assert.deepEqual(run(false), hard, 'evaluation uses the hard sign whatever λ is');
    built.quant.setBinarization({ features: false, weights: false });
    const real = run(false);
    assert.notDeepEqual(real, hard);
    built.quant.setBinarization({ features: true, weights: true });
    assert.deepEqual(run(false), hard, 'flags switch back');
    // Training mode reads λ (BatchNorm uses batch statistics there, the same in both calls).
    built.quant.setLambda(1);
    const smooth1 = run(true);
    built.quant.setLambda(50);
    assert.notDeepEqual(run(true), smooth1);
    built.dispose();
  });

  test('one training step: every trainable weight gets a gradient, binary kernels non-zero, no tensor leak', () => {
    const built = buildModel(tinyConfig({ model: { stacks: 2 } as never }), { inputShape: TINY_INPUT });
    const x = input();
    const target = tf.zeros([2, 4, 4, 16]);
    const optimizer = tf.train.adam(1e-3);
    const step = () => tf.tidy(() => {
      optimizer.minimize(() => {
        const outs = built.model.apply(x, { training: true }) as tf.Tensor[];
        return tf.addN(outs.map((o) => tf.losses.meanSquaredError(target, o))) as tf.Scalar;
      });
      built.afterStep();
    });
    step(); // creates the optimizer's slots
    const before = tf.memory().numTensors;
    const kernelBefore = built.model.getLayer('hg0_d1_up_conv1').getWeights()[0].dataSync().slice();
    step();
    assert.equal(tf.memory().numTensors, before, 'a step leaks no tensor');
    const kernelAfter = built.model.getLayer('hg0_d1_up_conv1').getWeights()[0].dataSync();
    assert.notDeepEqual(Array.from(kernelAfter), Array.from(kernelBefore), 'binary kernel trained');

    const { grads } = tf.variableGrads(() => {
      const outs = built.model.apply(x, { training: true }) as tf.Tensor[];
      return tf.addN(outs.map((o) => tf.losses.meanSquaredError(target, o))) as tf.Scalar;
    });
    assert.equal(Object.keys(grads).length, built.model.trainableWeights.length);
    assert.ok(!Object.keys(grads).some((k) => k.startsWith('quant_lambda')), 'λ is not trained');
    built.dispose();
  });

  test('weight_clip: afterStep clips binary kernels into [−1, 1]', () => {
    const built = buildModel(tinyConfig({ binarize: { weight_clip: true } as never }), { inputShape: TINY_INPUT });
    const layer = built.model.getLayer('stem_b2_conv1');
    const w = layer.getWeights()[0];
    layer.setWeights([tf.mul(w, 100)]);
    built.afterStep();
    const v = layer.getWeights()[0].dataSync();
    assert.ok(v.every((e) => e >= -1 && e <= 1) && v.some((e) => Math.abs(e) === 1));
    built.dispose();
  });

  test('dispose frees the weights and λ', () => {
    const before = tf.memory().numTensors;
    buildModel(tinyConfig(), { inputShape: TINY_INPUT }).dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('save and load', () => {
  test('a binary HourGlass reloads with the same outputs and the same quantization state', async () => {
    const config = tinyConfig({
      model: { stacks: 2, sign_at_zero: 'zero', activation: 'leaky_relu' } as never,
      binarize: { gradient: 'swish_sign', weight_scale: 'tensor', order: 'weights-first' } as never,
      progressive: { enabled: true, function: 'softsign', apply_to: 'features', lambda_start: 3 } as never,
    });
    const built = buildModel(config, { inputShape: TINY_INPUT });
    // Make BN statistics and weights non-trivial, then flip flags, so the check is not vacuous.
    built.model.apply(input(), { training: true });
    built.quant.setBinarization({ features: true, weights: true });
    built.quant.setLambda(7);
    const x = input();
    const before = (built.model.predict(x) as tf.Tensor[]).map((t) => t.dataSync());

    const loaded = await roundTrip(built);
    const after = (loaded.model.predict(x) as tf.Tensor[]).map((t) => t.dataSync());
    assert.equal(after.length, 2);
    after.forEach((a, i) => assertClose(a, before[i], 1e-5, `stack ${i}`));
    assert.deepEqual(loaded.quant.toConfig(), built.quant.toConfig());
    assert.ok(loaded.model.layers.filter(isQuantizedLayer).every((l) => l.quant === loaded.quant), 'state re-shared');

    // Training-mode outputs (smooth features at λ = 7) agree too, and λ still drives every layer.
    const smooth = (m: BinaryModel) => Array.from((m.model.apply(x, { training: true }) as tf.Tensor[])[1].dataSync());
    assertClose(smooth(loaded), smooth(built), 1e-4, 'training');
    loaded.quant.setLambda(1);
    assert.notDeepEqual(smooth(loaded), smooth(built));
    built.dispose();
    loaded.dispose();
  });

  test('a real ResNet-18 reloads with the same logits', async () => {
    const c = tinyConfig({ model: { arch: 'resnet18', binary: false, width_multiplier: 1 / 16 } as never });
    const built = buildModel(c, { inputShape: [28, 28, 1], numClasses: 3 });
    const x = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 5);
    const loaded = await roundTrip(built);
    assertClose((loaded.model.predict(x) as tf.Tensor).dataSync(), (built.model.predict(x) as tf.Tensor).dataSync(), 1e-5, 'logits');
    built.dispose();
    loaded.dispose();
  });
});
