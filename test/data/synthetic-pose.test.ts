import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../src/config/schema.ts';
import { DataError } from '../../src/errors.ts';
import { decodeHeatmaps } from '../../src/data/heatmaps.ts';
import { createDataset } from '../../src/data/index.ts';
import { SyntheticPoseDataset, syntheticPoseOptions } from '../../src/data/synthetic-pose.ts';
import type { PoseBatch } from '../../src/data/types.ts';

const opts = { seed: 7, inputSize: 64, heatmapSize: 16, sigma: 1, trainSize: 300, valSize: 40 };
const ds = new SyntheticPoseDataset(opts);
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
/** One shared batch of 200 samples keeps the statistical tests cheap. */
const many = ds.makeBatch('train', range(200));

/** FNV-1a over the bytes of typed arrays: a compact fingerprint of generated data. */
function fnv1a(...arrays: ArrayBufferView[]): string {
  let h = 0x811c9dc5;
  for (const a of arrays) {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

function sample(batch: PoseBatch, b: number, ds0 = ds) {
  const [h, w] = ds0.inputShape;
  const S = ds0.heatmapSize;
  return {
    image: batch.images.slice(b * h * w * 3, (b + 1) * h * w * 3),
    heatmaps: batch.heatmaps.slice(b * S * S * 16, (b + 1) * S * S * 16),
    joints: batch.joints.slice(b * 32, (b + 1) * 32),
    visible: batch.visible.slice(b * 16, (b + 1) * 16),
    weights: batch.weights.slice(b * 16, (b + 1) * 16),
    headBox: batch.headBoxes.slice(b * 4, (b + 1) * 4),
  };
}

describe('synthetic-pose samples', () => {
  it('have the shapes the dataset interface promises', () => {
    const b = ds.makeBatch('val', [0, 1, 2]);
    assert.equal(b.kind, 'pose');
    assert.equal(b.size, 3);
    assert.equal(b.images.length, 3 * 64 * 64 * 3);
    assert.equal(b.heatmaps.length, 3 * 16 * 16 * 16);
    assert.equal(b.weights.length, 48);
    assert.equal(b.joints.length, 96);
    assert.equal(b.visible.length, 48);
    assert.equal(b.headBoxes.length, 12);
    assert.deepEqual([...b.toOriginal], [1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0]);
    assert.deepEqual(ds.inputShape, [64, 64, 3]);
    assert.equal(ds.size('train'), 300);
    assert.equal(ds.size('val'), 40);
  });

  it('take sizes and seed from the run config', async () => {
    const d = defaultConfig();
    const config = { ...d, seed: 3, data: { ...d.data, input_size: 32, heatmap_size: 8, heatmap_sigma: 0.75, train_size: 12, val_size: 5 } };
    assert.deepEqual(syntheticPoseOptions(config), { seed: 3, inputSize: 32, heatmapSize: 8, sigma: 0.75, trainSize: 12, valSize: 5 });
    const small = await createDataset(config);
    assert.equal(small.name, 'synthetic-pose');
    assert.deepEqual(small.inputShape, [32, 32, 3]);
    assert.equal(small.heatmapSize, 8);
    const batch = (await small.batches('val', { batchSize: 5, seed: 0, epoch: 0, shuffle: false, dropLast: false })[Symbol.asyncIterator]().next()).value as PoseBatch;
    assert.equal(batch.images.length, 5 * 32 * 32 * 3);
    assert.equal(batch.heatmaps.length, 5 * 8 * 8 * 16);
  });

  it('are a pure function of (seed, split, index), whatever the batch around them', () => {
    const alone = sample(ds.makeBatch('train', [5]), 0);
    const inBatch = sample(ds.makeBatch('train', [9, 2, 5]), 2);
    assert.deepEqual(inBatch, alone);
    const again = sample(new SyntheticPoseDataset(opts).makeBatch('train', [5]), 0);
    assert.deepEqual(again, alone);
  });

  it('differ between splits, indices and seeds', () => {
    const a = fnv1a(ds.makeBatch('train', [0]).images);
    assert.notEqual(fnv1a(ds.makeBatch('val', [0]).images), a);
    assert.notEqual(fnv1a(ds.makeBatch('train', [1]).images), a);
    assert.notEqual(fnv1a(new SyntheticPoseDataset({ ...opts, seed: 8 }).makeBatch('train', [0]).images), a);
  });

  it('are bit-identical to the pinned fingerprint (cross-platform determinism)', () => {
    // If this fails after an intentional generator change, update the constant and say so in
    // the commit: every synthetic-pose result before it used different data.
    const b = ds.makeBatch('val', [0, 1, 2, 3]);
    assert.equal(fnv1a(b.images, b.joints, b.visible, b.weights, b.headBoxes, b.heatmaps), PINNED);
  });

  it('keep images in [-0.5, 0.5] and use the whole range', () => {
    let lo = Infinity, hi = -Infinity;
    for (const v of many.images) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    assert.ok(lo >= -0.5 && hi <= 0.5, `range ${lo}..${hi}`);
    assert.ok(lo < -0.45 && hi > 0.45, `range ${lo}..${hi}`);
  });

  it('flag off-image joints as unweighted and hidden joints as invisible but weighted', () => {
    let offImage = 0, hidden = 0, visible = 0;
    for (let q = 0; q < 200 * 16; q++) {
      const x = many.joints[2 * q]!, y = many.joints[2 * q + 1]!;
      const inside = x >= -0.5 && x < 63.5 && y >= -0.5 && y < 63.5;
      assert.equal(many.weights[q], inside ? 1 : 0, `joint ${q} weight`);
      if (!inside) {
        offImage++;
        assert.equal(many.visible[q], 0);
      } else if (many.visible[q]) visible++;
      else hidden++;
    }
    const n = 200 * 16;
    assert.ok(visible / n > 0.7 && visible / n < 0.97, `visible fraction ${visible / n}`);
    assert.ok(hidden / n > 0.03, `hidden fraction ${hidden / n}`);
    assert.ok(offImage / n < 0.05, `off-image fraction ${offImage / n}`);
  });

  it('draw right limbs reddish and left limbs bluish', () => {
    // Mean (R − B) at the middle of each visible shin and forearm, right vs left.
    const redMinusBlue = (a: number, c: number) => {
      let sum = 0, n = 0;
      for (let b = 0; b < 200; b++) {
        if (!many.visible[b * 16 + a] || !many.visible[b * 16 + c]) continue;
        const x = Math.round((many.joints[(b * 16 + a) * 2]! + many.joints[(b * 16 + c) * 2]!) / 2);
        const y = Math.round((many.joints[(b * 16 + a) * 2 + 1]! + many.joints[(b * 16 + c) * 2 + 1]!) / 2);
        if (x < 0 || y < 0 || x > 63 || y > 63) continue;
        const p = b * 64 * 64 * 3 + (y * 64 + x) * 3;
        sum += many.images[p]! - many.images[p + 2]!;
        n++;
      }
      return sum / n;
    };
    assert.ok(redMinusBlue(0, 1) > 0.15, 'right shin reddish');
    assert.ok(redMinusBlue(4, 5) < -0.15, 'left shin bluish');
    assert.ok(redMinusBlue(10, 11) > 0.15, 'right forearm reddish');
    assert.ok(redMinusBlue(14, 15) < -0.15, 'left forearm bluish');
  });

  it('give head boxes around the head segment, sized like MPII heads relative to the body', () => {
    for (let b = 0; b < 200; b++) {
      const [x1, y1, x2, y2] = [...many.headBoxes.slice(b * 4, b * 4 + 4)] as [number, number, number, number];
      assert.ok(x2 > x1 && y2 > y1);
      for (const j of [8, 9]) {
        const x = many.joints[(b * 16 + j) * 2]!, y = many.joints[(b * 16 + j) * 2 + 1]!;
        assert.ok(x >= x1 - 1e-3 && x <= x2 + 1e-3 && y >= y1 - 1e-3 && y <= y2 + 1e-3, `sample ${b} joint ${j} outside its head box`);
      }
      const headSize = 0.6 * Math.hypot(x2 - x1, y2 - y1);
      assert.ok(headSize > 2 && headSize < 10, `sample ${b}: head size ${headSize} px at 64x64`);
    }
  });

  it('vary the pose: a mean pose scores low PCKh (the set is not trivial)', () => {
    const mean = new Float64Array(32);
    const count = new Float64Array(16);
    for (let q = 0; q < 100 * 16; q++) {
      if (!many.weights[q]) continue;
      mean[(q % 16) * 2] += many.joints[2 * q]!;
      mean[(q % 16) * 2 + 1] += many.joints[2 * q + 1]!;
      count[q % 16]++;
    }
    let hit = 0, total = 0;
    for (let b = 100; b < 200; b++) {
      const [x1, y1, x2, y2] = [...many.headBoxes.slice(b * 4, b * 4 + 4)] as [number, number, number, number];
      const thr = 0.5 * 0.6 * Math.hypot(x2 - x1, y2 - y1);
      for (let j = 0; j < 16; j++) {
        const q = b * 16 + j;
        if (j === 6 || j === 7 || !many.visible[q]) continue;
        total++;
        if (Math.hypot(many.joints[2 * q]! - mean[2 * j]! / count[j]!, many.joints[2 * q + 1]! - mean[2 * j + 1]! / count[j]!) <= thr) hit++;
      }
    }
    assert.ok(hit / total < 0.15, `mean-pose PCKh ${hit / total}`);
  });

  it('carry heatmaps that decode back to the joints within a quarter cell', () => {
    const decoded = decodeHeatmaps(many.heatmaps, { inputSize: 64, heatmapSize: 16, toOriginal: many.toOriginal });
    for (let q = 0; q < 200 * 16; q++) {
      if (!many.weights[q]) {
        for (let p = Math.floor(q / 16) * 4096 + (q % 16); p < (Math.floor(q / 16) + 1) * 4096; p += 16) assert.equal(many.heatmaps[p], 0);
        continue;
      }
      // A quarter cell is 1 input pixel per axis at stride 4 (plus float32 rounding). When the
      // peak is a border cell (joint within 2 px of the outer cell centres 1.5 / 61.5, or beyond)
      // there is no shift, so up to half a cell (2 px) plus the distance past the centre.
      for (const axis of [0, 1]) {
        const t = many.joints[2 * q + axis]!;
        const bound = t >= 3.5 && t <= 59.5 ? 1 : 2 + Math.max(0, 1.5 - t, t - 61.5);
        assert.ok(Math.abs(decoded[2 * q + axis]! - t) <= bound + 1e-4, `joint ${q} axis ${axis}: ${decoded[2 * q + axis]} vs ${t}`);
      }
    }
  });

  it('reject bad options and out-of-range indices', () => {
    assert.throws(() => new SyntheticPoseDataset({ ...opts, heatmapSize: 128 }), DataError);
    assert.throws(() => new SyntheticPoseDataset({ ...opts, sigma: 0 }), DataError);
    assert.throws(() => new SyntheticPoseDataset({ ...opts, inputSize: 4 }), DataError);
    assert.throws(() => ds.makeBatch('val', [40]), DataError);
    assert.throws(() => ds.makeBatch('train', [-1]), DataError);
  });
});

describe('synthetic-pose batches', () => {
  const small = new SyntheticPoseDataset({ ...opts, inputSize: 16, heatmapSize: 4, trainSize: 10, valSize: 3 });
  const collect = async (split: 'train' | 'val', o: { batchSize: number; seed: number; epoch: number; shuffle: boolean; dropLast: boolean }) => {
    const out: PoseBatch[] = [];
    for await (const b of small.batches(split, o)) out.push(b);
    return out;
  };

  it('visit every sample once per epoch in an order fixed by (seed, epoch)', async () => {
    const o = { batchSize: 4, seed: 1, epoch: 0, shuffle: true, dropLast: false };
    const a = await collect('train', o);
    assert.deepEqual(a.map((b) => b.size), [4, 4, 2]);
    const b = await collect('train', o);
    assert.equal(fnv1a(...a.map((x) => x.images)), fnv1a(...b.map((x) => x.images)));
    const c = await collect('train', { ...o, epoch: 1 });
    assert.notEqual(fnv1a(...a.map((x) => x.images)), fnv1a(...c.map((x) => x.images)));
    // Same multiset of samples: each one's fingerprint appears once.
    const ids = (bs: PoseBatch[]) => bs.flatMap((x) => range(x.size).map((i) => fnv1a(sample(x, i, small).joints))).sort();
    assert.deepEqual(ids(a), ids(c));
    assert.equal(new Set(ids(a)).size, 10);
  });

  it('keep file order without shuffling and drop a last partial batch on request', async () => {
    const v = await collect('val', { batchSize: 2, seed: 5, epoch: 3, shuffle: false, dropLast: true });
    assert.deepEqual(v.map((b) => b.size), [2]);
    assert.deepEqual(sample(v[0]!, 1, small), sample(small.makeBatch('val', [1]), 0, small));
  });
});

const PINNED = '0858f3fd';
