// Geometry of the crop helpers (src/data/image-io.ts) that the mpii loader relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { applyAffine, composeAffine, cropToOutput, invertAffine, warpCrop, bilinear, type Affine } from '../../src/data/image-io.ts';

const close = (a: number[], b: number[], eps = 1e-9) => a.every((v, i) => Math.abs(v - b[i]) < eps);

test('affine compose and invert', () => {
  const m: Affine = [2, 0.5, 3, -1, 1.5, 4];
  const inv = invertAffine(m);
  assert.ok(close(composeAffine(m, inv), [1, 0, 0, 0, 1, 0]));
  const [x, y] = applyAffine(m, 5, 7);
  assert.ok(close(applyAffine(inv, x, y), [5, 7]));
  assert.throws(() => invertAffine([1, 2, 0, 2, 4, 0]), RangeError);
});

test('crop: the 200·scale box around the centre fills the output; rotation and mirror', () => {
  const m = cropToOutput({ center: [100, 50], scale: 0.5, size: 64 }); // box 100 px → 64 px
  assert.ok(close(applyAffine(m, 100, 50), [32, 32]));
  assert.ok(close(applyAffine(m, 50, 0), [0, 0]));
  assert.ok(close(applyAffine(m, 150, 100), [64, 64]));
  const r = cropToOutput({ center: [100, 50], scale: 0.5, size: 64, rotation: 90 });
  assert.ok(close(applyAffine(r, 100, 50), [32, 32]));
  // +90°: content turns counter-clockwise, so a point right of the centre moves up.
  assert.ok(close(applyAffine(r, 150, 50), [32, 0]));
  const f = cropToOutput({ center: [100, 50], scale: 0.5, size: 64, flip: true });
  const [x] = applyAffine(f, 50, 0);
  assert.ok(close([x], [63])); // x → size − 1 − x
});

test('bilinear sampling: exact on pixel centres, blends in between, black outside', () => {
  const src = { data: Uint8Array.from([0, 0, 0, 100, 100, 100, 200, 200, 200, 50, 50, 50]), width: 2, height: 2, channels: 3 as const };
  const out = new Float32Array(3 * 3 * 3);
  bilinear(src, [0.5, 0, 0, 0, 0.5, 0], 3, 3, out); // output (x, y) samples source (x/2, y/2)
  const px = (x: number, y: number) => out[(y * 3 + x) * 3];
  assert.equal(px(0, 0), 0);
  assert.equal(px(2, 0), 100);
  assert.equal(px(1, 0), 50);
  assert.equal(px(1, 1), (0 + 100 + 200 + 50) / 4);
  assert.equal(px(2, 2), 50);
  const outside = new Float32Array(3);
  bilinear(src, [1, 0, 5, 0, 1, 5], 1, 1, outside);
  assert.deepEqual(Array.from(outside), [0, 0, 0]);
});

test('warpCrop samples the original where toOriginal points, also after shrink-on-load', async () => {
  // Red = x, green = 2y: every sample reveals the original coordinate it came from.
  const W = 160, H = 120, raw = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) raw.set([x, 2 * y, 0], (y * W + x) * 3);
  const png = await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
  for (const [scale, size, tol] of [[0.5, 64, 0.01], [0.5, 16, 1.5], [0.3, 64, 0.01]] as const) {
    const toOriginal = invertAffine(cropToOutput({ center: [80, 60], scale, size, rotation: 20 }));
    const out = new Float32Array(size * size * 3);
    const dims = await warpCrop(png, toOriginal, size, size, { out, offset: 0 });
    assert.deepEqual(dims, { width: W, height: H });
    let worst = 0, n = 0;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const [X, Y] = applyAffine(toOriginal, x, y);
        if (X < 4 || Y < 4 || X > W - 5 || Y > H - 5) continue;
        n++;
        worst = Math.max(worst, Math.abs(out[(y * size + x) * 3] * 255 - X), Math.abs(out[(y * size + x) * 3 + 1] * 255 - 2 * Y) / 2);
      }
    }
    assert.ok(n > size * size * 0.3 && worst < tol, `scale ${scale}, ${size}px: ${worst.toFixed(3)} px off over ${n} pixels`);
  }
});
