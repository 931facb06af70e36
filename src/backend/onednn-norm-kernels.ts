import tf from '../tf.cjs';
import { SIGN, SIGN_GRAD } from './binary-kernels.ts';
import { BN_TRAIN, BN_TRAIN_GRAD } from './bn-kernel.ts';
import { oneDnn } from './onednn.ts';
import { counted, heapOf, offset, size, usable, wasmOf, type NativeFactory } from './onednn-kernels.ts';
import { PRELU_GRAD } from './prelu-grad.ts';

/**
 * The `native` backend's kernels after the convolutions (the next biggest entries of a native
 * step's CPU profile): the training batch norm and its gradient, PReLU and its gradient, the
 * hard sign and its gradient, same-shape Add, SplitV and Concat, MaxPoolGrad, and Sum over
 * consecutive axes, in C++ on the wasm heap (native/src/norm.cc, eltwise.cc, split.cc, pool.cc,
 * reduce.cc), vectorized (AVX-512, AVX2 or SSE2, chosen at run time) and split across the run's
 * threads; and a Cast to the same dtype, which shares the buffer instead of copying it. Left to wasm: the fused optimizer
 * updates (optimizer-kernels.ts), whose native twins measured no faster on one thread (memory-bound:
 * 0.24 ms wasm SIMD against 0.28 ms native for a 147k-element RMSprop update).
 *
 * Each is bit-identical to its wasm twin (bn-kernel.ts, prelu-grad.ts, binary-kernels.ts,
 * pool-grad.ts, tfjs's Prelu, Add, SplitV, Concat and Sum) at every thread count: the same float64 operations
 * per element, each channel's sums down the rows in row order on one thread
 * (native/src/parallel.h). So the float64 reference tests of the wasm kernels carry over, and
 * switching engines does not change a run's numbers.
 *
 * Each entry falls back to the kernel it replaces (the wasm one) for what it does not cover.
 */

/** The part of the addon these kernels call (offsets: bytes into `heap`, the wasm memory). */
interface NormAddon {
  bnTrain(heap: ArrayBuffer, x: number, gamma: number, beta: number, movingMean: number, movingVariance: number,
    y: number, mean: number, variance: number, newMm: number, newMv: number, rows: number, c: number, epsilon: number, momentum: number): void;
  bnTrainGrad(heap: ArrayBuffer, dy: number, x: number, gamma: number, mean: number, variance: number,
    dx: number, dGamma: number, dBeta: number, rows: number, c: number, epsilon: number): void;
  preluGrad(heap: ArrayBuffer, dy: number, x: number, alpha: number, dx: number, dAlpha: number, rows: number, c: number): void;
  prelu(heap: ArrayBuffer, x: number, alpha: number, y: number, rows: number, c: number): void;
  sign(heap: ArrayBuffer, x: number, q: number, n: number, plusOne: boolean): void;
  signGrad(heap: ArrayBuffer, dy: number, x: number, dx: number, n: number): void;
  add(heap: ArrayBuffer, a: number, b: number, out: number, n: number): void;
  /** x viewed as [outer, red, inner] summed over red, in float32 from +0 in order (tfjs's wasm Sum). */
  sumAxes(heap: ArrayBuffer, x: number, out: number, outer: number, red: number, inner: number): void;
  splitV(heap: ArrayBuffer, x: number, outer: number, dim: number, inner: number, outs: number[], sizes: number[]): void;
  concat(heap: ArrayBuffer, out: number, outer: number, ins: number[], widths: number[]): void;
  /** geometry: n, h, w, c, outHeight, outWidth, strideH, strideW, filterH, filterW, padTop, padLeft. */
  maxPoolGrad(heap: ArrayBuffer, dy: number, x: number, dx: number, geometry: number[]): void;
}

const addon = (): NormAddon => oneDnn() as unknown as NormAddon;

type Inputs = Record<string, tf.TensorInfo>;

