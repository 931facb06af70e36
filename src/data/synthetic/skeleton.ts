/**
 * Random but plausible 2-D human poses with MPII's 16 joints in MPII's order.
 *
 * A figure is built in "torso units" (T = pelvis→thorax length) as a kinematic chain with
 * joint-angle limits loosely following human ranges of motion, projected to 2-D:
 *  - torso lean ±20° from upright, neck and head each bend ±~20° relative to their parent;
 *  - a body "yaw" w ∈ [−1, 1] scales shoulder and hip widths (|w| small = profile view) and its
 *    sign says whether the figure faces the camera (w > 0: its right side is on the image's left)
 *    or turns its back — so left/right cannot be read from image position alone;
 *  - shoulders: upper arm −35°…170° from hanging down, rotated outward; elbows flex 0…145°;
 *  - hips: thigh −20°…70° outward, mostly small; knees flex 0…130°, mostly small;
 *  - each segment may be foreshortened (3-D projection) and all lengths jitter ±10 %.
 * The figure is then scaled, rotated as a whole and translated (a similarity transform).
 * Angles go through portable psin/pcos so the result is identical on every platform.
 */
import type { Rng } from '../random.ts';
import { pcos, psin } from './portable-math.ts';

const DEG = Math.PI / 180;

/** Joint ids (MPII order), named for readability. */
export const J = {
  rAnkle: 0, rKnee: 1, rHip: 2, lHip: 3, lKnee: 4, lAnkle: 5, pelvis: 6, thorax: 7,
  neck: 8, headTop: 9, rWrist: 10, rElbow: 11, rShoulder: 12, lShoulder: 13, lElbow: 14, lWrist: 15,
} as const;

/** Standing height (head top to ankle) in torso units, used to size figures to the image. */
export const STANDING_HEIGHT = 1 + 0.22 + 0.48 + 0.85 + 0.8;

export interface Figure {
  /** [16 × 2] joint (x, y) in image pixels. */
  joints: Float64Array;
  /** Torso length in pixels: the unit for limb thickness. */
  torso: number;
  /** Signed body yaw, see the module comment. */
  yaw: number;
  /** The head ellipse: centre, semi-axes along and across the neck→top segment, its direction. */
  head: { cx: number; cy: number; along: number; across: number; cos: number; sin: number };
}

export interface FigurePlacement {
  /** Image side in pixels. */
  size: number;
  /** Standing height as a fraction of the image side, drawn uniformly from this range. */
  heightFrac: readonly [number, number];
  /** Where the figure's joint bounding-box centre goes (pixels). */
  centerX: number;
  centerY: number;
  /** Whole-figure rotation range in radians (uniform in ±maxRotation), plus rare large turns. */
  maxRotation: number;
}

/** Forward kinematics in torso units; writes joints into `p` (x, y) with y pointing down. */
function pose(rng: Rng, p: Float64Array): { yaw: number; headLen: number } {
  const set = (j: number, x: number, y: number) => {
    p[2 * j] = x;
    p[2 * j + 1] = y;
  };
  const jit = () => rng.uniform(0.9, 1.1);
  // Foreshortening: a third of segments point partly toward the camera.
  const fore = () => (rng.bool(0.3) ? rng.uniform(0.55, 1) : 1);
  const from = (j: number, angle: number, len: number, to: number) => {
    set(to, p[2 * j]! + len * pcos(angle), p[2 * j + 1]! + len * psin(angle));
  };

  const up = -Math.PI / 2;
  const torsoA = up + rng.tri(-20, 20) * DEG;
  set(J.pelvis, 0, 0);
  from(J.pelvis, torsoA, 1, J.thorax);
  const neckA = torsoA + rng.uniform(-20, 20) * DEG;
  from(J.thorax, neckA, 0.22 * jit(), J.neck);
  const headLen = 0.48 * jit();
  from(J.neck, neckA + rng.uniform(-25, 25) * DEG, headLen, J.headTop);

  // |yaw| ≥ 0.15 keeps a sliver of width even in profile; sign = facing the camera or not.
  const yaw = rng.sign() * rng.uniform(0.15, 1);
  const perpX = pcos(torsoA + Math.PI / 2);
  const perpY = psin(torsoA + Math.PI / 2);
  // Facing the camera (yaw > 0), the person's right side appears on the image's left (−perp).
  const shoulderHalf = 0.36 * yaw * jit();
  const hipHalf = 0.2 * yaw * jit();
  const th = 2 * J.thorax;
  set(J.rShoulder, p[th]! - shoulderHalf * perpX, p[th + 1]! - shoulderHalf * perpY);
  set(J.lShoulder, p[th]! + shoulderHalf * perpX, p[th + 1]! + shoulderHalf * perpY);
  set(J.rHip, -hipHalf * perpX, -hipHalf * perpY);
  set(J.lHip, hipHalf * perpX, hipHalf * perpY);

  const down = torsoA + Math.PI;
  for (const side of [-1, 1]) {
    // `out` = rotation sense that swings a limb from hanging down toward its own side.
    const out = side * Math.sign(yaw) * -1;
    const [sh, el, wr, hp, kn, an] = side < 0
      ? [J.rShoulder, J.rElbow, J.rWrist, J.rHip, J.rKnee, J.rAnkle]
      : [J.lShoulder, J.lElbow, J.lWrist, J.lHip, J.lKnee, J.lAnkle];
    const armA = down + out * rng.uniform(-35, 170) * DEG;
    from(sh, armA, 0.62 * jit() * fore(), el);
    from(el, armA + rng.sign() * rng.uniform(0, 145) * DEG, 0.58 * jit() * fore(), wr);
    // Squaring a uniform biases legs toward small angles: most people in MPII stand or walk.
    const u = rng.float();
    const thighA = down + out * (-20 + 90 * u * u) * DEG;
    from(hp, thighA, 0.85 * jit() * fore(), kn);
    const v = rng.float();
    from(kn, thighA + rng.sign() * 130 * v * v * DEG, 0.8 * jit() * fore(), an);
  }
  return { yaw, headLen };
}

