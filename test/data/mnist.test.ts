import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../src/config/schema.ts';
import { DataError } from '../../src/errors.ts';
import { createDataset } from '../../src/data/index.ts';
import { loadMnistPool, MnistDataset } from '../../src/data/mnist.ts';
import type { ClassificationBatch } from '../../src/data/types.ts';

const MEAN = 0.1307;
const STD = 0.3081;
const base = { seed: 0, inputSize: 32, trainSize: 8000, valSize: 500 };

describe('mnist', () => {
  const pool = loadMnistPool();
  const ds = new MnistDataset(base);

  it('reads all 10,000 digits of the package with their labels', () => {
    assert.equal(pool.labels.length, 10000);
    assert.equal(pool.pixels.length, 10000 * 784);
    const counts = new Array(10).fill(0);
    for (const l of pool.labels) counts[l]++;
    assert.deepEqual(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  });

  it('splits disjointly and deterministically by seed, capping train to what is left', () => {
    assert.equal(ds.size('val'), 500);
    assert.equal(ds.size('train'), 8000);
    const val = new Set(ds.poolIndices('val'));
    assert.ok(ds.poolIndices('train').every((i) => !val.has(i)));
    assert.deepEqual(new MnistDataset(base).poolIndices('val'), ds.poolIndices('val'));
    assert.notDeepEqual(new MnistDataset({ ...base, seed: 1 }).poolIndices('val'), ds.poolIndices('val'));
    const capped = new MnistDataset({ ...base, trainSize: 10000, valSize: 1000 });
    assert.equal(capped.size('train'), 9000);
    const classes = new Set(Array.from(ds.poolIndices('val'), (i) => pool.labels[i]));
    assert.equal(classes.size, 10);
  });

  it('pads 28x28 digits by 2 at input 32 (MNIST framing), exactly and normalised', () => {
    const b = ds.makeBatch('val', [0, 1]);
    assert.equal(b.kind, 'classification');
    assert.equal(b.images.length, 2 * 32 * 32);
    const id = ds.poolIndices('val')[1]!;
    assert.equal(b.labels[1], pool.labels[id]);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const inside = x >= 2 && x < 30 && y >= 2 && y < 30;
        const raw = inside ? pool.pixels[id * 784 + (y - 2) * 28 + (x - 2)]! : 0;
        assert.ok(Math.abs(b.images[1024 + y * 32 + x]! - (raw - MEAN) / STD) < 1e-5, `pixel ${x},${y}`);
      }
    }
  });

  it('gives raw digits at 28, resampled and padded digits at 64, replicated channels on request', () => {
    const raw = new MnistDataset({ ...base, inputSize: 28 }).makeBatch('val', [0]);
    const id = ds.poolIndices('val')[0]!;
    assert.ok(Math.abs(raw.images[14 * 28 + 14]! - (pool.pixels[id * 784 + 14 * 28 + 14]! - MEAN) / STD) < 1e-5);

    const big = new MnistDataset({ ...base, inputSize: 64, channels: 3 });
    assert.deepEqual(big.inputShape, [64, 64, 3]);
    assert.deepEqual(big.normalization.mean, [MEAN, MEAN, MEAN]);
    const b = big.makeBatch('val', [0]);
    assert.equal(b.images.length, 64 * 64 * 3);
    for (let p = 0; p < 64 * 64; p++) {
      assert.equal(b.images[3 * p], b.images[3 * p + 1]);
      assert.equal(b.images[3 * p], b.images[3 * p + 2]);
    }
    // The digit fills 56x56 centred with a 4-pixel black border (28/32 of the side).
    const bg = Math.fround(-MEAN / STD);
    for (let i = 0; i < 64; i++) {
      for (const [x, y] of [[i, 0], [i, 3], [0, i], [3, i], [i, 60], [60, i]] as const) assert.equal(b.images[(y * 64 + x) * 3], bg);
    }
    let ink = 0;
    for (let p = 0; p < 64 * 64; p++) ink += b.images[3 * p]! > 0 ? 1 : 0;
    assert.ok(ink > 100, `ink pixels ${ink}`);
  });

  it('yields batches in an order fixed by (seed, epoch) and is built by createDataset', async () => {
    const defaults = defaultConfig();
    const config = { ...defaults, task: 'classification' as const, data: { ...defaults.data, name: 'mnist' as const, input_size: 28, val_size: 20, train_size: 30 } };
    const d = await createDataset(config, { channels: 3 });
    assert.deepEqual(d.inputShape, [28, 28, 3]);
    assert.equal(d.numClasses, 10);
    const labels = async (epoch: number) => {
      const out: number[] = [];
      for await (const b of d.batches('train', { batchSize: 8, seed: 2, epoch, shuffle: true, dropLast: true })) out.push(...(b as ClassificationBatch).labels);
      return out;
    };
    const e0 = await labels(0);
    assert.equal(e0.length, 24);
    assert.deepEqual(await labels(0), e0);
    assert.notDeepEqual(await labels(1), e0);
  });

  it('rejects sizes it cannot honour', () => {
    assert.throws(() => new MnistDataset({ ...base, valSize: 10000 }), DataError);
    assert.throws(() => new MnistDataset({ ...base, inputSize: 4 }), DataError);
    assert.throws(() => ds.makeBatch('val', [500]), DataError);
  });
});
