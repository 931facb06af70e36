import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import { buildModel } from '../../src/models/build.ts';
import { hpmWidths } from '../../src/models/builder.ts';
import { summarizeModel } from '../../src/models/summary.ts';
import { ConfigError } from '../../src/errors.ts';
import { defaultConfig } from '../../src/config/schema.ts';
import { TINY_INPUT, tinyConfig } from './helpers.ts';

before(async () => {
  // cpu with this project's kernels, as every run gets it (register.ts).
  await selectBackend('cpu');
});

const classOf = (model: tf.LayersModel, name: string) => model.getLayer(name).getClassName();

describe('HPM block', () => {
  test('widths C/2, C/4, C/4 (the rest when C is not divisible by 4)', () => {
    assert.deepEqual(hpmWidths(128), [64, 32, 32]);
    assert.deepEqual(hpmWidths(10), [5, 2, 3]);
  });

  test('three chained 3×3 binary convs, concatenated, identity or 1×1-projection residual', () => {
    const built = buildModel(tinyConfig(), { inputShape: TINY_INPUT });
    const m = built.model;
    // stem_b1 goes C/2 = 4 → C = 8 channels: projected; stem_b2 is 8 → 8: identity.
    assert.deepEqual(m.getLayer('stem_b1_conv1').getWeights()[0].shape, [3, 3, 4, 4]);
    assert.deepEqual(m.getLayer('stem_b1_conv2').getWeights()[0].shape, [3, 3, 4, 2]);
    assert.deepEqual(m.getLayer('stem_b1_conv3').getWeights()[0].shape, [3, 3, 2, 2]);
    assert.equal(classOf(m, 'stem_b1_conv1'), 'BinaryConv2D');
    assert.equal(classOf(m, 'stem_b1_proj'), 'Conv2D');
    assert.deepEqual(m.getLayer('stem_b1_proj').getWeights()[0].shape, [1, 1, 4, 8]);
    assert.throws(() => m.getLayer('stem_b2_proj'));
    const add = m.getLayer('stem_b2_add');
    assert.deepEqual((add.input as tf.SymbolicTensor[]).map((t) => t.shape), [[null, 4, 4, 8], [null, 4, 4, 8]]);
    built.dispose();
  });
});

