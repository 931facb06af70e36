import * as tf from '@tensorflow/tfjs';
import { convBackpropFilter, convBackpropInput, type ConvGeometry } from './conv-grad.ts';
import { jsKernelFunc, type JsKernel } from './js-kernel.ts';
import { BINARIZE_WEIGHTS, BINARIZE_WEIGHTS_GRAD } from './binary-kernels.ts';
import { NATIVE_IMPLS, nativeCallCounts } from './onednn-kernels.ts';
import { NATIVE_NORM_KERNELS } from './onednn-norm-kernels.ts';
import { avgPoolBackprop, maxPoolBackpropOps, maxPoolGradInto, resizeNearestBackprop, type PoolGeometry } from './pool-grad.ts';
// Side effects: register the fused kernels (and the Prelu gradient that uses one) on cpu and wasm.
import './bn-kernel.ts';
import './binary-kernels.ts';
import './prelu-grad.ts';

/**
 * Kernel overrides for the JS backends. We replace gradient KERNELS rather than the registered
 * gradients: the Conv2D gradient and FusedConv2D's custom gradient (which tf.layers conv2d uses)
 * both end in Conv2DBackpropInput/Filter, so swapping kernels covers every path. Native backends
 * ('tensorflow') keep their own kernels simply because nothing is registered for them.
 *
 * What is replaced where, and why (numbers from bench/conv.ts on [8,32,32,64], 3x3x64->64):
 * - Conv2DBackpropFilter, wasm + cpu: wasm has none at all; cpu's takes 43-69 s, 55-90x its forward.
 * - Conv2DBackpropInput, wasm only: wasm's is a naive loop ~10x slower than its XNNPACK forward
 *   conv; cpu's is about as fast as a cpu forward conv and does no work on stride zeros, so stays.
 * - MaxPoolGrad, wasm + cpu: wasm's returns wrong gradients (see pool-grad.ts); cpu gets the same
 *   one-pass loop so both backends compute the identical function.
 * - ResizeNearestNeighborGrad, wasm + cpu: cpu's is wrong for batch > 1; wasm gets the same
 *   implementation so both backends compute the identical function.
 * - AvgPoolGrad, wasm + cpu: both stock kernels are wrong at borders with 'same' padding.
 * - UnsortedSegmentSum, wasm only: missing, and tf.gather's gradient needs it.
 * - Identity, wasm only: the stock kernel copies the tensor. The engine clones every tensor it
 *   saves for the backward pass through Identity (engine.saveTensorsForBackwardMode), ~550 copies
 *   per step of the reference HourGlass (~25 ms); tensors are immutable, so the clone shares the
 *   buffer and counts a reference, as the cpu backend's Identity and wasm's own Reshape do.
 * - OneHot, wasm only: the stock kernel ignores `dtype` and writes int32 bit patterns into float32
 *   outputs (1 reads as 1.4e-45), which breaks any float one-hot matrix, labels included.
 * - webgpu (4.22, found by the same tests on Mesa's software adapter): AvgPoolGrad has the border
 *   bug above; ResizeNearestNeighborGrad is wrong with halfPixelCenters; MaxPoolGrad breaks ties
 *   differently from cpu. All three get op-built versions (WEBGPU_IMPLS: no typed arrays and no
 *   synchronous reads there). Its convolution gradients are its own (GPU kernels, correct).
 */
const WASM_OVERRIDES = [
  tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter, tf.MaxPoolGrad, tf.AvgPoolGrad, tf.ResizeNearestNeighborGrad,
  tf.OneHot, tf.UnsortedSegmentSum, tf.Identity,
];

/**
 * The one list of overrides, per profile. A profile patches one tfjs backend: `native` is the
 * wasm backend with the wasm fixes plus native kernels (onednn-kernels.ts): oneDNN for the
 * convolutions, their gradients and BatchMatMul, C++ for the weight binarization and its gradient
 * and for batch norm, PReLU, sign, Add, Sum, SplitV, Concat and MaxPoolGrad (onednn-norm-kernels.ts),
 * each falling back to what `wasm` runs for cases they do not cover. Installing a profile removes
 * the other profile's overrides on the same backend. `webgpu` gets op-built versions where its
 * own kernels are wrong (WEBGPU_IMPLS).
 */
const PROFILES: Record<string, { backend: string; kernels: readonly string[] }> = {
  wasm: { backend: 'wasm', kernels: WASM_OVERRIDES },
  native: { backend: 'wasm', kernels: [...WASM_OVERRIDES, tf.Conv2D, tf.BatchMatMul, BINARIZE_WEIGHTS, BINARIZE_WEIGHTS_GRAD, ...NATIVE_NORM_KERNELS.map((k) => k.kernelName).filter((k) => !WASM_OVERRIDES.includes(k))] },
  cpu: { backend: 'cpu', kernels: [tf.Conv2DBackpropFilter, tf.MaxPoolGrad, tf.AvgPoolGrad, tf.ResizeNearestNeighborGrad] },
  webgpu: { backend: 'webgpu', kernels: [tf.MaxPoolGrad, tf.AvgPoolGrad, tf.ResizeNearestNeighborGrad] },
};

