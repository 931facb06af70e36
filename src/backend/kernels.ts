import tf from '../tf.cjs';
import { convBackpropFilter, convBackpropInput, type ConvGeometry } from './conv-grad.ts';
import { jsKernelFunc, type JsKernel } from './js-kernel.ts';
import { type NativeFactory, nativeCallCounts } from './onednn-kernels.ts';
import { avgPoolBackprop, maxPoolBackpropOps, maxPoolGradInto, resizeNearestBackprop, type PoolGeometry } from './pool-grad.ts';

/**
 * Kernel overrides for the JS backends: the implementations only. Which profile replaces which
 * kernel, and the registering itself, are register.ts's. We replace gradient KERNELS rather than the registered
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

/** Calls per override, keyed `${profile}_${kernel}` (see overrideCallCounts). */
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
  return ({ profile }) => ({ inputs, attrs }) => {
    const key = `${profile}_${kernelName}`;
    calls[key] = (calls[key] ?? 0) + 1;
    return tf.tidy(() => impl(inputs, attrs ?? {}));
  };
}

/** Wraps a typed-array kernel (js-kernel.ts) as an override, counted like the composites. */
function typedArrays(k: JsKernel): KernelFactory {
  return ({ backendName, profile }) => {
    const run = jsKernelFunc(k, backendName);
    return (args) => {
      const key = `${profile}_${k.name}`;
      calls[key] = (calls[key] ?? 0) + 1;
      return run(args);
    };
  };
}

/** Where an override is built: the tfjs backend, the profile installing it, the kernel it replaces. */
interface OverrideSite {
  backendName: string;
  profile: string;
  original: tf.KernelConfig | undefined;
}

/** Builds a backend's kernel function (typed-array kernels differ per backend in memory access). */
type KernelFactory = (site: OverrideSite) => tf.KernelFunc;

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
  [tf.Identity]: ({ original }) => (args) => {
    const x = args.inputs.x!;
    // Strings live in JS, not in the heap: the stock kernel handles them.
    if (x.dtype === 'string') return original!.kernelFunc(args);
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

/**
 * The kernel function `profile` registers for `kernelName` on `backendName`, given the kernel it
 * replaces (`original`): this module's fix for the backend, or a native kernel (`native`, from the
 * profile's list in register.ts) that falls back to the fix, else to `original`.
 */
export function implFor(site: OverrideSite, kernelName: string, native: NativeFactory | undefined): tf.KernelFunc {
  const fix = (BACKEND_IMPLS[site.backendName]?.[kernelName] ?? IMPLS[kernelName])?.(site);
  if (!native) {
    if (!fix) throw new Error(`no fix for ${kernelName} on ${site.backendName} in kernels.ts`);
    return fix;
  }
  const fallback = fix ?? site.original?.kernelFunc;
  if (!fallback) throw new Error(`no ${kernelName} kernel on ${site.backendName} to fall back to`);
  return native(fallback);
}

/**
 * How often each override ran, keyed `${profile}_${kernel}`: the profile that installed it (so the
 * wasm fixes the native profile shares count under `native_…`), whether the work was done by
 * oneDNN (onednn-kernels.ts) or by the fix it falls back to. Lets tests prove the path was taken.
 */
export function overrideCallCounts(): Readonly<Record<string, number>> {
  const counts = { ...calls };
  for (const [k, v] of Object.entries(nativeCallCounts().native)) counts[`native_${k}`] = (counts[`native_${k}`] ?? 0) + v;
  return counts;
}
