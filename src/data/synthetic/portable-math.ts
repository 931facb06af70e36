/**
 * sin, cos and exp from + − × ÷ only, for generated data that must be bit-identical everywhere.
 *
 * Why: ECMAScript lets Math.sin/cos/exp be "implementation-approximated". V8 ships its own fdlibm
 * port today, but the spec does not pin the last bit and other engines or a future V8 may differ;
 * one ulp in an angle can flip a rasterised pixel and change a dataset silently. Basic IEEE-754
 * double arithmetic, Math.sqrt, floor and round are exactly specified, and JS never fuses
 * multiply-adds, so these functions give the same bits on every platform. Accuracy is ~1e-16
 * relative over the ranges data code uses — far more than rasterising needs.
 */

// Cody–Waite split of π/2 and ln 2: the high parts have trailing zero bits, so k·HI is exact.
const HALF_PI_HI = 1.5707963267341256;
const HALF_PI_LO = 6.077100506506192e-11;
const INV_HALF_PI = 0.6366197723675814;
const LN2_HI = 0.6931471803691238;
const LN2_LO = 1.9082149292705877e-10;
const LOG2E = 1.4426950408889634;

/** sin(r) for |r| ≤ π/4: Taylor series to r^15 (truncation error < 1e-16). */
function sinKernel(r: number): number {
  const z = r * r;
  return r * (1 + z * (-1 / 6 + z * (1 / 120 + z * (-1 / 5040 + z * (1 / 362880 + z * (-1 / 39916800
    + z * (1 / 6227020800 + z * (-1 / 1307674368000))))))));
}

/** cos(r) for |r| ≤ π/4: Taylor series to r^16. */
function cosKernel(r: number): number {
  const z = r * r;
  return 1 + z * (-1 / 2 + z * (1 / 24 + z * (-1 / 720 + z * (1 / 40320 + z * (-1 / 3628800
    + z * (1 / 479001600 + z * (-1 / 87178291200 + z * (1 / 20922789888000))))))));
}

/** Reduces x to r in [-π/4, π/4] and a quadrant q in 0..3 with x = q·π/2 + r (mod 2π). */
function reduce(x: number): { r: number; q: number } {
  const k = Math.round(x * INV_HALF_PI);
  const r = (x - k * HALF_PI_HI) - k * HALF_PI_LO;
  return { r, q: ((k % 4) + 4) % 4 };
}

/** Portable sine; meant for |x| up to ~1e6 (angles in data code are a few radians). */
export function psin(x: number): number {
  const { r, q } = reduce(x);
  switch (q) {
    case 0: return sinKernel(r);
    case 1: return cosKernel(r);
    case 2: return -sinKernel(r);
    default: return -cosKernel(r);
  }
}

/** Portable cosine; see psin. */
export function pcos(x: number): number {
  const { r, q } = reduce(x);
  switch (q) {
    case 0: return cosKernel(r);
    case 1: return -sinKernel(r);
    case 2: return -cosKernel(r);
    default: return sinKernel(r);
  }
}

// Exact powers of two 2^-1022 … 2^1023, built by repeated doubling/halving (exact operations).
const POW2 = new Float64Array(2046);
POW2[1022] = 1;
for (let k = 1; k <= 1023; k++) POW2[1022 + k] = POW2[1021 + k]! * 2;
for (let k = 1; k <= 1022; k++) POW2[1022 - k] = POW2[1023 - k]! * 0.5;

/** Portable e^x. Returns 0 below −708 (the result would be subnormal) and Infinity above 709. */
export function pexp(x: number): number {
  if (x !== x) return NaN;
  if (x < -708) return 0;
  if (x > 709) return Infinity;
  const k = Math.round(x * LOG2E);
  const r = (x - k * LN2_HI) - k * LN2_LO; // |r| ≤ ~0.347
  // Taylor series to r^13: truncation error below 1e-17 for |r| ≤ 0.35.
  const p = 1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040
    + r * (1 / 40320 + r * (1 / 362880 + r * (1 / 3628800 + r * (1 / 39916800 + r * (1 / 479001600 + r / 6227020800))))))))))));
  return p * POW2[1022 + k]!;
}