/** Which profile is installed on each tfjs backend. */
const active = new Map<string, string>();

const stock = new Map<string, tf.KernelConfig | undefined>();
const calls: Record<string, number> = {};

function asTensor(info: tf.TensorInfo | undefined): tf.Tensor4D {
  if (!info) throw new Error('kernel input missing');
  // Ops hand kernels their input Tensors; a bare TensorInfo only comes from backend-internal calls.
  if ((info as tf.Tensor).rank !== undefined) return info as tf.Tensor4D;
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor4D;
}

function convGeometry(attrs: tf.NamedAttrMap | undefined): ConvGeometry {
  const a = (attrs ?? {}) as unknown as tf.Conv2DBackpropFilterAttrs;
  return { strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode, dataFormat: a.dataFormat };
}

/**
 * Wraps a composite implementation as a kernel. The engine accepts a Tensor as a kernel's output
 * and passes it through unwrapped (engine.ts runKernelFunc), so kernels can be built from ordinary
 * ops; ops run inside a kernel are not recorded on the gradient tape. tidy frees the intermediates.
 */
function composite(kernelName: string, impl: (inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) => tf.Tensor): KernelFactory {
  return () => ({ inputs, attrs }) => {
    const key = `${tf.getBackend()}_${kernelName}`;
    calls[key] = (calls[key] ?? 0) + 1;
    return tf.tidy(() => impl(inputs, attrs ?? {}));
  };
}

/** Wraps a typed-array kernel (js-kernel.ts) as an override, counted like the composites. */
function typedArrays(k: JsKernel): KernelFactory {
  return (backendName) => {
    const run = jsKernelFunc(k, backendName);
    return (args) => {
      const key = `${backendName}_${k.name}`;
      calls[key] = (calls[key] ?? 0) + 1;
      return run(args);
    };
  };
}

/** Builds a backend's kernel function (typed-array kernels differ per backend in memory access). */
type KernelFactory = (backendName: string) => tf.KernelFunc;

