import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import { BinaryConv2D } from '../../src/binary/binary-layers.ts';
import { QuantState } from '../../src/binary/quant-state.ts';
import { buildModel } from '../../src/models/build.ts';
import { formatSummary, summarizeModel } from '../../src/models/summary.ts';
import { TINY_INPUT, tinyConfig } from './helpers.ts';

before(async () => {
  // cpu with this project's kernels, as every run gets it (register.ts).
  await selectBackend('cpu');
});

const SNAPSHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), 'snapshots');

/** Compares with a stored snapshot; UPDATE_SNAPSHOTS=1 (re)writes it. */
function matchSnapshot(name: string, text: string): void {
  const file = join(SNAPSHOT_DIR, name);
  if (process.env.UPDATE_SNAPSHOTS === '1') {
    mkdirSync(SNAPSHOT_DIR, { recursive: true });
    writeFileSync(file, text);
  }
  assert.ok(existsSync(file), `snapshot ${name} is missing; create it with UPDATE_SNAPSHOTS=1`);
  assert.equal(text, readFileSync(file, 'utf8'), `snapshot ${name} differs; rerun with UPDATE_SNAPSHOTS=1 if intended`);
}

/** input 8×8×2 → BinaryConv2D 3×3 → 4 (no bias) → real Conv2D 1×1 → 2 (bias). */
function handModel(quant: QuantState): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 2], name: 'in' });
  const a = new BinaryConv2D({ name: 'bin', filters: 4, kernelSize: 3, quant }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ name: 'real', filters: 2, kernelSize: 1 }).apply(a) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: b, name: 'hand' });
}

describe('summarizeModel', () => {
  test('counts by hand: 1-bit kernels, 32-bit rest, MACs by precision, compression', () => {
    const quant = new QuantState();
    const s = summarizeModel(handModel(quant));
    const [bin, real] = s.layers;
    assert.deepEqual(bin, { name: 'bin', className: 'BinaryConv2D', outputShape: [8, 8, 4], params1bit: 72, params32bit: 0,
      memoryBytes: 9, macsBinary: 8 * 8 * 72, macsReal: 0 });
    assert.deepEqual(real, { name: 'real', className: 'Conv2D', outputShape: [8, 8, 2], params1bit: 0, params32bit: 10,
      memoryBytes: 40, macsBinary: 0, macsReal: 8 * 8 * 8 });
    assert.equal(s.totals.params, 82);
    assert.equal(s.totals.modelBytes, 49);
    assert.equal(s.totals.float32Bytes, 328);
    assert.ok(Math.abs(s.totals.compressionRatio - 328 / 49) < 1e-12);
    assert.ok(Math.abs(s.totals.binaryMacRatio - 4608 / (4608 + 512)) < 1e-12);
    // OPs = FLOPs + BOPs/64: 512 real MACs + 4608 binary MACs / 64 = 512 + 72.
    assert.deepEqual([s.totals.flops, s.totals.bops, s.totals.ops], [512, 4608, 584]);
    quant.dispose();
  });

  test('follows the flags: binary features with real weights are 32-bit MACs and 32-bit params', () => {
    const quant = new QuantState(undefined, { features: true, weights: false });
    const s = summarizeModel(handModel(quant));
    assert.equal(s.totals.params1bit, 0);
    assert.equal(s.totals.macsBinary, 0);
    assert.equal(s.totals.compressionRatio, 1);
    assert.equal(s.choices.binarized, 'features on, weights off');
    quant.dispose();
  });

  test('a real model has no binary parameters or MACs', () => {
    const built = buildModel(tinyConfig({ model: { binary: false } as never }), { inputShape: TINY_INPUT });
    const s = summarizeModel(built.model);
    assert.equal(s.totals.params1bit, 0);
    assert.equal(s.totals.binaryMacRatio, 0);
    built.dispose();
  });

  test('text snapshot of a tiny binary HourGlass', () => {
    const config = tinyConfig();
    const built = buildModel(config, { inputShape: TINY_INPUT, numJoints: 4 });
    const text = formatSummary(summarizeModel(built.model, { choices: { activation_placement: config.model.activation_placement } }));
    matchSnapshot('summary-tiny-hourglass.txt', text);
    assert.match(text, /Compression ratio/);
    assert.match(text, /activation_placement\s+post/);
    built.dispose();
  });
});
