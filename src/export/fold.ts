/**
 * Folding the batch norm (and, with activation_placement pre, the activation) that feeds a
 * binary layer's sign into per-channel thresholds, exactly.
 *
 * Why it is exact: the trained model computes sign(f_c(x)) with f_c = act ∘ BN, a chain of float
 * operations each monotone in x (subtract a constant, multiply by a constant, add a constant, and
 * relu / leaky_relu / prelu with slope ≥ 0; each rounding is monotone too), so f_c as the backend
 * computes it — roundings included — is monotone. Then {x : f_c(x) < 0} is a down-set (or, for a
 * decreasing f_c, an up-set) of the float32 line, i.e. exactly {y < lo_c} for y = ±x and one
 * float32 lo_c, and likewise {f_c(x) > 0} = {y ≥ hi_c}. lo and hi are found by bisection over the
 * ordered float32 bit patterns, evaluating f_c with the model's own layers on the current backend:
 * the very floats the float path computes. Non-finite inputs are outside the claim.
 *
 * Folded only where the BN (and the activation) feed nothing but this binary layer, the
 * activation is monotone (prelu: every slope ≥ 0), and the ±0 boundary is representable.
 */
import tf from '../tf.cjs';
import type { SignAtZero } from '../infer/engine.ts';

/** What a fold removes and the thresholds that replace it. */
export interface Fold {
  /** Layers folded away, input side first: [bn] or [bn, act]. */
  layers: tf.layers.Layer[];
  /** [c][s, lo, hi] float32 (engine.ts SignThresholds). */
  table: Float32Array;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** float32 ↔ an integer key increasing with the float's value (−0 just below +0). */
function keyOf(v: number): number {
  F32[0] = v;
  const b = U32[0]!;
  return b >= 0x80000000 ? 0xffffffff - b : b + 0x80000000;
}

function floatOf(k: number): number {
  U32[0] = k >= 0x80000000 ? k - 0x80000000 : 0xffffffff - k;
  return F32[0]!;
}

const K_MIN = keyOf(-3.4028234663852886e38);
const K_MAX = keyOf(3.4028234663852886e38);

function singleConsumer(l: tf.layers.Layer): boolean {
  return l.inboundNodes.length === 1 && l.outboundNodes.length === 1;
}

/** Whether the activation is monotone non-decreasing (so act ∘ BN keeps BN's monotonicity). */
function monotoneActivation(l: tf.layers.Layer): boolean {
  const name = l.getClassName();
  const cfg = l.getConfig();
  if (name === 'ReLU') return cfg.maxValue == null && (cfg.threshold == null || cfg.threshold === 0);
  if (name === 'LeakyReLU') return Number(cfg.alpha) >= 0;
  if (name === 'PReLU') {
    // One slope per channel (shared over space), else f would differ per position.
    const alpha = l.getWeights()[0]!;
    const channels = (l.outputShape as number[])[(l.outputShape as number[]).length - 1];
    return alpha.size === channels && tf.tidy(() => tf.min(alpha).dataSync()[0]! >= 0);
  }
  return false;
}

/** The BN (and activation) chain right before `layer`, or null when it may not be folded. */
function chainBefore(layer: tf.layers.Layer): tf.layers.Layer[] | null {
  if (layer.inboundNodes.length !== 1) return null;
  let prev = layer.inboundNodes[0]!.inboundLayers[0];
  const chain: tf.layers.Layer[] = [];
  if (prev !== undefined && ['ReLU', 'LeakyReLU', 'PReLU'].includes(prev.getClassName())) {
    if (!singleConsumer(prev) || !monotoneActivation(prev)) return null;
    chain.unshift(prev);
    prev = prev.inboundNodes[0]!.inboundLayers[0];
  }
  if (prev === undefined || prev.getClassName() !== 'BatchNormalization' || !singleConsumer(prev)) return null;
  const axis = prev.getConfig().axis;
  if (axis !== -1 && axis !== (prev.outputShape as number[]).length - 1) return null;
  chain.unshift(prev);
  return chain;
}

/**
 * f(v) per channel, v one candidate per channel, through the chain's own layers (inference mode),
 * on an input of the layer's own spatial shape (layers such as a space-shared PReLU insist on
 * it) holding v at every position; position 0 is read.
 */
function evaluate(chain: tf.layers.Layer[], values: Float32Array, shape: number[]): Float32Array {
  return tf.tidy(() => {
    const c = values.length;
    const positions = shape.slice(1, -1).reduce((a, d) => a * d, 1);
    let t = tf.tile(tf.tensor(values, [1, c]), [positions, 1]).reshape([1, ...shape.slice(1)]);
    for (const l of chain) t = l.apply(t, { training: false }) as tf.Tensor;
    return (t.reshape([positions, c]).slice([0, 0], [1, c]).dataSync() as Float32Array).slice();
  });
}

/** Per channel, the smallest key k with pred(f(s·float(k))) (K_MAX + 1 when none), by bisection. */
function boundary(chain: tf.layers.Layer[], s: Float32Array, shape: number[], pred: (f: number) => boolean): number[] {
  const c = s.length;
  const lo = new Array<number>(c).fill(K_MIN);
  const hi = new Array<number>(c).fill(K_MAX + 1);
  const probe = new Float32Array(c);
  for (;;) {
    let open = false;
    for (let i = 0; i < c; i++) {
      const mid = lo[i]! < hi[i]! ? Math.floor((lo[i]! + hi[i]!) / 2) : lo[i]!;
      open ||= lo[i]! < hi[i]!;
      probe[i] = s[i]! * floatOf(Math.min(mid, K_MAX));
    }
    if (!open) return lo;
    const f = evaluate(chain, probe, shape);
    for (let i = 0; i < c; i++) {
      if (lo[i]! >= hi[i]!) continue;
      const mid = Math.floor((lo[i]! + hi[i]!) / 2);
      if (pred(f[i]!)) hi[i] = mid;
      else lo[i] = mid + 1;
    }
  }
}

/** A key as a threshold: ±∞ past the finite range; null when +0 would be needed but −0 sides differently. */
function threshold(chain: tf.layers.Layer[], k: number, s: number, c: number, channel: number, shape: number[], pred: (f: number) => boolean): number | null {
  if (k > K_MAX) return Infinity;
  if (k === K_MIN) return -Infinity;
  const t = floatOf(k);
  if (t === 0 && !Object.is(t, -0)) {
    // y < +0 is false for y = −0, so −0 must be on +0's side.
    const probe = new Float32Array(c);
    probe[channel] = s * -0;
    if (!pred(evaluate(chain, probe, shape)[channel]!)) return null;
  }
  return t;
}

/** The fold of the chain feeding `layer`'s sign, or null where it is not exact (or not applicable). */
export function planFold(layer: tf.layers.Layer, signAtZero: SignAtZero): Fold | null {
  const chain = chainBefore(layer);
  if (chain === null) return null;
  const inShape = (chain[0]!.inboundNodes[0]!.inputTensors[0]!.shape as Array<number | null>).map((d) => d ?? 1);
  
  const c = inShape[inShape.length - 1]!;
  // Direction per channel: f increasing or decreasing (constant channels count as increasing).
  const big = new Float32Array(c).fill(1e30);
  const fPlus = evaluate(chain, big, inShape);
  const fMinus = evaluate(chain, big.map((v) => -v), inShape);
  const s = Float32Array.from({ length: c }, (_, i) => (fPlus[i]! < fMinus[i]! ? -1 : 1));
  const notNegative = (f: number) => f >= 0;
  const positive = (f: number) => f > 0;
  const loKeys = boundary(chain, s, inShape, notNegative);
  const hiKeys = signAtZero === 'zero' ? boundary(chain, s, inShape, positive) : loKeys;
  const table = new Float32Array(3 * c);
  for (let i = 0; i < c; i++) {
    const lo = threshold(chain, loKeys[i]!, s[i]!, c, i, inShape, notNegative);
    const hi = signAtZero === 'zero' ? threshold(chain, hiKeys[i]!, s[i]!, c, i, inShape, positive) : lo;
    if (lo === null || hi === null) return null;
    table.set([s[i]!, lo, hi], 3 * i);
  }
  return { layers: chain, table };
}
