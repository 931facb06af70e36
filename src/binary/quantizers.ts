/**
 * Binarization operators as plain tensor functions: the hard sign with a choice of surrogate
 * gradients, the smooth progressive approximations f(λx), and XNOR weight binarization α·q(W).
 * The layers (BinaryConv2D, BinaryDense in binary-layers.ts) pick one of these per call from a QuantState.
 *
 * Why a custom gradient at all: tf.sign(0) is 0 and tf.sign's gradient is 0 everywhere, so a
 * binarizer built from it neither stays in {−1, +1} nor trains (tfjs-core's Sign gradient is zerosLike(dy)).
 */
import tf from '../tf.cjs';
import { fusedBinarizeWeights, fusedSign, hasFusedSign, type FusedSignGradient } from '../backend/fused.ts';
import { DEFAULTS, type RunConfig } from '../config/schema.ts';

/** Backward pass of the hard sign (config `binarize.gradient`). */
export type SignGradient = RunConfig['binarize']['gradient'];
/** Value of sign(0) (config `model.sign_at_zero`). */
export type SignAtZero = RunConfig['model']['sign_at_zero'];
/** Granularity of α in α·sign(W) (config `binarize.weight_scale`). */
export type WeightScale = RunConfig['binarize']['weight_scale'];
/** Smooth approximation used by progressive quantization (config `progressive.function`). */
export type SmoothSign = RunConfig['progressive']['function'];

/** Larq's SwishSign default β (larq/quantizers.py): the schema's `binarize.swish_beta`. */
export const DEFAULT_SWISH_BETA = DEFAULTS.binarize.swish_beta;

/**
 * Forward of the hard sign.
 * plus_one: x ≥ 0 → +1, x < 0 → −1 (Larq `math.sign`: sign(sign(x) + 0.1), two cheap ops).
 * zero: Torch's convention, sign(0) = 0, so the output lies in {−1, 0, +1}.
 */
export function signForward(x: tf.Tensor, atZero: SignAtZero = 'plus_one'): tf.Tensor {
  return tf.tidy(() => (atZero === 'zero' ? tf.sign(x) : tf.sign(tf.add(tf.sign(x), 0.1))));
}

/**
 * ∂q/∂x that each surrogate gradient uses (paper.md §4 table):
 * - clipped_ste: 1[|x| ≤ 1]                                  (BNN; the ICCV'17 Lua code; default)
 * - ste:         1                                           (plain straight-through)
 * - approx_sign: (2 − 2|x|)·1[|x| ≤ 1]                        (Bi-Real Net)
 * - swish_sign:  β(2 − βx·tanh(βx/2)) / (1 + cosh(βx))        (BNN+)
 */
export function signSurrogateGrad(x: tf.Tensor, gradient: SignGradient, beta = DEFAULT_SWISH_BETA): tf.Tensor {
  return tf.tidy(() => {
    switch (gradient) {
      case 'ste':
        return tf.onesLike(x);
      case 'clipped_ste':
        return tf.cast(tf.lessEqual(tf.abs(x), 1), 'float32');
      case 'approx_sign':
        return tf.relu(tf.sub(2, tf.mul(2, tf.abs(x))));
      case 'swish_sign': {
        const bx = tf.mul(beta, x);
        const num = tf.mul(beta, tf.sub(2, tf.mul(bx, tf.tanh(tf.div(bx, 2)))));
        // cosh overflows to +Inf for |βx| ≳ 89; num stays finite there, so the ratio is 0 as it should be.
        return tf.div(num, tf.add(1, tf.cosh(bx)));
      }
    }
  });
}

/**
 * The smooth function whose derivative each surrogate gradient is, so tests (and readers) can
 * check the backward pass against finite differences of a real function:
 * clipped_ste → hardtanh clip(x, −1, 1); ste → x; approx_sign → Bi-Real's piecewise polynomial
 * (2x + x² on [−1, 0), 2x − x² on [0, 1], ±1 outside); swish_sign → 2σ(βx)(1 + βx(1 − σ(βx))) − 1.
 */