describe('stacked HourGlass', () => {
  test('every stack returns heatmaps [b, H/4, W/4, joints]', () => {
    const built = buildModel(tinyConfig({ model: { stacks: 2 } as never }), { inputShape: TINY_INPUT, numJoints: 5 });
    const out = built.model.predict(tf.zeros([2, ...TINY_INPUT])) as tf.Tensor[];
    assert.equal(out.length, 2);
    for (const t of out) assert.deepEqual(t.shape, [2, 4, 4, 5]);
    // The merge between stacks: previous + 1×1(features) + 1×1(heatmaps).
    assert.equal((built.model.getLayer('hg0_merge').input as tf.SymbolicTensor[]).length, 3);
    assert.throws(() => built.model.getLayer('hg1_merge'));
    built.dispose();
  });

  test('depth d has 3d + 1 HPM blocks per HourGlass', () => {
    const built = buildModel(tinyConfig({ model: { depth: 2 } as never, data: { input_size: 32, heatmap_size: 8 } as never }),
      { inputShape: [32, 32, 3] });
    const blocks = built.model.layers.filter((l) => /^hg0_d\d_\w+_add$/.test(l.name) && !l.name.endsWith('_d1_add') && !l.name.endsWith('_d2_add'));
    assert.equal(blocks.length, 3 * 2 + 1);
    built.dispose();
  });

  test('model.binary=false builds the same network with real convs only', () => {
    const bin = buildModel(tinyConfig(), { inputShape: TINY_INPUT });
    const real = buildModel(tinyConfig({ model: { binary: false } as never }), { inputShape: TINY_INPUT });
    assert.equal(real.model.layers.filter((l) => l.getClassName().startsWith('Binary')).length, 0);
    assert.equal(real.model.countParams(), bin.model.countParams());
    assert.equal(real.model.name, 'hourglass_real');
    assert.ok(real.binaryLayers.every((l) => !l.binary));
    bin.dispose();
    real.dispose();
  });

  test('keep_real: "first" keeps the stem real; names and prefixes keep any layer real', () => {
    const dflt = buildModel(tinyConfig(), { inputShape: TINY_INPUT });
    assert.equal(classOf(dflt.model, 'stem_conv'), 'Conv2D');
    dflt.dispose();
    const none = buildModel(tinyConfig({ model: { keep_real: [] } as never }), { inputShape: TINY_INPUT });
    assert.equal(classOf(none.model, 'stem_conv'), 'BinaryConv2D');
    none.dispose();
    const some = buildModel(tinyConfig({ model: { keep_real: ['first', 'hg0_d1_up_conv2', 'stem_b3_*'] } as never }), { inputShape: TINY_INPUT });
    assert.equal(classOf(some.model, 'hg0_d1_up_conv2'), 'Conv2D');
    assert.equal(classOf(some.model, 'hg0_d1_up_conv1'), 'BinaryConv2D');
    for (const n of ['stem_b3_conv1', 'stem_b3_conv2', 'stem_b3_conv3']) assert.equal(classOf(some.model, n), 'Conv2D');
    assert.equal(classOf(some.model, 'stem_b2_conv1'), 'BinaryConv2D');
    some.dispose();
  });

  test('a keep_real entry that names nothing is a config error', () => {
    assert.throws(() => buildModel(tinyConfig({ model: { keep_real: ['first', 'hg0_d9_up_conv1'] } as never }), { inputShape: TINY_INPUT }),
      (e: unknown) => e instanceof ConfigError && /hg0_d9_up_conv1/.test(e.message));
  });

  test('sizes that cannot work are config errors naming the key', () => {
    assert.throws(() => buildModel(tinyConfig({ data: { heatmap_size: 8 } as never }), { inputShape: TINY_INPUT }), /data.heatmap_size/);
    assert.throws(() => buildModel(tinyConfig({ model: { depth: 3 } as never }), { inputShape: TINY_INPUT }), /model.depth/);
    assert.throws(() => buildModel(tinyConfig(), { inputShape: [18, 18, 3] }), /data.input_size/);
  });

  test('the same seed builds the same weights; another seed does not', () => {
    const w = (seed: number) => {
      const b = buildModel(tinyConfig({ seed }), { inputShape: TINY_INPUT });
      const v = Array.from(b.model.getLayer('hg0_d1_up_conv1').getWeights()[0].dataSync());
      b.dispose();
      return v;
    };
    assert.deepEqual(w(1), w(1));
    assert.notDeepEqual(w(1), w(2));
  });

  test('reference workload: 1 stack, C=128, depth 3, 64×64 → 16 heatmaps at 16×16', () => {
    // Built, never run: building is cheap, a forward pass at this size is not (2 shared cores).
    const built = buildModel(defaultConfig(), { inputShape: [64, 64, 3], numJoints: 16 });
    assert.deepEqual(built.model.outputs[0].shape, [null, 16, 16, 16]);
    const s = summarizeModel(built.model);
    // PyTorch counts ≈1.43 M parameters (running BN statistics excluded) and ≈10.5 GFLOP per
    // training step at batch 8 (forward + backward ≈ 3 × forward, 2 FLOP per MAC).
    assert.equal(s.totals.params, 1_434_000);
    assert.equal(s.totals.trainableParams, 1_427_344);
    assert.equal(s.totals.macs, 218_157_056);
    const gflopPerStep = (s.totals.macs * 2 * 3 * 8) / 1e9;
    assert.ok(Math.abs(gflopPerStep - 10.5) < 0.1, `GFLOP per step ${gflopPerStep}`);
    built.dispose();
  });
});
