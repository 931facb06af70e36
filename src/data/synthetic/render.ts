/**
 * Renders one synthetic pose sample: cluttered background, distractor limbs (and sometimes a
 * second, unlabelled figure), the labelled figure, occluders and sensor noise — then derives the
 * labels (joints, visibility, weights, head box) from what was actually drawn.
 *
 * Left/right cue: the figure's right limbs are reddish and its left limbs bluish (lower segments
 * darker than upper ones); torso and head take neutral colours. Distractors use the same reddish
 * and bluish palettes, so colour alone does not find the joints: the network must use shape.
 *
 * Visibility: every figure part writes its id into an owner map; a joint is visible when the
 * pixel under it belongs to a part that meets at that joint. So joints hidden by occluders or by
 * the figure's own limbs/torso are flagged invisible (visible = 0) but keep weight 1 — their true
 * position is known, and learning to infer hidden joints is what MPII training does too. Joints
 * off the image get visible = 0 and weight 0 (MPII leaves them unannotated).
 */
import { addValueNoise, fillBox, fillCapsule, fillEllipse, fillGradient } from '../draw.ts';
import type { Canvas, Owner, Rgb } from '../draw.ts';
import type { Rng } from '../random.ts';
import { pcos, psin } from './portable-math.ts';
import { headBox, J, sampleFigure } from './skeleton.ts';
import type { Figure } from './skeleton.ts';

/** Where one rendered sample's labels go: flat batch arrays and the sample's index in them. */
export interface SampleSlot {
  images: Float32Array;
  joints: Float32Array;
  visible: Uint8Array;
  weights: Float32Array;
  headBoxes: Float32Array;
  index: number;
}

// Owner-map part ids of the labelled figure; 0 = anything else (background, distractors).
const P = { rShin: 1, rThigh: 2, lThigh: 3, lShin: 4, torso: 5, neck: 6, head: 7, rFore: 8, rUpper: 9, lUpper: 10, lFore: 11 } as const;
const OCCLUDER = 255;

/** For each joint, the bit mask of parts that meet there (its pixel may belong to any of them). */
const JOINT_PARTS: readonly number[] = (() => {
  const m = (...ids: number[]) => ids.reduce((acc, id) => acc | (1 << id), 0);
  const t = new Array<number>(16);
  t[J.rAnkle] = m(P.rShin); t[J.rKnee] = m(P.rShin, P.rThigh); t[J.rHip] = m(P.rThigh, P.torso);
  t[J.lHip] = m(P.lThigh, P.torso); t[J.lKnee] = m(P.lThigh, P.lShin); t[J.lAnkle] = m(P.lShin);
  t[J.pelvis] = m(P.torso, P.rThigh, P.lThigh); t[J.thorax] = m(P.torso, P.neck, P.rUpper, P.lUpper);
  t[J.neck] = m(P.neck, P.head, P.torso); t[J.headTop] = m(P.head);
  t[J.rWrist] = m(P.rFore); t[J.rElbow] = m(P.rFore, P.rUpper); t[J.rShoulder] = m(P.rUpper, P.torso);
  t[J.lShoulder] = m(P.lUpper, P.torso); t[J.lElbow] = m(P.lUpper, P.lFore); t[J.lWrist] = m(P.lFore);
  return t;
})();

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const reddish = (rng: Rng): Rgb => [rng.uniform(0.62, 1), rng.uniform(0, 0.35), rng.uniform(0, 0.3)];
const bluish = (rng: Rng): Rgb => [rng.uniform(0, 0.3), rng.uniform(0.1, 0.45), rng.uniform(0.62, 1)];
const randomRgb = (rng: Rng): Rgb => [rng.float(), rng.float(), rng.float()];
const shade = (c: Rgb, k: number): Rgb => [c[0] * k, c[1] * k, c[2] * k];
/** Greys, greens, yellows, browns: colours that say neither "right" nor "left". */
function neutral(rng: Rng): Rgb {
  const g = rng.uniform(0.2, 0.9);
  return [clamp01(g * rng.uniform(0.75, 1.1)), clamp01(g * rng.uniform(0.9, 1.2)), clamp01(g * rng.uniform(0.45, 0.9))];
}