export function signSurrogateForward(x: tf.Tensor, gradient: SignGradient, beta = DEFAULT_SWISH_BETA): tf.Tensor {
  return tf.tidy(() => {
    switch (gradient) {
      case 'ste':
        return tf.clone(x);
      case 'clipped_ste':
        return tf.clipByValue(x, -1, 1);
      case 'approx_sign': {
        const c = tf.clipByValue(x, -1, 1);
        return tf.sub(tf.mul(2, c), tf.mul(tf.sign(c), tf.square(c)));
      }
      case 'swish_sign': {
        const s = tf.sigmoid(tf.mul(beta, x));
        return tf.sub(tf.mul(tf.mul(2, s), tf.add(1, tf.mul(tf.mul(beta, x), tf.sub(1, s)))), 1);
      }
    }
  });
}

type UnaryOp = (x: tf.Tensor) => tf.Tensor;
const hardSignCache = new Map<string, UnaryOp>();

/**
 * The hard sign as a differentiable op: forward `signForward`, backward dy·`signSurrogateGrad`.
 * One tf.customGrad closure per (gradient, β, sign-at-zero) is built once and reused, so calling
 * this every step allocates nothing but tensors. On cpu and wasm, clipped_ste and ste run as one
 * fused kernel each way (src/backend/binary-kernels.ts; same values, a fraction of the ops); the
 * choice is made per call because the backend can change after the op is built.
 */
export function hardSign(gradient: SignGradient = 'clipped_ste', beta = DEFAULT_SWISH_BETA,
  atZero: SignAtZero = 'plus_one'): UnaryOp {
  const key = `${gradient}|${beta}|${atZero}`;
  let op = hardSignCache.get(key);
  if (op === undefined) {
    const grad = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const x = args[0] as tf.Tensor;
      const save = args[1] as tf.GradSaveFunc;
      save([x]);
      return {
        value: signForward(x, atZero),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, signSurrogateGrad(saved[0], gradient, beta)),
      };
    });
    op = (x: tf.Tensor) => (hasFusedSign(gradient) ? fusedSign(x, gradient as FusedSignGradient, atZero) : grad(x));
    hardSignCache.set(key, op);
  }
  return op;
}

/**
 * What λ multiplies in progressive quantization (config `progressive.scale`): 'mean_abs' = the
 * tensor divided by its own mean|x| (one scale per tensor, kept in the graph), 'none' = the raw
 * tensor. Assumed: the paper does not say (docs/paper.md, "Progressive quantization").
 */
export type ProgressiveScale = RunConfig['progressive']['scale'];

/** Below this mean|x| a tensor is treated as all zeros (no division by ~0). */
const MIN_MEAN_ABS = 1e-12;

/**
 * Smooth approximation of sign with sharpness λ (paper §"progressive quantization"):
 * tanh(λz); sigmoid 2σ(λz) − 1 (= tanh(λz/2), the form the paper writes); softsign λz/(1 + |λz|),
 * with z = x / mean|x| (scale 'mean_abs') or z = x (scale 'none').
 *
 * Why a scale: latent weights are ~0.01–0.06 and features (BN outputs) ~1, so one λ schedule on
 * raw values leaves the weights nearly linear (tanh(100 · 0.01) = 0.76) while the features are
 * already binary. Dividing by mean|x| puts every tensor on the same footing, so "λ large enough"
 * means the same thing for both (test: ≥ 99 % of entries within 0.1 of sign at λ_end).
 * mean|x| stays in the graph: the function is an ordinary differentiable one and its gradient
 * (in x; λ is not trained) is exact, which the tests check against finite differences.
 * The softsign and tanh forms are not quoted by any source (docs/paper.md): assumed.
 * `lambda` may be a scalar tensor (e.g. a shared tf.Variable), so λ changes without a rebuild.
 */
export function smoothSign(x: tf.Tensor, fn: SmoothSign, lambda: tf.Scalar | number, scale: ProgressiveScale = 'none'): tf.Tensor {
  return tf.tidy(() => {
    const normalized = scale === 'mean_abs' ? tf.div(x, tf.maximum(tf.mean(tf.abs(x)), MIN_MEAN_ABS)) : x;
    const z = tf.mul(normalized, lambda);
    switch (fn) {
      case 'tanh':
        return tf.tanh(z);
      case 'sigmoid':
        return tf.sub(tf.mul(2, tf.sigmoid(z)), 1);
      case 'softsign':
        return tf.div(z, tf.add(1, tf.abs(z)));
    }
  });
}