const IMPLS: Record<string, KernelFactory> = {
  [tf.Conv2DBackpropInput]: composite(tf.Conv2DBackpropInput, (inputs, attrs) => {
    const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    return convBackpropInput(asTensor(inputs.dy), asTensor(inputs.filter), a.inputShape, convGeometry(attrs));
  }),
  [tf.Conv2DBackpropFilter]: composite(tf.Conv2DBackpropFilter, (inputs, attrs) => {
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    return convBackpropFilter(asTensor(inputs.x), asTensor(inputs.dy), a.filterShape, convGeometry(attrs));
  }),
  [tf.MaxPoolGrad]: typedArrays({
    name: tf.MaxPoolGrad,
    inputs: ['dy', 'input'],
    outShapes: ([, x]) => [[...x!]],
    run([dy, x], [dx], [, xs], attrs) {
      dx!.fill(0);
      maxPoolGradInto(dy!, x!, dx!, xs!, attrs as unknown as PoolGeometry);
    },
  }),
  [tf.AvgPoolGrad]: composite(tf.AvgPoolGrad, (inputs, attrs) => {
    const a = attrs as unknown as tf.AvgPoolGradAttrs;
    return avgPoolBackprop(asTensor(inputs.dy), asTensor(inputs.input).shape, a);
  }),
  [tf.ResizeNearestNeighborGrad]: composite(tf.ResizeNearestNeighborGrad, (inputs, attrs) => {
    const a = attrs as unknown as tf.ResizeNearestNeighborGradAttrs;
    const images = asTensor(inputs.images);
    return resizeNearestBackprop(asTensor(inputs.dy), images.shape, a.alignCorners, a.halfPixelCenters);
  }),
  [tf.Identity]: (backendName) => (args) => {
    const x = args.inputs.x!;
    // Strings live in JS, not in the heap: the stock kernel handles them.
    if (x.dtype === 'string') return stock.get(`${backendName}_${tf.Identity}`)!.kernelFunc(args);
    (args.backend as unknown as { incRef(id: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  },
  [tf.OneHot]: composite(tf.OneHot, (inputs, attrs) => {
    const a = attrs as unknown as tf.OneHotAttrs;
    const indices = asTensor(inputs.indices) as tf.Tensor;
    const hit = tf.equal(tf.expandDims(indices, -1), tf.range(0, a.depth, 1, 'int32'));
    // Out-of-range and negative indices match nothing, giving an all-offValue row as in TF.
    // A select, not on*hit + off*(1-hit): that arithmetic rounds non-binary on/off values.
    return tf.where(hit, tf.fill(hit.shape, a.onValue, a.dtype), tf.fill(hit.shape, a.offValue, a.dtype));
  }),
  [tf.UnsortedSegmentSum]: composite(tf.UnsortedSegmentSum, (inputs, attrs) => {
    const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
    const x = asTensor(inputs.x) as tf.Tensor;
    const ids = asTensor(inputs.segmentIds) as tf.Tensor;
    // segment_sum = onehot(ids)^T @ x; negative or out-of-range ids select no segment, as in TF.
    const rows = ids.size;
    const rest = x.shape.slice(ids.rank);
    const select = tf.cast(tf.oneHot(tf.reshape(tf.cast(ids, 'int32'), [rows]), numSegments), 'float32');
    const flat = tf.reshape(tf.cast(x, 'float32'), [rows, rest.reduce((a, b) => a * b, 1)]);
    const summed = tf.matMul(select, flat, true, false);
    return tf.cast(tf.reshape(summed, [numSegments, ...rest]), x.dtype);
  }),
};

/** Where a backend needs a different implementation of an override than IMPLS's. */
const WEBGPU_IMPLS: Record<string, KernelFactory> = {
  [tf.MaxPoolGrad]: composite(tf.MaxPoolGrad, (inputs, attrs) =>
    maxPoolBackpropOps(asTensor(inputs.dy), asTensor(inputs.input), attrs as unknown as PoolGeometry)),
};
const BACKEND_IMPLS: Record<string, Record<string, KernelFactory>> = { webgpu: WEBGPU_IMPLS };

/** The kernel function `profile` registers for `kernelName`, given the stock kernel. */
function implFor(profile: string, backendName: string, kernelName: string, original: tf.KernelConfig | undefined): tf.KernelFunc {
  const wasmImpl = (BACKEND_IMPLS[backendName]?.[kernelName] ?? IMPLS[kernelName])?.(backendName);
  const native = profile === 'native' ? NATIVE_IMPLS[kernelName] ?? NATIVE_NORM_KERNELS.find((k) => k.kernelName === kernelName)?.make : undefined;
  if (!native) return wasmImpl!;
  const fallback = wasmImpl ?? original?.kernelFunc;
  if (!fallback) throw new Error(`no ${kernelName} kernel on ${backendName} to fall back to`);
  return native(fallback);
}

/**
 * Registers the overrides of `profile` ('cpu', 'wasm', 'native' or 'webgpu'; others are left
 * alone). Idempotent. Must run after the backend's package registered its own kernels (at its
 * import), otherwise those would overwrite these.
 */
export function installKernelOverrides(profile: string): boolean {
  const p = PROFILES[profile];
  if (!p) return false;
  const current = active.get(p.backend);
  if (current !== undefined && current !== profile) uninstallKernelOverrides(current);
  for (const kernelName of p.kernels) {
    const key = `${p.backend}_${kernelName}`;
    if (stock.has(key)) continue;
    const existing = tf.getKernel(kernelName, p.backend);
    stock.set(key, existing);
    // Unregister first: registering over an existing kernel prints a warning.
    if (existing) tf.unregisterKernel(kernelName, p.backend);
    tf.registerKernel({ kernelName, backendName: p.backend, kernelFunc: implFor(profile, p.backend, kernelName, existing) });
  }
  active.set(p.backend, profile);
  return true;
}

/**
 * Puts the stock kernels back, all of them or only `only`; tests and the benchmark compare
 * against them.
 */
export function uninstallKernelOverrides(profile: string, only?: readonly string[]): void {
  const p = PROFILES[profile];
  if (!p || active.get(p.backend) !== profile) return;
  for (const kernelName of p.kernels) {
    if (only && !only.includes(kernelName)) continue;
    const key = `${p.backend}_${kernelName}`;
    if (!stock.has(key)) continue;
    const original = stock.get(key);
    stock.delete(key);
    tf.unregisterKernel(kernelName, p.backend);
    if (original) tf.registerKernel(original);
  }
  if (p.kernels.every((k) => !stock.has(`${p.backend}_${k}`))) active.delete(p.backend);
}

/** Which kernels `profile` overrides right now (none where another profile is installed). */
export function kernelOverrides(profile: string): string[] {
  const p = PROFILES[profile];
  if (!p || active.get(p.backend) !== profile) return [];
  return p.kernels.filter((k) => stock.has(`${p.backend}_${k}`));
}

/** Whether convolution training on `backendName` runs through the forward-conv gradients. */
export function hasFastConvGradients(backendName: string): boolean {
  return kernelOverrides(backendName).includes(tf.Conv2DBackpropFilter);
}

/**
 * How often each override ran, keyed `${backend}_${kernel}` (oneDNN kernels: `native_${kernel}`);
 * lets tests prove the path was taken.
 */
export function overrideCallCounts(): Readonly<Record<string, number>> {
  const native = Object.fromEntries(Object.entries(nativeCallCounts().native).map(([k, v]) => [`native_${k}`, v]));
  return { ...calls, ...native };
}