/** Draws a figure; with `owner`, records its part ids for the visibility test. */
function drawFigure(c: Canvas, rng: Rng, f: Figure, owner: Uint8Array | null): void {
  const p = f.joints;
  const T = f.torso;
  const thick = rng.uniform(0.8, 1.25);
  const right = reddish(rng);
  const left = bluish(rng);
  const lower = rng.uniform(0.6, 0.85);
  const torsoRgb = neutral(rng);
  const skin: Rgb = [rng.uniform(0.5, 0.95), rng.uniform(0.35, 0.75), rng.uniform(0.25, 0.6)];
  const own = (id: number): Owner | undefined => (owner ? { buf: owner, id } : undefined);
  const seg = (a: number, b: number, r: number, rgb: Rgb, id: number) =>
    fillCapsule(c, p[2 * a]!, p[2 * a + 1]!, p[2 * b]!, p[2 * b + 1]!, Math.max(0.75, r * T * thick), rgb, 1, own(id));

  const rightSide = () => {
    seg(J.rHip, J.rKnee, 0.14, right, P.rThigh);
    seg(J.rKnee, J.rAnkle, 0.11, shade(right, lower), P.rShin);
    seg(J.rShoulder, J.rElbow, 0.1, right, P.rUpper);
    seg(J.rElbow, J.rWrist, 0.085, shade(right, lower), P.rFore);
  };
  const leftSide = () => {
    seg(J.lHip, J.lKnee, 0.14, left, P.lThigh);
    seg(J.lKnee, J.lAnkle, 0.11, shade(left, lower), P.lShin);
    seg(J.lShoulder, J.lElbow, 0.1, left, P.lUpper);
    seg(J.lElbow, J.lWrist, 0.085, shade(left, lower), P.lFore);
  };
  const trunk = () => {
    // A torso blob from four capsules: sides, centre line (wider when seen from the front), and
    // the shoulder and hip lines; then neck and head.
    const w = Math.abs(f.yaw);
    seg(J.pelvis, J.thorax, 0.12 + 0.14 * w, torsoRgb, P.torso);
    seg(J.rShoulder, J.rHip, 0.1, torsoRgb, P.torso);
    seg(J.lShoulder, J.lHip, 0.1, torsoRgb, P.torso);
    seg(J.rShoulder, J.lShoulder, 0.1, torsoRgb, P.torso);
    seg(J.rHip, J.lHip, 0.11, torsoRgb, P.torso);
    seg(J.thorax, J.neck, 0.07, skin, P.neck);
    const h = f.head;
    fillEllipse(c, h.cx, h.cy, h.along, h.across, h.cos, h.sin, skin, 1, own(P.head));
  };
  // The side drawn first ends up behind the torso: either may be the far side.
  if (rng.bool()) {
    rightSide();
    trunk();
    leftSide();
  } else {
    leftSide();
    trunk();
    rightSide();
  }
}

/** Loose limb-like segments (chains of 1–3 capsules) in limb colours, anywhere in the image. */
function drawDistractors(c: Canvas, rng: Rng, T: number, count: number): void {
  for (let k = 0; k < count; k++) {
    const u = rng.float();
    const rgb = u < 0.35 ? reddish(rng) : u < 0.7 ? bluish(rng) : randomRgb(rng);
    let x = rng.uniform(0, c.width - 1);
    let y = rng.uniform(0, c.height - 1);
    let a = rng.uniform(-Math.PI, Math.PI);
    const r = Math.max(0.6, rng.uniform(0.07, 0.15) * T);
    const segments = rng.intIn(1, 3);
    for (let s = 0; s < segments; s++) {
      const len = rng.uniform(0.4, 0.9) * T;
      const nx = x + len * pcos(a);
      const ny = y + len * psin(a);
      fillCapsule(c, x, y, nx, ny, r, s === 0 ? rgb : shade(rgb, 0.75));
      x = nx;
      y = ny;
      a += rng.sign() * rng.uniform(0, 2.4);
    }
  }
}

