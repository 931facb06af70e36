import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import type { RunConfig } from '../../src/config/schema.ts';
import { exportRun } from '../../src/export/export.ts';
import { evaluateExport } from '../../src/infer/evaluate.ts';
import { loadExported } from '../../src/infer/load.ts';
import { createEngine } from '../../src/infer/engines.ts';
import { nativeEngineStatus } from '../../src/infer/native-engine.ts';
import { loadModel } from '../../src/models/build.ts';
import { fileSystemHandler } from '../../src/train/file-io.ts';
import { tinyClassifier, tinyPose, trainedRun } from './fixtures.ts';

before(async () => {
  await selectBackend('cpu');
});

/** Outputs of the trained float model and of the export, on the same random batch. */
async function bothOutputs(dir: string, exportDir: string, shape: number[]): Promise<[Float32Array, Float32Array]> {
  const float = await loadModel(fileSystemHandler(join(dir, 'model')));
  const packed = await loadExported(exportDir, createEngine('wasm'));
  const x = tf.randomUniform([2, ...shape], -1, 1, 'float32', 5);
  const last = (y: tf.Tensor | tf.Tensor[]) => (Array.isArray(y) ? y[y.length - 1]! : y);
  const a = last(float.model.predict(x)).dataSync() as Float32Array;
  const b = last(packed.model.predict(x)).dataSync() as Float32Array;
  float.dispose();
  packed.model.dispose();
  x.dispose();
  return [a, b];
}

test('pose export: packed bits 32x smaller, manifest records the choices, checksum verified, metrics identical', async () => {
  const dir = await trainedRun(tinyPose((c) => { c.binarize.weight_scale = 'none'; }));
  const out = join(dir, 'exp');
  const m = await exportRun(dir, out);
  assert.equal(m.choices.sign_at_zero, 'plus_one');
  assert.equal(m.choices.activation_placement, 'post');
  assert.ok(m.packed.length > 0);
  for (const p of m.packed) {
    const weights = p.kernel.reduce((a, b) => a * b, 1);
    const row = m.sizes.layers.find((r) => r.layer === p.name)!;
    assert.equal(row.float32Bytes, 4 * weights);
    // 32 signs per uint32 word, channels padded to 32 per tap (C = 8 here: 2, 4 or 8 channels per tap).
    assert.equal(p.bits.bytes, p.kernel[3] * p.kernel[0] * p.kernel[1] * 4 * Math.ceil(p.kernel[2] / 32));
    assert.equal(p.alpha.bytes, 4 * p.kernel[3]);
  }
  assert.equal(m.sizes.packedBytes, readFileSync(join(out, 'weights.bin')).byteLength);
  const [a, b] = await bothOutputs(dir, out, m.inputShape);
  assert.deepEqual(b, a, 'weight_scale none: every float of the output equals the trained model\'s');
  const r = await evaluateExport(out, { sets: [], engine: createEngine('wasm') });
  assert.deepEqual(r.differing, []);
  assert.equal(r.identical, true);

  const bytes = readFileSync(join(out, 'weights.bin'));
  bytes[bytes.length - 1] ^= 1;
  writeFileSync(join(out, 'weights.bin'), bytes);
  await assert.rejects(loadExported(out, createEngine('js')), /sha256 does not match/);
});

