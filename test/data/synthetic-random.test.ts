import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataError } from '../../src/errors.ts';
import { batchIndices, epochOrder, hashSeed, Rng, sampleRng } from '../../src/data/random.ts';
import { pcos, pexp, psin } from '../../src/data/synthetic/portable-math.ts';

describe('Rng (sfc32)', () => {
  it('is reproducible and pinned (same numbers on every platform)', () => {
    const a = new Rng(42);
    const first = [a.u32(), a.u32(), a.u32()];
    const b = new Rng(42);
    assert.deepEqual([b.u32(), b.u32(), b.u32()], first);
    assert.deepEqual(first, PINNED_U32);
  });

  it('gives uniform-looking floats in [0, 1)', () => {
    const r = new Rng(1);
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 20000; i++) {
      const f = r.float();
      assert.ok(f >= 0 && f < 1);
      bins[Math.floor(f * 10)]++;
    }
    for (const n of bins) assert.ok(n > 1800 && n < 2200, `bin ${n}`);
    for (let i = 0; i < 1000; i++) {
      const k = r.intIn(2, 4);
      assert.ok(k >= 2 && k <= 4 && Number.isInteger(k));
    }
  });

  it('separates streams by seed, split and index', () => {
    const first = (rng: Rng) => rng.u32();
    const x = first(sampleRng(0, 'train', 0));
    assert.notEqual(first(sampleRng(0, 'val', 0)), x);
    assert.notEqual(first(sampleRng(0, 'train', 1)), x);
    assert.notEqual(first(sampleRng(1, 'train', 0)), x);
    assert.notEqual(hashSeed(2 ** 32), hashSeed(0), 'high bits of a large seed count');
    assert.notEqual(hashSeed(1, 2), hashSeed(2, 1), 'order of parts counts');
  });
});

describe('epoch order', () => {
  it('is a permutation fixed by (seed, epoch), or the identity without shuffle', () => {
    const a = epochOrder(50, { seed: 3, epoch: 0, shuffle: true });
    assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(epochOrder(50, { seed: 3, epoch: 0, shuffle: true }), a);
    assert.notDeepEqual(epochOrder(50, { seed: 3, epoch: 1, shuffle: true }), a);
    assert.notDeepEqual(epochOrder(50, { seed: 4, epoch: 0, shuffle: true }), a);
    assert.deepEqual([...epochOrder(4, { seed: 3, epoch: 9, shuffle: false })], [0, 1, 2, 3]);
  });

  it('splits into batches, optionally dropping the last partial one', () => {
    const order = Int32Array.from([4, 3, 2, 1, 0]);
    assert.deepEqual([...batchIndices(order, { batchSize: 2, dropLast: false })].map((b) => [...b]), [[4, 3], [2, 1], [0]]);
    assert.deepEqual([...batchIndices(order, { batchSize: 2, dropLast: true })].map((b) => [...b]), [[4, 3], [2, 1]]);
    assert.throws(() => [...batchIndices(order, { batchSize: 0, dropLast: false })], DataError);
  });
});

describe('portable math', () => {
  it('matches Math.sin/cos/exp to within an ulp or two', () => {
    for (let i = 0; i <= 2000; i++) {
      const x = -20 + i * 0.02;
      assert.ok(Math.abs(psin(x) - Math.sin(x)) < 5e-16, `sin ${x}`);
      assert.ok(Math.abs(pcos(x) - Math.cos(x)) < 5e-16, `cos ${x}`);
      const e = -50 + i * 0.03;
      assert.ok(Math.abs(pexp(e) / Math.exp(e) - 1) < 5e-16, `exp ${e}`);
    }
  });

  it('is exact where it should be and handles the extremes', () => {
    assert.equal(psin(0), 0);
    assert.equal(pcos(0), 1);
    assert.equal(pexp(0), 1);
    assert.equal(pexp(-1000), 0);
    assert.equal(pexp(1000), Infinity);
    assert.ok(Number.isNaN(pexp(NaN)));
  });
});

const PINNED_U32 = [1319016762, 1246994923, 259179048];