/** Random blobs and bars: generic background clutter. */
function drawClutter(c: Canvas, rng: Rng, count: number): void {
  const size = c.width;
  for (let k = 0; k < count; k++) {
    const cx = rng.uniform(0, size), cy = rng.uniform(0, size);
    const a = rng.uniform(0, Math.PI);
    const hx = rng.uniform(0.04, 0.3) * size, hy = rng.uniform(0.04, 0.3) * size;
    const alpha = rng.uniform(0.3, 1);
    if (rng.bool()) fillEllipse(c, cx, cy, hx, hy, pcos(a), psin(a), randomRgb(rng), alpha);
    else fillBox(c, cx, cy, hx, hy, pcos(a), psin(a), randomRgb(rng), alpha);
  }
}

/** Opaque shapes in front of the figure, placed near one of its joints so they do hide some. */
function drawOccluders(c: Canvas, rng: Rng, f: Figure, owner: Uint8Array, count: number): void {
  const size = c.width;
  for (let k = 0; k < count; k++) {
    const j = rng.int(16);
    const cx = f.joints[2 * j]! + rng.uniform(-0.08, 0.08) * size;
    const cy = f.joints[2 * j + 1]! + rng.uniform(-0.08, 0.08) * size;
    const hx = rng.uniform(0.05, 0.13) * size, hy = rng.uniform(0.05, 0.13) * size;
    const a = rng.uniform(0, Math.PI);
    const rgb = rng.bool(0.3) ? neutral(rng) : randomRgb(rng);
    const own = { buf: owner, id: OCCLUDER };
    if (rng.bool()) fillBox(c, cx, cy, hx, hy, pcos(a), psin(a), rgb, 1, own);
    else fillEllipse(c, cx, cy, hx, hy, pcos(a), psin(a), rgb, 1, own);
  }
}

/**
 * Whether the pixel under (x, y) belongs to one of the parts in `mask`. A joint on a shape's very
 * tip (head top, wrist) may fall on a pixel its part only half covers (owner 0): then the 2×2
 * pixels around it decide, so tips are not mistaken for hidden joints.
 */
function jointVisible(owner: Uint8Array, size: number, x: number, y: number, mask: number): boolean {
  const id = owner[Math.round(y) * size + Math.round(x)]!;
  if (id === OCCLUDER) return false;
  if (id !== 0) return ((mask >> id) & 1) === 1;
  const x0 = Math.max(0, Math.floor(x)), x1 = Math.min(size - 1, x0 + 1);
  const y0 = Math.max(0, Math.floor(y)), y1 = Math.min(size - 1, y0 + 1);
  for (const yy of [y0, y1]) {
    for (const xx of [x0, x1]) {
      const n = owner[yy * size + xx]!;
      if (n !== 0 && n !== OCCLUDER && ((mask >> n) & 1) === 1) return true;
    }
  }
  return false;
}

/**
 * Sensor noise, a global colour cast and contrast change, clamping to [0, 1] and centring
 * (input = pixel − 0.5), fused into one pass over the image because it is the generator's
 * hottest loop. Noise: one 32-bit draw per pixel feeds all three channels (10 bits each).
 */
