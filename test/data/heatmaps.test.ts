import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataError } from '../../src/errors.ts';
import { decodeHeatmaps, encodeHeatmaps, heatmapToInput, inputToHeatmap } from '../../src/data/heatmaps.ts';

const G = { inputSize: 64, heatmapSize: 16 };
const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** A [1, S, S, J] map set with given (x, y, value) entries for joint j. */
function maps(S: number, J: number, entries: Array<[number, number, number, number]>): Float32Array {
  const m = new Float32Array(S * S * J);
  for (const [j, x, y, v] of entries) m[(y * S + x) * J + j] = v;
  return m;
}

describe('heatmap geometry', () => {
  it('maps cell centres to the centres of the input pixels they cover', () => {
    // Cell 0 covers input pixels 0..3, centre 1.5; cell 15 covers 60..63, centre 61.5.
    assert.equal(heatmapToInput(0, G), 1.5);
    assert.equal(heatmapToInput(15, G), 61.5);
    assert.equal(inputToHeatmap(1.5, G), 0);
    assert.equal(inputToHeatmap(61.5, G), 15);
    assert.equal(inputToHeatmap(-0.5, G), -0.5); // the image's outer edge is the grid's outer edge
    assert.equal(inputToHeatmap(63.5, G), 15.5);
    close(heatmapToInput(inputToHeatmap(17.3, G), G), 17.3, 1e-12);
  });
});

describe('encodeHeatmaps', () => {
  it('puts an amplitude-1 Gaussian on the joint (hand-computed values)', () => {
    // Joint at input (13.5, 21.5) = cell (3, 5) exactly.
    const hm = encodeHeatmaps(new Float32Array([13.5, 21.5]), new Float32Array([1]), { ...G, sigma: 1, numJoints: 1 });
    assert.equal(hm.length, 256);
    const at = (x: number, y: number) => hm[y * 16 + x]!;
    close(at(3, 5), 1);
    close(at(4, 5), Math.exp(-0.5));
    close(at(3, 3), Math.exp(-2));
    close(at(4, 6), Math.exp(-1));
    close(at(0, 0), Math.exp(-(9 + 25) / 2));
  });

  it('keeps the sub-cell centre (no rounding) unless snap is set', () => {
    // Input x 15.5 → cell 3.5: cells 3 and 4 tie at exp(−1/8).
    const hm = encodeHeatmaps(new Float32Array([15.5, 21.5]), new Float32Array([1]), { ...G, sigma: 1, numJoints: 1 });
    close(hm[5 * 16 + 3]!, Math.exp(-0.125));
    close(hm[5 * 16 + 4]!, Math.exp(-0.125));
    // σ = 2 scales the exponent by 1/4.
    const wide = encodeHeatmaps(new Float32Array([13.5, 21.5]), new Float32Array([1]), { ...G, sigma: 2, numJoints: 1 });
    close(wide[5 * 16 + 5]!, Math.exp(-4 / 8));
    // Snap: 14.5 → cell 3.25 → rounded to 3, so cell 3 peaks at exactly 1.
    const snapped = encodeHeatmaps(new Float32Array([14.5, 21.5]), new Float32Array([1]), { ...G, sigma: 1, numJoints: 1, snap: true });
    assert.equal(snapped[5 * 16 + 3], 1);
  });

  it('writes the [B, S, S, J] layout and leaves weight-0 joints empty', () => {
    const joints = new Float32Array([13.5, 21.5, 1.5, 1.5, /* sample 2 */ 61.5, 61.5, 5.5, 9.5]);
    const weights = new Float32Array([1, 0, 1, 1]);
    const hm = encodeHeatmaps(joints, weights, { ...G, sigma: 1, numJoints: 2 });
    assert.equal(hm.length, 2 * 16 * 16 * 2);
    const at = (b: number, j: number, x: number, y: number) => hm[b * 512 + (y * 16 + x) * 2 + j]!;
    close(at(0, 0, 3, 5), 1);
    assert.ok(hm.filter((_, i) => i < 512 && i % 2 === 1).every((v) => v === 0), 'weight-0 joint has an empty map');
    close(at(1, 0, 15, 15), 1);
    close(at(1, 1, 1, 2), 1);
  });

  it('fills a caller-provided buffer and rejects mismatched sizes', () => {
    const out = new Float32Array(256).fill(9);
    const r = encodeHeatmaps(new Float32Array([13.5, 21.5]), new Float32Array([0]), { ...G, sigma: 1, numJoints: 1 }, out);
    assert.equal(r, out);
    assert.ok(out.every((v) => v === 0));
    assert.throws(() => encodeHeatmaps(new Float32Array(3), new Float32Array(1), { ...G, sigma: 1, numJoints: 1 }), DataError);
    assert.throws(() => encodeHeatmaps(new Float32Array(2), new Float32Array(1), { ...G, sigma: 1, numJoints: 1 }, new Float32Array(5)), DataError);
    assert.throws(() => encodeHeatmaps(new Float32Array(2), new Float32Array(1), { ...G, sigma: 0, numJoints: 1 }), DataError);
  });
});