/** [rows, c] of a tensor normalized over its last axis with per-channel vectors of `c`, or undefined. */
function channels(x: tf.TensorInfo, ...vectors: tf.TensorInfo[]): { rows: number; c: number } | undefined {
  const c = x.shape.at(-1);
  if (c === undefined || x.shape.length < 2 || !usable(x, ...vectors) || vectors.some((v) => size(v.shape) !== c)) return undefined;
  return { rows: size(x.shape) / c, c };
}

/** y, batch mean, batch variance, new moving mean, new moving variance (bn-kernel.ts BN_TRAIN). */
const bnTrain: NativeFactory = (fallback) => counted(BN_TRAIN, fallback, ({ inputs, attrs, backend }) => {
  const { x, gamma, beta, movingMean, movingVariance } = inputs as Inputs;
  const s = channels(x!, gamma!, beta!, movingMean!, movingVariance!);
  if (!s) return undefined;
  const { epsilon, momentum } = attrs as { epsilon: number; momentum: number };
  const b = wasmOf(backend);
  const outs = [x!.shape, ...Array(4).fill([s.c])].map((shape: number[]) => b.makeOutput([...shape], 'float32'));
  const [y, mean, variance, newMm, newMv] = outs.map((t) => offset(b, t)) as [number, number, number, number, number];
  addon().bnTrain(heapOf(b), offset(b, x!), offset(b, gamma!), offset(b, beta!), offset(b, movingMean!), offset(b, movingVariance!),
    y, mean, variance, newMm, newMv, s.rows, s.c, epsilon, momentum);
  return outs;
});

/** dx, dγ, dβ (bn-kernel.ts BN_TRAIN_GRAD). */
const bnTrainGrad: NativeFactory = (fallback) => counted(BN_TRAIN_GRAD, fallback, ({ inputs, attrs, backend }) => {
  const { dy, x, gamma, mean, variance } = inputs as Inputs;
  const s = channels(x!, gamma!, mean!, variance!);
  if (!s || !usable(dy!) || size(dy!.shape) !== size(x!.shape)) return undefined;
  const b = wasmOf(backend);
  const outs = [x!.shape, [s.c], [s.c]].map((shape) => b.makeOutput([...shape], 'float32'));
  const [dx, dGamma, dBeta] = outs.map((t) => offset(b, t)) as [number, number, number];
  addon().bnTrainGrad(heapOf(b), offset(b, dy!), offset(b, x!), offset(b, gamma!), offset(b, mean!), offset(b, variance!),
    dx, dGamma, dBeta, s.rows, s.c, (attrs as { epsilon: number }).epsilon);
  return outs;
});

/** dx, dα for one slope per channel of the last axis (prelu-grad.ts PRELU_GRAD). */
const preluGrad: NativeFactory = (fallback) => counted(PRELU_GRAD, fallback, ({ inputs, backend }) => {
  const { dy, x, alpha } = inputs as Inputs;
  const s = channels(x!, alpha!);
  if (!s || !usable(dy!) || size(dy!.shape) !== size(x!.shape)) return undefined;
  const b = wasmOf(backend);
  const dx = b.makeOutput([...x!.shape], 'float32');
  const dAlpha = b.makeOutput([...alpha!.shape], 'float32');
  addon().preluGrad(heapOf(b), offset(b, dy!), offset(b, x!), offset(b, alpha!), offset(b, dx), offset(b, dAlpha), s.rows, s.c);
  return [dx, dAlpha];
});

/** PReLU with one slope per channel of the last axis (tfjs's Prelu; other slope shapes: the fallback). */
const prelu: NativeFactory = (fallback) => counted(tf.Prelu, fallback, ({ inputs, backend }) => {
  const { x, alpha } = inputs as Inputs;
  const s = channels(x!, alpha!);
  if (!s || alpha!.shape.at(-1) !== s.c) return undefined;
  const b = wasmOf(backend);
  const y = b.makeOutput([...x!.shape], 'float32');
  addon().prelu(heapOf(b), offset(b, x!), offset(b, alpha!), offset(b, y), s.rows, s.c);
  return y;
});