/**
 * Backward pass of progressive quantization (config `progressive.gradient`): 'exact' = the
 * derivative of f(λz) (the paper writes it out for the sigmoid form), 'surrogate' = the hard
 * sign's surrogate gradient (binarize.gradient) on the raw x, so only the forward pass is smooth.
 */
export type ProgressiveGradient = RunConfig['progressive']['gradient'];

const smoothSurrogateCache = new Map<string, (x: tf.Tensor, lambda: tf.Scalar) => tf.Tensor>();

/**
 * f(λz) forward (as `smoothSign`) with dy·`signSurrogateGrad(x)` backward. Why: the exact
 * derivative of f(λz) is non-zero only within ~mean|x|/λ of 0, so as λ grows the quantizer passes
 * gradient to fewer and fewer entries; with the surrogate every entry the hard sign would train
 * keeps training, and at λ_end the quantizer is the hard sign with its usual surrogate.
 * λ is an input (a scalar tensor) without a gradient.
 */
export function smoothSignSurrogate(x: tf.Tensor, fn: SmoothSign, lambda: tf.Scalar | number, scale: ProgressiveScale,
  gradient: SignGradient, beta = DEFAULT_SWISH_BETA): tf.Tensor {
  const key = `${fn}|${scale}|${gradient}|${beta}`;
  let op = smoothSurrogateCache.get(key);
  if (op === undefined) {
    const grad = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [input, lam] = args as [tf.Tensor, tf.Scalar];
      const save = args[2] as tf.GradSaveFunc;
      save([input]);
      return {
        value: smoothSign(input, fn, lam, scale),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, signSurrogateGrad(saved[0]!, gradient, beta)), tf.zerosLike(lam)],
      };
    });
    op = (t: tf.Tensor, lam: tf.Scalar) => grad(t, lam);
    smoothSurrogateCache.set(key, op);
  }
  return tf.tidy(() => op(x, typeof lambda === 'number' ? tf.scalar(lambda) : lambda));
}

/**
 * α for α·q(W), with the output channel on the last axis (tfjs kernels are HWIO for conv and
 * [in, out] for dense): 'channel' = mean|W| over every axis but the last, one per output filter
 * (XNOR-Net; the authors' Lua `binarise()`), 'tensor' = one mean|W|, 'none' = null (α ≡ 1).
 * α stays in the graph, so its own gradient (sign(W)/n, as in XNOR-Net's derivation) flows too.
 */
export function weightScale(w: tf.Tensor, scale: WeightScale): tf.Tensor | null {
  if (scale === 'none') return null;
  return tf.tidy(() => {
    const absW = tf.abs(w);
    if (scale === 'tensor') return tf.mean(absW);
    const axes = Array.from({ length: w.rank - 1 }, (_, i) => i);
    return tf.mean(absW, axes, true);
  });
}

/**
 * Binarized weights α·q(W), q = the hard sign (with its surrogate backward) or, during
 * progressive training, a smooth f(λW). Multiplying α into W rather than into the conv output
 * gives the same result (the conv is linear in W per output filter) and keeps the layer one conv.
 */
export function binarizeWeights(w: tf.Tensor, scale: WeightScale, q: UnaryOp): tf.Tensor {
  return tf.tidy(() => {
    const b = q(w);
    const alpha = weightScale(w, scale);
    return alpha === null ? b : tf.mul(alpha, b);
  });
}

/**
 * α·sign(W) with sign's surrogate `gradient` (weights take +1 at zero): `binarizeWeights` with the
 * hard sign, as one fused kernel each way on cpu and wasm for clipped_ste and ste.
 */
export function binarizeWeightsHard(w: tf.Tensor, scale: WeightScale, gradient: SignGradient, beta = DEFAULT_SWISH_BETA): tf.Tensor {
  if (hasFusedSign(gradient)) return fusedBinarizeWeights(w, scale, gradient as FusedSignGradient);
  return binarizeWeights(w, scale, hardSign(gradient, beta, 'plus_one'));
}
