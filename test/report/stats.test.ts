/** Statistics over seeds: the definitions every report prints must be what the code computes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareSeeds, mean, median, sampleStd, summarize, verdict } from '../../src/report/stats.ts';

const close = (a: number | null, b: number, eps = 1e-9) => assert.ok(a !== null && Math.abs(a - b) < eps, `${a} ≈ ${b}`);

describe('stats', () => {
  it('std is the sample std (n − 1) and undefined for one seed', () => {
    close(sampleStd([1, 2, 3, 4]), Math.sqrt(5 / 3));
    assert.equal(sampleStd([7]), null);
    assert.deepEqual(summarize([]), { n: 0, mean: null, std: null });
    assert.deepEqual(summarize([2]), { n: 1, mean: 2, std: null });
    close(mean([1, 2, 6]), 3);
  });

  it('pairs by seed: Δ = mean of per-seed differences, SE = sd/√n', () => {
    // A shared seed effect (+10 on seed 1) cancels when paired.
    const c = compareSeeds({ 0: 51, 1: 61, 2: 52 }, { 0: 50, 1: 60, 2: 50 });
    assert.equal(c.method, 'paired');
    assert.equal(c.n, 3);
    close(c.delta, 4 / 3);
    close(c.se, sampleStd([1, 1, 2])! / Math.sqrt(3));
    close(c.sd, sampleStd([1, 1, 2])!);
    assert.equal(c.df, 2);
  });

  it('pairs only the seeds finished in both', () => {
    const c = compareSeeds({ 0: 51, 1: 61 }, { 0: 50, 1: 60, 2: 99 });
    assert.equal(c.method, 'paired');
    assert.equal(c.n, 2);
    close(c.delta, 1);
    close(c.se, 0);
  });

  it('falls back to Welch when seeds do not overlap, and to no SE below two seeds', () => {
    const w = compareSeeds({ 0: 1, 1: 3 }, { 5: 0, 6: 2, 7: 4 });
    assert.equal(w.method, 'unpaired');
    close(w.delta, 0);
    close(w.se, Math.sqrt(2 / 2 + 4 / 3));
    // σ of one difference √(s₁² + s₂²); Welch–Satterthwaite ν = (q₁ + q₂)² / (q₁²/(n₁−1) + q₂²/(n₂−1)).
    close(w.sd, Math.sqrt(2 + 4));
    close(w.df, (1 + 4 / 3) ** 2 / (1 / 1 + (4 / 3) ** 2 / 2));
    const one = compareSeeds({ 0: 5 }, { 0: 4 });
    assert.deepEqual([one.method, one.delta, one.se, one.n], ['paired', 1, null, 1]);
    assert.deepEqual(compareSeeds({}, { 0: 1 }), { delta: null, se: null, sd: null, df: null, n: 0, method: 'none' });
  });

  it('verdict: sign and more than 2 SE', () => {
    assert.equal(verdict(1, 0.9, 0.3), 'reproduced');
    assert.equal(verdict(1, 0.6, 0.3), 'not significant');
    assert.equal(verdict(1, -0.9, 0.3), 'contradicted');
    assert.equal(verdict(-1, -0.9, 0.3), 'reproduced');
    assert.equal(verdict(1, 0.9, null), 'not significant');
    assert.equal(verdict(1, 0, 0), 'not significant');
    assert.equal(verdict(1, null, null), 'no data');
  });
});

it('median: the middle value, or the mean of the middle two, whatever the order', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  const xs = [3, 1, 2];
  median(xs);
  assert.deepEqual(xs, [3, 1, 2], 'the input is not sorted in place');
});