/** A random figure placed in the image by a random similarity transform. */
export function sampleFigure(rng: Rng, place: FigurePlacement): Figure {
  const p = new Float64Array(32);
  const { yaw, headLen } = pose(rng, p);
  const torso = (rng.uniform(place.heightFrac[0], place.heightFrac[1]) * place.size) / STANDING_HEIGHT;
  // Mostly upright (MPII is), sometimes strongly turned (acrobatics, lying down).
  const rot = rng.bool(0.08) ? rng.uniform(-Math.PI, Math.PI) : rng.uniform(-place.maxRotation, place.maxRotation);
  const c = pcos(rot) * torso;
  const s = psin(rot) * torso;
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let j = 0; j < 16; j++) {
    const x = p[2 * j]!;
    const y = p[2 * j + 1]!;
    const X = c * x - s * y;
    const Y = s * x + c * y;
    p[2 * j] = X;
    p[2 * j + 1] = Y;
    if (X < minX) minX = X;
    if (X > maxX) maxX = X;
    if (Y < minY) minY = Y;
    if (Y > maxY) maxY = Y;
  }
  const dx = place.centerX - (minX + maxX) / 2;
  const dy = place.centerY - (minY + maxY) / 2;
  for (let j = 0; j < 16; j++) {
    p[2 * j] = p[2 * j]! + dx;
    p[2 * j + 1] = p[2 * j + 1]! + dy;
  }
  const nx = p[2 * J.neck]!, ny = p[2 * J.neck + 1]!;
  const tx = p[2 * J.headTop]!, ty = p[2 * J.headTop + 1]!;
  const len = Math.sqrt((tx - nx) * (tx - nx) + (ty - ny) * (ty - ny)) || 1;
  const head = {
    cx: (nx + tx) / 2,
    cy: (ny + ty) / 2,
    along: len / 2,
    across: 0.36 * headLen * torso,
    cos: (tx - nx) / len,
    sin: (ty - ny) / len,
  };
  return { joints: p, torso, yaw, head };
}

/**
 * The head box MPII-style. PCKh normalises by 0.6 × the head box diagonal, the protocol's proxy
 * for the head segment length (upper neck to head top), so PCKh@0.5 means "within half a head
 * segment". The box is therefore the axis-aligned square centred on the head whose 0.6 × diagonal
 * equals that segment, grown where needed to contain the drawn head ellipse. Writes x1, y1, x2, y2.
 */
export function headBox(f: Figure, out: Float32Array, offset: number): void {
  const { cx, cy, along: a, across: b, cos, sin } = f.head;
  const ex = Math.sqrt(a * a * cos * cos + b * b * sin * sin);
  const ey = Math.sqrt(a * a * sin * sin + b * b * cos * cos);
  // along = half the neck→top segment; a square of side L / (0.6·√2) has 0.6·diagonal = L.
  const half = (2 * a) / (0.6 * Math.SQRT2) / 2;
  out[offset] = cx - Math.max(ex, half);
  out[offset + 1] = cy - Math.max(ey, half);
  out[offset + 2] = cx + Math.max(ex, half);
  out[offset + 3] = cy + Math.max(ey, half);
}