interface MatrixCase { name: string; config: RunConfig }
const MATRIX: MatrixCase[] = [];
for (const placement of ['post', 'pre'] as const) {
  for (const sign of ['plus_one', 'zero'] as const) {
    // pre + relu puts exact zeros before every sign: the masked {-1, 0, +1} path under sign_at_zero=zero.
    const edit = (scale: 'none' | 'channel') => (c: RunConfig) => {
      c.model.activation_placement = placement;
      c.model.activation = placement === 'pre' ? 'relu' : 'prelu';
      c.model.sign_at_zero = sign;
      c.binarize.weight_scale = scale;
    };
    MATRIX.push({ name: `pose ${placement} ${sign} α=none`, config: tinyPose(edit('none')) });
    MATRIX.push({ name: `resnet18 ${placement} ${sign} α=channel`, config: tinyClassifier('resnet18', edit('channel')) });
  }
}
MATRIX.push({ name: 'pose pre prelu zero α=none (the BN and the PReLU fold into thresholds)', config: tinyPose((c) => {
  c.model.activation_placement = 'pre';
  c.model.activation = 'prelu';
  c.model.sign_at_zero = 'zero';
  c.binarize.weight_scale = 'none';
}) });
MATRIX.push({ name: 'pose with a binary stem (7x7 s2, 3 channels, bias) α=none', config: tinyPose((c) => {
  c.model.keep_real = [];
  c.binarize.weight_scale = 'none';
}) });
MATRIX.push({ name: 'alexnet (binary dense, 5x5) post zero α=tensor', config: tinyClassifier('alexnet', (c) => {
  c.model.sign_at_zero = 'zero';
  c.binarize.weight_scale = 'tensor';
}) });

for (const { name, config } of MATRIX) {
  test(`${name}: the export evaluates to the trained model's metrics`, async (t) => {
    const dir = await trainedRun(config);
    const out = join(dir, 'exp');
    const m = await exportRun(dir, out);
    assert.equal(m.choices.sign_at_zero, config.model.sign_at_zero);
    assert.equal(m.choices.activation_placement, config.model.activation_placement);
    assert.equal(m.choices.weight_scale, config.binarize.weight_scale);
    if (config.model.keep_real.length === 0) assert.ok(m.packed.some((p) => p.kernel[0] === 7 && p.strides === 2 && p.bias), 'the stem is packed');
    // Every binary layer reading a BN (all but a binary stem, which reads the image) has it folded, with a pre-placed relu.
    for (const p of m.packed.filter((e) => e.kernel[0] !== 7)) {
      // 3 training steps keep every PReLU slope near its 0.25 init, so all are foldable.
      assert.deepEqual(p.folded, config.model.activation_placement === 'pre' ? [`${p.name}_bn`, `${p.name}_act`] : [`${p.name}_bn`], p.name);
      assert.equal(p.thresholds!.bytes, 12 * p.kernel[2]);
    }
    const [a, b] = await bothOutputs(dir, out, m.inputShape);
    if (config.binarize.weight_scale === 'none') {
      assert.deepEqual(b, a, 'integer sums are exact in float32: the same floats');
    } else {
      // α·Σ rounds once; the float path sums ±α and rounds at every add: a few ulps apart at most.
      const scale = Math.max(...a.map(Math.abs));
      const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
      assert.ok(worst <= 1e-5 * scale, `max |Δ| ${worst} vs max |y| ${scale}`);
    }
    const native = nativeEngineStatus();
    if (!native.ok) t.diagnostic(`native engine not checked: ${native.reason}`);
    for (const engine of native.ok ? ['native', 'wasm', 'js'] : ['wasm', 'js']) {
      const r = await evaluateExport(out, { sets: [], engine: createEngine(engine) });
      const why = `${engine}: differing ${r.differing.join(', ')}: ${JSON.stringify(r.metrics)} vs ${JSON.stringify(r.trained)}`;
      assert.equal(r.predictionsIdentical, true, why);
      if (config.binarize.weight_scale === 'none') assert.equal(r.identical, true, why);
      else assert.ok(r.valLossRelDiff! < 1e-5, why);
    }
  });
}

test('a run whose binary layers evaluate smoothly (progressive, eval_hard_sign false) is refused with one line, exit 2', async () => {
  const dir = await trainedRun(tinyPose((c) => {
    c.progressive.enabled = true;
    c.progressive.eval_hard_sign = false;
  }));
  await assert.rejects(exportRun(dir, join(dir, 'exp')), (err: Error & { exitCode?: number }) => {
    assert.equal(err.exitCode, 2);
    assert.match(err.message, /evaluates with smooth features and smooth weights, not sign × sign .*eval_hard_sign=false/);
    return true;
  });
});
