import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import { activationLayer, parseActivation } from '../../src/binary/activations.ts';
import { signForward } from '../../src/binary/quantizers.ts';
import { buildModel } from '../../src/models/build.ts';
import { TINY_INPUT, tinyConfig } from '../models/helpers.ts';

before(async () => {
  // cpu with this project's kernels, as every run gets it (register.ts).
  await selectBackend('cpu');
});

describe('activation layers', () => {
  test('prelu: one slope per channel, initialised to 0.25', () => {
    const layer = activationLayer({ kind: 'prelu' }, 'p')!;
    const y = layer.apply(tf.tensor4d([-4, -8, 2, 3], [1, 2, 1, 2])) as tf.Tensor;
    assert.deepEqual(layer.getWeights()[0].shape, [1, 1, 2]);
    assert.deepEqual(Array.from(y.dataSync()), [-1, -2, 2, 3]);
  });

  test('prelu_init and leaky_slope are honoured; none is no layer', () => {
    const p = activationLayer({ kind: 'prelu', preluInit: 0.1 }, 'p2')!;
    assert.deepEqual(Array.from((p.apply(tf.tensor4d([-10], [1, 1, 1, 1])) as tf.Tensor).dataSync()), [-1]);
    const l = activationLayer({ kind: 'leaky_relu', leakySlope: 0.5 }, 'l')!;
    assert.deepEqual(Array.from((l.apply(tf.tensor1d([-2, 2])) as tf.Tensor).dataSync()), [-1, 2]);
    const r = activationLayer({ kind: 'relu' }, 'r')!;
    assert.deepEqual(Array.from((r.apply(tf.tensor1d([-2, 2])) as tf.Tensor).dataSync()), [0, 2]);
    assert.equal(activationLayer({ kind: 'none' }, 'n'), null);
    assert.throws(() => parseActivation('gelu'), /model.activation/);
  });
});

/**
 * What every binary conv of the model sees after its sign, for one random batch, in training mode:
 * BatchNorm then uses batch statistics (at init its moving statistics are the identity, which
 * would not re-centre anything), as during the training the calibration pilot measured.
 */
function binaryInputs(config: ReturnType<typeof tinyConfig>): Float32Array[] {
  const built = buildModel(config, { inputShape: TINY_INPUT });
  const convs = built.model.layers.filter((l) => l.getClassName() === 'BinaryConv2D');
  assert.ok(convs.length > 0);
  const probe = tf.model({ inputs: built.model.inputs, outputs: convs.map((l) => l.input as tf.SymbolicTensor) });
  const x = tf.randomNormal([2, ...TINY_INPUT], 0, 1, 'float32', 3);
  const ins = probe.apply(x, { training: true }) as tf.Tensor[];
  const signs = ins.map((t) => signForward(t, config.model.sign_at_zero as 'plus_one' | 'zero').dataSync() as Float32Array);
  built.dispose();
  return signs;
}

const fractionPlusOne = (arrays: Float32Array[]) => {
  let plus = 0;
  let n = 0;
  for (const a of arrays) for (const v of a) { n++; if (v === 1) plus++; }
  return plus / n;
};

describe('activation placement', () => {
  test("'pre' with relu and a never-zero sign: every binary input is +1 (the degenerate case)", () => {
    const signs = binaryInputs(tinyConfig({ model: { activation: 'relu', activation_placement: 'pre' } as never }));
    assert.equal(fractionPlusOne(signs), 1);
  });

  test("'pre' with relu and sign(0) = 0: inputs are {0, +1}, one state removed", () => {
    const signs = binaryInputs(tinyConfig({ model: { activation: 'relu', activation_placement: 'pre', sign_at_zero: 'zero' } as never }));
    const values = new Set(signs.flatMap((a) => Array.from(a)));
    assert.deepEqual([...values].sort(), [0, 1]);
  });

  test("'pre' with prelu: sign(prelu(z)) = sign(z), both states survive", () => {
    const f = fractionPlusOne(binaryInputs(tinyConfig({ model: { activation: 'prelu', activation_placement: 'pre' } as never })));
    assert.ok(f > 0.2 && f < 0.8, `fraction of +1 = ${f}`);
  });

  test("'post' (default) with relu: the activation acts on the conv output, both states survive", () => {
    const f = fractionPlusOne(binaryInputs(tinyConfig({ model: { activation: 'relu', activation_placement: 'post' } as never })));
    assert.ok(f > 0.2 && f < 0.8, `fraction of +1 = ${f}`);
  });

  test('placement decides the layer order around each binary conv', () => {
    const order = (placement: string) => {
      const built = buildModel(tinyConfig({ model: { activation_placement: placement } as never }), { inputShape: TINY_INPUT });
      const names = built.model.layers.map((l) => l.name).filter((n) => n.startsWith('stem_b2_conv1'));
      built.dispose();
      return names;
    };
    assert.deepEqual(order('post'), ['stem_b2_conv1_bn', 'stem_b2_conv1', 'stem_b2_conv1_act']);
    assert.deepEqual(order('pre'), ['stem_b2_conv1_bn', 'stem_b2_conv1_act', 'stem_b2_conv1']);
  });
});
