import tf from '../tf.cjs';
import { countSimdCall, heapOffset, simdExports } from './wasm-simd.ts';

/**
 * Kernels written as plain JS loops over the tensors' own memory, for the two pure-JS backends.
 *
 * Why: a step of the binary HourGlass issues thousands of small tfjs ops (batch-norm gradients
 * alone tile, broadcast and reduce ~20 full-size tensors per layer). One fused pass over a
 * Float32Array costs about as much as ONE of those ops, so fusing each layer's bookkeeping into a
 * kernel or two removes most of the step's non-convolution time. On wasm the loops read and write
 * the wasm heap in place (no copies); on cpu they read the backend's arrays directly.
 *
 * Loops run in a fixed order in one thread, and reductions accumulate in float64, so results are
 * deterministic run to run and backend to backend.
 */

export type Attrs = Record<string, unknown>;
export type Shape = readonly number[];

export interface JsKernel {
  /** Kernel name; ours start with 'Bnn' so they cannot collide with tfjs's. */
  name: string;
  /** Input names, in the order `run` receives them. All must be float32. */
  inputs: readonly string[];
  /** Output shapes (all float32) from the input shapes. */
  outShapes(shapes: Shape[], attrs: Attrs): number[][];
  /**
   * Fills every element of `outs` (wasm outputs are NOT zeroed: uninitialised heap memory).
   * Must not allocate tensors: views of the wasm heap die when the heap grows.
   */
  run(ins: Float32Array[], outs: Float32Array[], shapes: Shape[], attrs: Attrs): void;
  /**
   * Optional WebAssembly SIMD version for the wasm backend (wasm-simd.ts), bit-identical to `run`.
   * Returns false to leave the call to `run` (a shape it does not cover).
   */
  simd?(ctx: SimdContext, shapes: Shape[], attrs: Attrs): boolean;
}

/** What a SIMD kernel gets: the module's exports and the tensors as byte offsets in the heap. */
export interface SimdContext {
  ex: Record<string, (...args: number[]) => void>;
  backend: unknown;
  ins: number[];
  outs: number[];
  /** Views of the same tensors, for work left to JS (e.g. a tail shorter than one vector). */
  views(): { ins: Float32Array[]; outs: Float32Array[] };
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

const size = (s: Shape): number => s.reduce((a, b) => a * b, 1);

/** The kernel function that runs `k` on backend `backendName`. */
export function jsKernelFunc(k: JsKernel, backendName: string): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const infos = k.inputs.map((n) => {
      const t = inputs[n];
      if (!t) throw new Error(`${k.name}: input '${n}' missing`);
      if (t.dtype !== 'float32') throw new Error(`${k.name}: input '${n}' is ${t.dtype}, expected float32`);
      return t;
    });
    const shapes = infos.map((t) => t.shape);
    const a = (attrs ?? {}) as Attrs;
    const outShapes = k.outShapes(shapes, a);
    let outs: tf.TensorInfo[];
    if (backendName === 'wasm') {
      const b = backend as unknown as WasmBackendLike;
      const made = outShapes.map((s) => b.makeOutput(s, 'float32'));
      outs = made;
      // Views only after every allocation: a malloc that grows the heap detaches older views.
      const views = () => ({ ins: infos.map((t) => b.typedArrayFromHeap(t)), outs: made.map((o) => b.typedArrayFromHeap(o)) });
      const ex = k.simd ? simdExports(backend) : undefined;
      const ctx = ex && { ex, backend, ins: infos.map((t) => heapOffset(backend, t)), outs: made.map((o) => heapOffset(backend, o)), views };
      if (ctx && k.simd!(ctx, shapes, a)) {
        countSimdCall(k.name);
      } else {
        const v = views();
        k.run(v.ins, v.outs, shapes, a);
      }
    } else {
      const b = backend as unknown as CpuBackendLike;
      const ins = infos.map((t) => {
        const v = b.data.get(t.dataId).values;
        if (!(v instanceof Float32Array)) throw new Error(`${k.name}: cpu tensor without float32 values`);
        return v;
      });
      const vals = outShapes.map((s) => new Float32Array(size(s)));
      k.run(ins, vals, shapes, a);
      outs = vals.map((v, i) => b.makeTensorInfo(outShapes[i]!, 'float32', v));
    }
    return outs.length === 1 ? outs[0]! : outs;
  };
}

/**
 * Registers `k` under its own name on `backendName` (idempotent: replaces an earlier
 * registration). Only register.ts calls this, when a backend is selected.
 */
export function registerJsKernel(k: JsKernel, backendName: string): void {
  if (tf.getKernel(k.name, backendName)) tf.unregisterKernel(k.name, backendName);
  tf.registerKernel({ kernelName: k.name, backendName, kernelFunc: jsKernelFunc(k, backendName) });
}

/** Whether kernel `name` can run on the current backend (false on native/webgl: callers fall back to tfjs ops). */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** Runs a registered kernel; always returns the outputs as an array. */
export function runKernel(name: string, inputs: Record<string, tf.Tensor>, attrs: Attrs = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}
