/**
 * The CIFAR augmentation (He et al. 2016, §4.2; the CIFAR literature since): zero-pad an image by
 * `padding` pixels on each side, take a random crop of the original size, flip it horizontally
 * with probability 0.5. Padding is black before normalisation (pixel 0), as torchvision's
 * `RandomCrop(32, padding=4)` on a PIL image. Works on decoded bytes, so a cached set does no
 * image decoding.
 */
import type { WarpTarget } from './image-io.ts';
import type { Rng } from './random.ts';

/**
 * Writes the (augmented) S×S×C image `src` (bytes, HWC) into `target.out` at `target.offset`,
 * normalised per channel: out = (v/255 − mean) / std. Without `rng` (or with padding 0 and no
 * rng) the image is copied unchanged.
 */
export function padCropInto(src: ArrayLike<number>, S: number, C: number, padding: number, rng: Rng | null, target: WarpTarget): void {
  const dx = rng && padding > 0 ? rng.intIn(0, 2 * padding) - padding : 0;
  const dy = rng && padding > 0 ? rng.intIn(0, 2 * padding) - padding : 0;
  const flip = rng ? rng.bool(0.5) : false;
  const mean = target.mean ?? new Array(C).fill(0), std = target.std ?? new Array(C).fill(1);
  const scale = Array.from({ length: C }, (_, c) => 1 / (255 * std[c]!)), shift = Array.from({ length: C }, (_, c) => -mean[c]! / std[c]!);
  for (let y = 0, o = target.offset; y < S; y++) {
    const sy = y + dy;
    for (let x = 0; x < S; x++, o += C) {
      const sx = (flip ? S - 1 - x : x) + dx;
      const inside = sx >= 0 && sy >= 0 && sx < S && sy < S;
      const p = (sy * S + sx) * C;
      for (let c = 0; c < C; c++) target.out[o + c] = (inside ? src[p + c]! : 0) * scale[c]! + shift[c]!;
    }
  }
}
