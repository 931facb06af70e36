import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BinaryDense } from '../../src/binary/binary-layers.ts';
import { BinaryDiagnostics, REFERENCE_PREFIX, countFlips, packSigns } from '../../src/binary/diagnostics.ts';
import { DEFAULT_QUANT_SETTINGS, QuantState, type QuantSettings } from '../../src/binary/quant-state.ts';
import { selectBackend } from '../../src/backend/index.ts';
import { defaultConfig } from '../../src/config/schema.ts';
import { train, type EvalRecord } from '../../src/train/trainer.ts';

before(async () => {
  await selectBackend('cpu');
});

const W1 = [0.5, -0.25, -1.5, 0.1, 2, -0.05, -0.3, 1]; // [4 in, 2 out]
const W2 = [0.2, -0.4, 0.6, -0.8, 1.2, -0.01]; // [2 in, 3 out]
const X = [1, -1, 0, -2, -3, -0.5, -0.1, 0.2]; // two probe rows of 4

function settings(over: Partial<QuantSettings> = {}, progressive: Partial<QuantSettings['progressive']> = {}): QuantSettings {
  return { ...DEFAULT_QUANT_SETTINGS, ...over, progressive: { ...DEFAULT_QUANT_SETTINGS.progressive, ...progressive } };
}

/** Two binary dense layers 4 → 2 → 3 with the kernels above, sharing one state. */
function handBuilt(quant = new QuantState()) {
  const model = tf.sequential({
    layers: [new BinaryDense({ units: 2, inputShape: [4], name: 'b1', quant }), new BinaryDense({ units: 3, name: 'b2', quant })],
  });
  model.layers[0]!.setWeights([tf.tensor2d(W1, [4, 2])]);
  model.layers[1]!.setWeights([tf.tensor2d(W2, [2, 3])]);
  const diag = BinaryDiagnostics.of(model, quant, tf.tensor2d(X, [2, 4]))!;
  return { model, quant, diag };
}

/** b2's input in inference mode, by hand: sign(x) · (α ⊙ sign(W1)), α = mean |W1| per output column. */
function b2Inputs(): number[] {
  const sgn = (v: number) => (v >= 0 ? 1 : -1);
  const alpha = [0, 1].map((o) => [0, 1, 2, 3].reduce((s, i) => s + Math.abs(W1[2 * i + o]!), 0) / 4);
  return [0, 1].flatMap((r) => [0, 1].map((o) => [0, 1, 2, 3].reduce((s, i) => s + sgn(X[4 * r + i]!) * alpha[o]! * sgn(W1[2 * i + o]!), 0)));
}

test('sign bits pack one per weight and count flips', async () => {
  const ref = packSigns([1, -1, 0, -0.5, 2, 3, -4, 5, -6]);
  assert.deepEqual([...ref], [0b10110101, 0]);
  assert.equal(countFlips([1, -1, 0, -0.5, 2, 3, -4, 5, -6], ref), 0);
  assert.equal(countFlips([-1, -1, 0, 0.5, 2, 3, -4, 5, 6], ref), 3);
});

test('magnitudes, clipped fractions and input signs of a hand-built network', async () => {
  const { diag } = handBuilt();
  await diag.resetReference();
  const { record, latent } = (await diag.measure());
  const plus2 = b2Inputs().filter((v) => v >= 0).length / 4;
  assert.deepEqual(record.layers.b1, { flip_ratio: 0, input_plus: 3 / 8, mean_abs_w: 0.7125, clipped: 0.375 });
  assert.deepEqual(record.layers.b2, { flip_ratio: 0, input_plus: plus2, mean_abs_w: 0.535, clipped: Math.round(1e6 / 6) / 1e6 });
  assert.equal(record.mean_abs_w, Math.round(1e6 * 8.91 / 14) / 1e6);
  assert.equal(record.clipped, Math.round(1e6 * 4 / 14) / 1e6);
  assert.deepEqual([record.input_plus_min, record.input_plus_max], [Math.min(3 / 8, plus2), Math.max(3 / 8, plus2)]);
  assert.deepEqual([record.soft_agree_w, record.soft_agree_x], [null, null]);
  assert.deepEqual([...latent.b1!], W1.map(Math.fround));
});

test('flip ratio counts sign changes since the previous measurement, none before a reference', async () => {
  const { model, diag } = handBuilt();
  assert.equal((await diag.measure()).record.flip_ratio, null);
  // Two of b1's eight signs flip, one of b2's six; other weights move without crossing zero.
  model.layers[0]!.setWeights([tf.tensor2d([-0.5, -0.2, -1.4, -0.1, 2.5, -0.05, -0.3, 1], [4, 2])]);
  model.layers[1]!.setWeights([tf.tensor2d([0.2, -0.4, 0.6, -0.8, 1.2, 0.01], [2, 3])]);
  const r = (await diag.measure()).record;
  assert.deepEqual([r.layers.b1!.flip_ratio, r.layers.b2!.flip_ratio, r.flip_ratio], [0.25, Math.round(1e6 / 6) / 1e6, Math.round(3e6 / 14) / 1e6]);
  assert.equal((await diag.measure()).record.flip_ratio, 0);
});

