import tf from '../tf.cjs';
import { oneDnn } from './onednn.ts';
import { convGeometry, counted, heapOf, offset, size, usable, wasmOf, type NativeFactory } from './onednn-kernels.ts';

/**
 * The `native` backend's kernels for the layers tf.layers runs outside training (inference,
 * validation, the exported model's real layers): FusedConv2D, conv + bias (+ activation), and
 * FusedBatchNorm, the batch norm on moving statistics. On the reference HourGlass at batch 32
 * they were half of the packed model's time on XNNPACK and the wasm loop (docs/export.md).
 *
 * Training does not run them: its convs are Conv2D + Add (models/conv.ts) and its batch norm
 * BnnBatchNormTrain (bn-kernel.ts), so a training step's numbers are unchanged. tf.fused.conv2d
 * called directly in training (its customGrad) uses FusedConv2D only for y; its gradient ends in
 * Conv2DBackpropInput/Filter (onednn-kernels.ts) and in ops on y.
 *
 * FusedConv2D: oneDNN's convolution with the bias, and as its post-op the activations whose
 * post-op gives exactly tfjs's floats for the same conv result: relu, relu6 and leaky relu (a
 * max/min or one multiply; see native/src/conv.cc). Prelu (with a prelu post-op oneDNN 2.6 picks
 * another conv implementation, whose sums round differently), elu and sigmoid (oneDNN
 * approximates exp its own way) run after it through the backend's registered kernel, so every
 * activation sees the same conv result, as the tests check bit for bit. The conv's sums round
 * differently from XNNPACK's (another summation order, the bias added at the end): equal within
 * float32 tolerance, deterministic for a thread count, as Conv2D on this backend already is.
 *
 * FusedBatchNorm: bit-identical to the wasm kernel (native/src/norm.cc has its formula), for
 * per-channel vectors over the last axis.
 */

/** The activations tfjs fuses that oneDNN applies as a post-op, by the addon's code. */
const POST_OPS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3 };
/** The others: the kernel that applies them to the conv's output afterwards. */
const AFTER: Record<string, string> = { prelu: tf.Prelu, elu: tf.Elu, sigmoid: tf.Sigmoid };

interface FusedConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
  leakyreluAlpha?: number;
}

type Inputs = Record<string, tf.TensorInfo | undefined>;

/** Prelu weights the wasm kernel reads as tfjs means them: one per output channel; others go to it as they are. */
function perChannel(w: tf.TensorInfo | undefined, oc: number): boolean {
  return w !== undefined && usable(w) && size(w.shape) === oc && w.shape.at(-1) === oc;
}

/** Runs the registered kernel `name` on y (then freed): the activations not fused in oneDNN. */
function applyAfter(name: string, y: tf.TensorInfo, alpha: tf.TensorInfo | undefined, backend: tf.KernelBackend): tf.TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`no ${name} kernel on wasm`);
  const inputs = alpha === undefined ? { x: y } : { x: y, alpha };
  const out = kernel.kernelFunc({ inputs, attrs: {}, backend }) as tf.TensorInfo;
  backend.disposeData(y.dataId);
  return out;
}

const fusedConv2d: NativeFactory = (fallback) => counted(tf.FusedConv2D, fallback, ({ inputs, attrs, backend }) => {
  const { x, filter, bias, preluActivationWeights } = inputs as Inputs;
  const a = attrs as unknown as FusedConvAttrs;
  const activation = a.activation ?? 'linear';
  const act = POST_OPS[activation] ?? (AFTER[activation] === undefined ? undefined : 0);
  if (act === undefined || !x || !filter || !usable(x, filter)) return undefined;
  const g = convGeometry(x.shape, filter.shape, a);
  if (!g) return undefined;
  const oc = g[4];
  if (bias && (!usable(bias) || bias.shape.length !== 1 || bias.shape[0] !== oc)) return undefined;
  if (activation === 'prelu' && !perChannel(preluActivationWeights, oc)) return undefined;
  const b = wasmOf(backend);
  const y = b.makeOutput([g[0], g[15], g[16], oc], 'float32');
  oneDnn().convForwardFused(heapOf(b), g, offset(b, x), offset(b, filter), offset(b, y), bias ? offset(b, bias) : -1,
    act, a.leakyreluAlpha ?? 0);
  const after = AFTER[activation];
  return after === undefined ? y : applyAfter(after, y, activation === 'prelu' ? preluActivationWeights : undefined, backend as tf.KernelBackend);
});

/** The part of the addon FusedBatchNorm calls (native/src/norm.cc). */
interface BnInferAddon {
  bnInfer(heap: ArrayBuffer, x: number, mean: number, variance: number, offset: number, scale: number, y: number,
    rows: number, c: number, epsilon: number): void;
}

const fusedBatchNorm: NativeFactory = (fallback) => counted(tf.FusedBatchNorm, fallback, ({ inputs, attrs, backend }) => {
  const { x, mean, variance, offset: shift, scale } = inputs as Inputs;
  const c = x?.shape.at(-1);
  if (!x || !mean || !variance || c === undefined || x.shape.length < 2) return undefined;
  const vectors = [mean, variance, shift, scale].filter((v): v is tf.TensorInfo => v !== undefined);
  // One value per channel of the last axis; the wasm kernel's other broadcasts stay with it.
  if (!usable(x, ...vectors) || vectors.some((v) => size(v.shape) !== c)) return undefined;
  const b = wasmOf(backend);
  const y = b.makeOutput([...x.shape], 'float32');
  (oneDnn() as unknown as BnInferAddon).bnInfer(heapOf(b), offset(b, x), offset(b, mean), offset(b, variance),
    shift ? offset(b, shift) : -1, scale ? offset(b, scale) : -1, offset(b, y), size(x.shape) / c, c,
    (attrs as unknown as tf.FusedBatchNormAttrs).varianceEpsilon);
  return y;
});

/** The native inference kernels, by the tfjs kernel they replace on the wasm backend. */
export const NATIVE_INFERENCE_IMPLS: Record<string, NativeFactory> = {
  [tf.FusedConv2D]: fusedConv2d,
  [tf.FusedBatchNorm]: fusedBatchNorm,
};