/** The hard sign, +1 or 0 at zero (binary-kernels.ts SIGN). */
const sign: NativeFactory = (fallback) => counted(SIGN, fallback, ({ inputs, attrs, backend }) => {
  const { x } = inputs as Inputs;
  if (!usable(x!)) return undefined;
  const b = wasmOf(backend);
  const q = b.makeOutput([...x!.shape], 'float32');
  addon().sign(heapOf(b), offset(b, x!), offset(b, q), size(x!.shape), (attrs as { atZero?: unknown }).atZero !== 'zero');
  return q;
});

/** dy·1[|x| ≤ 1] (binary-kernels.ts SIGN_GRAD). */
const signGrad: NativeFactory = (fallback) => counted(SIGN_GRAD, fallback, ({ inputs, backend }) => {
  const { dy, x } = inputs as Inputs;
  if (!usable(dy!, x!) || size(dy!.shape) !== size(x!.shape)) return undefined;
  const b = wasmOf(backend);
  const dx = b.makeOutput([...x!.shape], 'float32');
  addon().signGrad(heapOf(b), offset(b, dy!), offset(b, x!), offset(b, dx), size(x!.shape));
  return dx;
});

/** a + b of two float32 tensors of one shape (broadcasts: the fallback). */
const add: NativeFactory = (fallback) => counted(tf.Add, fallback, ({ inputs, backend }) => {
  const { a, b: bb } = inputs as Inputs;
  if (!usable(a!, bb!) || a!.shape.length !== bb!.shape.length || a!.shape.some((d, i) => d !== bb!.shape[i])) return undefined;
  const b = wasmOf(backend);
  const out = b.makeOutput([...a!.shape], 'float32');
  addon().add(heapOf(b), offset(b, a!), offset(b, bb!), offset(b, out), size(a!.shape));
  return out;
});

/** tf.split into pieces along one axis of a float32 or int32 tensor (empty pieces: the fallback). */
const splitV: NativeFactory = (fallback) => counted(tf.SplitV, fallback, ({ inputs, attrs, backend }) => {
  const { x } = inputs as Inputs;
  const { numOrSizeSplits, axis } = attrs as unknown as tf.SplitVAttrs;
  if (!x || (x.dtype !== 'float32' && x.dtype !== 'int32')) return undefined;
  const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, ax);
  if (size(x.shape) === 0 || sizes.some((n) => n <= 0)) return undefined;
  const b = wasmOf(backend);
  const outs = sizes.map((n) => b.makeOutput(x.shape.map((d, i) => (i === ax ? n : d)), x.dtype));
  addon().splitV(heapOf(b), offset(b, x), size(x.shape.slice(0, ax)), x.shape[ax]!, size(x.shape.slice(ax + 1)),
    outs.map((t) => offset(b, t)), sizes);
  return outs;
});

/** tf.concat of two or more non-empty tensors of one 4-byte dtype (float32, int32). */
const concat: NativeFactory = (fallback) => counted(tf.Concat, fallback, ({ inputs, attrs, backend }) => {
  const ins = inputs as unknown as tf.TensorInfo[];
  if (!Array.isArray(ins) || ins.length < 2) return undefined;
  const dtype = ins[0]!.dtype;
  if ((dtype !== 'float32' && dtype !== 'int32') || ins.some((t) => t.dtype !== dtype || size(t.shape) === 0)) return undefined;
  const ax = tf.util.parseAxisParam((attrs as unknown as tf.ConcatAttrs).axis, ins[0]!.shape)[0]!;
  const shapes = ins.map((t) => t.shape);
  tf.backend_util.assertParamsConsistent(shapes, ax);
  const b = wasmOf(backend);
  const out = b.makeOutput(tf.backend_util.computeOutShape(shapes, ax), dtype);
  addon().concat(heapOf(b), offset(b, out), size(ins[0]!.shape.slice(0, ax)), ins.map((t) => offset(b, t)),
    shapes.map((s) => size(s.slice(ax))));
  return out;
});

