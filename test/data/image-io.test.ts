import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bilinear, bilinearNormalized, normalizeInto, type Affine, type RawImage } from '../../src/data/image-io.ts';
import { Rng } from '../../src/data/random.ts';

test('bilinearNormalized equals bilinear then normalizeInto (rotations, borders, outside, gain clamp)', () => {
  const rng = new Rng(3);
  const W = 23, H = 17;
  const src: RawImage = { data: Uint8Array.from({ length: W * H * 3 }, () => rng.intIn(0, 255)), width: W, height: H, channels: 3 };
  const target = { mean: [0.4, 0.5, 0.6], std: [0.2, 0.3, 0.25], gain: [1.2, 0.8, 1.0] };
  for (const t of [0, 0.3, -1.1, 2.5]) {
    const k = 0.7;
    const toSrc: Affine = [Math.cos(t) * k, -Math.sin(t) * k, 3.3, Math.sin(t) * k, Math.cos(t) * k, -2.1];
    const S = 32;
    const region = new Float32Array(S * S * 3);
    bilinear(src, toSrc, S, S, region);
    const want = new Float32Array(S * S * 3 + 6), got = new Float32Array(S * S * 3 + 6);
    normalizeInto(region, S * S, { out: want, offset: 6, ...target });
    bilinearNormalized(src, toSrc, S, S, { out: got, offset: 6, ...target });
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(want[i]! - got[i]!) < 1e-5, `angle ${t} value ${i}: ${got[i]} vs ${want[i]}`);
    // Some output pixels fall outside the source (black), some inside.
    assert.ok(region.some((v) => v === 0) && region.some((v) => v > 0));
  }
});