describe('decodeHeatmaps', () => {
  it('takes the argmax cell and maps it to input pixels', () => {
    // Peak at (3, 5), neighbours equal: no shift → (13.5, 21.5).
    const j = decodeHeatmaps(maps(16, 1, [[0, 3, 5, 1]]), { ...G, numJoints: 1 });
    assert.deepEqual([...j], [13.5, 21.5]);
  });

  it('shifts a quarter cell toward the larger neighbour in x and in y', () => {
    // Right neighbour larger (+0.25 cell in x), upper neighbour larger (−0.25 cell in y).
    const hm = maps(16, 1, [[0, 3, 5, 1], [0, 4, 5, 0.6], [0, 2, 5, 0.2], [0, 3, 4, 0.5], [0, 3, 6, 0.1]]);
    const j = decodeHeatmaps(hm, { ...G, numJoints: 1 });
    // x: (3.25 + 0.5)·4 − 0.5 = 14.5; y: (4.75 + 0.5)·4 − 0.5 = 20.5.
    assert.deepEqual([...j], [14.5, 20.5]);
  });

  it('does not shift at the border, where one neighbour is missing', () => {
    const hm = maps(16, 2, [[0, 0, 15, 1], [0, 1, 15, 0.9], [0, 0, 14, 0.9], [1, 15, 0, 1], [1, 14, 0, 0.9], [1, 15, 1, 0.9]]);
    const j = decodeHeatmaps(hm, { ...G, numJoints: 2 });
    assert.deepEqual([...j], [1.5, 61.5, 61.5, 1.5]);
  });

  it('maps through each sample\'s toOriginal affine', () => {
    const hm = new Float32Array(2 * 256);
    hm[5 * 16 + 3] = 1; // sample 0: (13.5, 21.5)
    hm[256 + 0] = 1; // sample 1: (1.5, 1.5)
    const toOriginal = new Float32Array([2, 0, 10, 0, 2, -5, /* rotation by 90° plus offset */ 0, -1, 100, 1, 0, 50]);
    const j = decodeHeatmaps(hm, { ...G, numJoints: 1, toOriginal });
    assert.deepEqual([...j], [2 * 13.5 + 10, 2 * 21.5 - 5, -1.5 + 100, 1.5 + 50]);
  });

  it('reports map maxima as scores and takes the first of tied maxima', () => {
    const scores = new Float32Array(1);
    const hm = maps(16, 1, [[0, 7, 2, 0.5], [0, 2, 9, 0.5]]);
    const j = decodeHeatmaps(hm, { ...G, numJoints: 1, scores });
    assert.deepEqual([...j], [29.5, 9.5]); // (7, 2) comes first in row-major order
    close(scores[0]!, 0.5);
  });

  it('recovers encoded joints within a quarter cell (round trip)', () => {
    const joints = new Float32Array(16 * 2);
    for (let j = 0; j < 16; j++) {
      joints[2 * j] = 4 + j * 3.43;
      joints[2 * j + 1] = 58 - j * 2.71;
    }
    const hm = encodeHeatmaps(joints, new Float32Array(16).fill(1), { ...G, sigma: 1 });
    const back = decodeHeatmaps(hm, G);
    for (let i = 0; i < 32; i++) assert.ok(Math.abs(back[i]! - joints[i]!) <= 1 + 1e-6, `value ${i}: ${back[i]} vs ${joints[i]}`);
  });

  it('rejects inputs whose sizes do not fit', () => {
    assert.throws(() => decodeHeatmaps(new Float32Array(100), G), DataError);
    assert.throws(() => decodeHeatmaps(new Float32Array(256), { ...G, numJoints: 1, toOriginal: new Float32Array(5) }), DataError);
  });
});