/** dL/dx of max pooling, dy to the first maximum of each window (pool-grad.ts maxPoolGradInto). */
const maxPoolGrad: NativeFactory = (fallback) => counted(tf.MaxPoolGrad, fallback, ({ inputs, attrs, backend }) => {
  const { dy, input } = inputs as Inputs;
  if (!usable(dy!, input!) || input!.shape.length !== 4) return undefined;
  const a = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(input!.shape as [number, number, number, number], a.filterSize, a.strides, 1,
    a.pad, a.dimRoundingMode);
  if (dy!.shape[1] !== info.outHeight || dy!.shape[2] !== info.outWidth) return undefined;
  const b = wasmOf(backend);
  const dx = b.makeOutput([...input!.shape], 'float32');
  addon().maxPoolGrad(heapOf(b), offset(b, dy!), offset(b, input!), offset(b, dx), [...input!.shape, info.outHeight, info.outWidth,
    info.strideHeight, info.strideWidth, info.filterHeight, info.filterWidth, info.padInfo.top, info.padInfo.left]);
  return dx;
});

/** tf.sum of float32 over axes that are consecutive (any other set: the fallback). */
const sum: NativeFactory = (fallback) => counted(tf.Sum, fallback, ({ inputs, attrs, backend }) => {
  const { x } = inputs as Inputs;
  const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
  if (!usable(x!)) return undefined;
  const axes = tf.util.parseAxisParam(axis, x!.shape).sort((p, q) => p - q);
  if (axes.length === 0 || axes.some((a, k) => a !== axes[0]! + k)) return undefined;
  const [first, last] = [axes[0]!, axes.at(-1)!];
  const [outShape] = tf.backend_util.computeOutAndReduceShapes(x!.shape, axes);
  const b = wasmOf(backend);
  const out = b.makeOutput(keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape, 'float32');
  addon().sumAxes(heapOf(b), offset(b, x!), offset(b, out), size(x!.shape.slice(0, first)), size(x!.shape.slice(first, last + 1)),
    size(x!.shape.slice(last + 1)));
  return out;
});

/**
 * A Cast to the dtype the tensor has (tf.layers casts its float inputs to float32): the output
 * shares the input's buffer with one more reference, as the wasm profile's Identity does, instead
 * of wasm's copy (tensors are immutable). Other casts: the fallback.
 */
const castSame: NativeFactory = (fallback) => counted(tf.Cast, fallback, ({ inputs, attrs, backend }) => {
  const { x } = inputs as Inputs;
  if (!x || x.dtype !== (attrs as unknown as tf.CastAttrs).dtype || x.dtype === 'string' || x.dtype === 'complex64') return undefined;
  (backend as unknown as { incRef(id: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
});

/** One native kernel: the kernel it replaces on the wasm backend, and how to build it from that one. */
export interface NativeKernelConfig {
  kernelName: string;
  make: NativeFactory;
}

/** The native profile's kernels besides the convolutions and binarization (kernels.ts adds them to its list). */
export const NATIVE_NORM_KERNELS: readonly NativeKernelConfig[] = [
  { kernelName: BN_TRAIN, make: bnTrain },
  { kernelName: BN_TRAIN_GRAD, make: bnTrainGrad },
  { kernelName: tf.Prelu, make: prelu },
  { kernelName: PRELU_GRAD, make: preluGrad },
  { kernelName: SIGN, make: sign },
  { kernelName: SIGN_GRAD, make: signGrad },
  { kernelName: tf.Add, make: add },
  { kernelName: tf.SplitV, make: splitV },
  { kernelName: tf.Concat, make: concat },
  { kernelName: tf.MaxPoolGrad, make: maxPoolGrad },
  { kernelName: tf.Sum, make: sum },
  { kernelName: tf.Cast, make: castSame },
];