function finishImage(c: Canvas, rng: Rng): void {
  const amp = rng.uniform(0, 0.07);
  const k = (2 * amp) / 1023;
  const contrast = rng.uniform(0.75, 1.15);
  const g0 = rng.uniform(0.85, 1.15) * contrast;
  const g1 = rng.uniform(0.85, 1.15) * contrast;
  const g2 = rng.uniform(0.85, 1.15) * contrast;
  // Contrast pivots around mid-grey; the −0.5 of the normalisation is folded into the bias.
  const bias = rng.uniform(-0.08, 0.08) + 0.5 * (1 - contrast);
  const lo = -0.5, hi = 0.5;
  const b0 = bias - amp * g0 - 0.5, b1 = bias - amp * g1 - 0.5, b2 = bias - amp * g2 - 0.5;
  const d = c.data;
  for (let p = c.offset, end = c.offset + c.width * c.height * 3; p < end; p += 3) {
    const u = rng.u32();
    const v0 = (d[p]! + (u & 1023) * k) * g0 + b0;
    const v1 = (d[p + 1]! + ((u >>> 10) & 1023) * k) * g1 + b1;
    const v2 = (d[p + 2]! + ((u >>> 20) & 1023) * k) * g2 + b2;
    d[p] = v0 < lo ? lo : v0 > hi ? hi : v0;
    d[p + 1] = v1 < lo ? lo : v1 > hi ? hi : v1;
    d[p + 2] = v2 < lo ? lo : v2 > hi ? hi : v2;
  }
}

/**
 * Renders sample `slot.index` (size × size) from `rng`. Images are written as RGB in [0, 1]
 * minus 0.5, i.e. in [−0.5, 0.5]; joints and head boxes are in input pixels (the synthetic
 * "original image" is the network input: toOriginal is the identity).
 */
export function renderSample(rng: Rng, size: number, slot: SampleSlot, owner: Uint8Array): void {
  const b = slot.index;
  const c: Canvas = { data: slot.images, offset: b * size * size * 3, width: size, height: size };
  owner.fill(0);

  // Background: gradient, blotchy value noise, clutter shapes.
  const ga = rng.uniform(-Math.PI, Math.PI);
  fillGradient(c, pcos(ga), psin(ga), randomRgb(rng), randomRgb(rng));
  addValueNoise(c, rng, rng.intIn(2, 8), rng.uniform(0.05, 0.3));
  drawClutter(c, rng, rng.intIn(0, 4));

  // The labelled figure, centred near the middle as in MPII's person-centred crops, whose side is
  // 1.25 × the person's 200·scale height: a standing figure fills about 0.8 of the side.
  const figure = sampleFigure(rng, {
    size,
    heightFrac: [0.6, 0.95],
    centerX: size * (0.5 + rng.uniform(-0.12, 0.12)),
    centerY: size * (0.5 + rng.uniform(-0.12, 0.12)),
    maxRotation: 0.6,
  });
  drawDistractors(c, rng, figure.torso, rng.intIn(1, 5));
  if (rng.bool(0.2)) {
    // A second, unlabelled person beside the first (MPII crops often contain one), partly out.
    const side = rng.sign();
    const other = sampleFigure(rng, {
      size,
      heightFrac: [0.5, 0.9],
      centerX: size * (0.5 + side * rng.uniform(0.55, 0.8)),
      centerY: size * (0.5 + rng.uniform(-0.2, 0.2)),
      maxRotation: 0.6,
    });
    drawFigure(c, rng, other, null);
  }
  drawFigure(c, rng, figure, owner);
  if (rng.bool(0.4)) drawOccluders(c, rng, figure, owner, rng.intIn(1, 2));
  finishImage(c, rng);

  // Labels from what was drawn.
  for (let j = 0; j < 16; j++) {
    const x = figure.joints[2 * j]!;
    const y = figure.joints[2 * j + 1]!;
    const q = b * 16 + j;
    slot.joints[2 * q] = x;
    slot.joints[2 * q + 1] = y;
    const inside = x >= -0.5 && x < size - 0.5 && y >= -0.5 && y < size - 0.5;
    if (!inside) {
      slot.visible[q] = 0;
      slot.weights[q] = 0;
      continue;
    }
    slot.visible[q] = jointVisible(owner, size, x, y, JOINT_PARTS[j]!) ? 1 : 0;
    slot.weights[q] = 1;
  }
  headBox(figure, slot.headBoxes, b * 4);
}
