import * as tf from '@tensorflow/tfjs';
import { BN_TRAIN, BN_TRAIN_GRAD } from './bn-kernel.ts';
import { oneDnn } from './onednn.ts';
import { counted, heapOf, offset, size, usable, wasmOf, type NativeFactory } from './onednn-kernels.ts';
import { PRELU_GRAD } from './prelu-grad.ts';

/**
 * The `native` backend's kernels after the convolutions (the next biggest entries of a native
 * step's profile, bench/step.ts --profile): the training batch norm and its gradient, PReLU's
 * gradient, and SplitV, in C++ on the wasm heap (native/src/norm.cc, eltwise.cc, split.cc).
 *
 * The batch-norm and PReLU kernels are bit-identical to their wasm twins (bn-kernel.ts,
 * prelu-grad.ts), at every thread count: the same float64 operations per element, each
 * channel's sums down the rows in row order on one thread (native/src/parallel.h). So the float64
 * reference tests of the wasm kernels carry over, and switching engines does not change a run's
 * numbers. SplitV copies.
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
  splitV(heap: ArrayBuffer, x: number, outer: number, dim: number, inner: number, outs: number[], sizes: number[]): void;
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

/** One native kernel: the kernel it replaces on the wasm backend, and how to build it from that one. */
export interface NativeKernelConfig {
  kernelName: string;
  make: NativeFactory;
}

/** The native profile's batch-norm, PReLU and split kernels (kernels.ts adds them to its list). */
export const NATIVE_NORM_KERNELS: readonly NativeKernelConfig[] = [
  { kernelName: BN_TRAIN, make: bnTrain },
  { kernelName: BN_TRAIN_GRAD, make: bnTrainGrad },
  { kernelName: PRELU_GRAD, make: preluGrad },
  { kernelName: tf.SplitV, make: splitV },
];