test('sign at zero = 0 counts zero inputs as not +1', async () => {
  const { diag } = handBuilt(new QuantState(settings({ signAtZero: 'zero' })));
  assert.equal((await diag.measure()).record.layers.b1!.input_plus, 2 / 8);
});

test('progressive: fraction of soft-quantized entries within tolerance of the hard sign', async () => {
  // tanh(10 z) is within 0.1 of ±1 iff |z| > atanh(0.9) / 10 ≈ 0.147.
  const { diag } = handBuilt(new QuantState(settings({}, { enabled: true, fn: 'tanh', applyTo: 'both' }), { features: true, weights: true }, 10));
  const r = (await diag.measure()).record;
  assert.equal(r.layers.b1!.soft_agree_w, 6 / 8); // all but 0.1 and -0.05
  assert.equal(r.layers.b1!.soft_agree_x, 6 / 8); // all but 0 (tanh 0 = 0, sign 0 = +1) and -0.1
  assert.equal(r.layers.b2!.soft_agree_w, Math.round(5e6 / 6) / 1e6); // all but -0.01
  const x2 = b2Inputs().filter((v) => Math.abs(Math.tanh(10 * v) - (v >= 0 ? 1 : -1)) < 0.1).length / 4;
  assert.equal(r.layers.b2!.soft_agree_x, Math.round(1e6 * x2) / 1e6);
  assert.equal(r.soft_agree_w, Math.round(11e6 / 14) / 1e6);
  const weightsOnly = (await handBuilt(new QuantState(settings({}, { enabled: true, applyTo: 'weights' }), { features: true, weights: true }, 10)).diag.measure()).record;
  assert.equal(weightsOnly.soft_agree_x, null);
});

test('a saved reference restores the flip-ratio interval; a missing one leaves it unknown', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-diag-'));
  const a = handBuilt();
  await a.diag.resetReference();
  a.diag.saveReference(dir, 40);
  const b = handBuilt();
  b.model.layers[0]!.setWeights([tf.tensor2d(W1.map((v) => -v), [4, 2])]);
  assert.equal(b.diag.loadReference(dir, 40), true);
  assert.equal((await b.diag.measure()).record.layers.b1!.flip_ratio, 1);
  assert.equal(b.diag.loadReference(dir, 41), false);
  assert.equal((await b.diag.measure()).record.flip_ratio, null);
});

test('a network without binary layers has no diagnostics', async () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [4] })] });
  assert.equal(BinaryDiagnostics.of(model, new QuantState(), null), undefined);
});

test('training records the same diagnostics whether or not it was interrupted', async () => {
  const c = defaultConfig();
  Object.assign(c.model, { channels: 8, depth: 1 });
  Object.assign(c.data, { input_size: 32, heatmap_size: 8, train_size: 24, val_size: 8 });
  Object.assign(c.train, { batch_size: 4, steps: 6, eval_every: 3, checkpoint_every: 2 });
  const collect = async (dir: string, hooks: Parameters<typeof train>[0]['hooks'] = {}, signal?: AbortSignal) => {
    const evals: EvalRecord[] = [];
    await train({ config: c, runDir: dir, signal, hooks: { onEval: (r) => evals.push(r), ...hooks } });
    return evals;
  };
  const straight = await collect(mkdtempSync(join(tmpdir(), 'bnn-diag-')));
  assert.ok(straight.every((e) => e.diag && e.diag.flip_ratio !== null && Object.keys(e.diag.layers).length > 0));

  for (const dropReference of [false, true]) {
    const dir = mkdtempSync(join(tmpdir(), 'bnn-diag-'));
    const abort = new AbortController();
    await collect(dir, { onProgress: (p) => { if (p.step === 4) abort.abort(); } }, abort.signal);
    const checkpoints = join(dir, 'checkpoints');
    assert.deepEqual(readdirSync(checkpoints).filter((f) => f.startsWith(REFERENCE_PREFIX)), [`${REFERENCE_PREFIX}4.bin`]);
    if (dropReference) rmSync(join(checkpoints, `${REFERENCE_PREFIX}4.bin`));
    const resumed = await collect(dir);
    const expected = straight.find((e) => e.step === 6)!.diag!;
    assert.equal(resumed.length, 1);
    if (dropReference) assert.deepEqual(resumed[0]!.diag, { ...expected, flip_ratio: null, layers: Object.fromEntries(Object.entries(expected.layers).map(([k, v]) => [k, { ...v, flip_ratio: null }])) });
    else assert.deepEqual(resumed[0]!.diag, expected);
  }
});
