/**
 * tfjs layers that stand in for BinaryConv2D / BinaryDense in an exported model: same config
 * (filters, kernel, stride, padding, bias), no latent kernel, and a call that hands the input to
 * a BinaryConvEngine on the packed filter. The real layers of the exported model stay ordinary
 * tfjs layers running the same kernels as the trained model, so wherever the float path is exact
 * the two networks compute the same floats.
 *
 * Register with `registerPackedLayers()` (an explicit call, once, before loading an export).
 */
import tf from '../tf.cjs';
import { DataError } from '../errors.ts';
import { convGeometry, type BinaryConvEngine, type BlockBranch, type SignAtZero, type SignThresholds } from './engine.ts';
import type { PackedFilter } from './pack.ts';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = Parameters<tf.layers.Layer['call']>[1];

/** Arguments of a packed binary layer (saved in the export's topology). */
export interface PackedBinaryArgs extends LayerArgs {
  /** Output channels (units of a dense layer). */
  filters: number;
  /** Side of the square kernel; 1 for a dense layer. */
  kernelSize: number;
  /** Stride in both spatial dimensions. */
  strides: number;
  /** tf.conv2d padding of the trained layer. */
  padding: 'same' | 'valid';
  /** Whether a real bias follows α·Σ. */
  useBias: boolean;
  /** Input channels (features of a dense layer). */
  inChannels: number;
  /** sign(0) of the run's features: plus_one or zero (model.sign_at_zero). */
  signAtZero: SignAtZero;
  /** true: stands in for BinaryDense ([b, in] → [b, units], computed as a 1×1 conv on a 1×1 image). */
  dense: boolean;
  /** true: the PReLU that followed the trained layer is fused in (its slopes come with attach). Absent in exports before v2. */
  fusedPrelu?: boolean;
}

/** tfjs may rewrite snake_case string values to camelCase on a round trip ('plus_one' → 'plusOne'). */
function signAtZeroOf(v: unknown): SignAtZero {
  const s = String(v).replace(/[_-]/g, '').toLowerCase();
  if (s === 'plusone') return 'plus_one';
  if (s === 'zero') return 'zero';
  throw new DataError(`exported layer: sign_at_zero '${String(v)}' is not plus_one or zero`);
}

/**
 * y = α ⊙ (sign(x) ⊛ sign(W)) (+ b), the integer sum from XNOR + popcount (engine.ts); with
 * thresholds, sign(x) is sign(act(BN(x))) of the folded layers, read off per-channel thresholds.
 * Input [b, h, w, in] → [b, h', w', filters] (dense: [b, in] → [b, filters]).
 */
export class PackedBinaryLayer extends tf.layers.Layer {
  static className = 'PackedBinaryLayer';
  readonly args: PackedBinaryArgs;
  private bias: tf.LayerVariable | null = null;
  private filter: PackedFilter | null = null;
  private engine: BinaryConvEngine | null = null;
  private thresholds: SignThresholds | undefined;
  /** The filter without the fused PReLU, and the PReLU's slopes as the trained layer held them, for backends whose Prelu kernel is not the wasm one. */
  private unfused: { filter: PackedFilter; slope: tf.Tensor } | null = null;

  constructor(args: PackedBinaryArgs) {
    super(args);
    this.args = { ...args, signAtZero: signAtZeroOf(args.signAtZero), padding: args.padding === 'valid' ? 'valid' : 'same' };
  }

  override build(): void {
    if (this.args.useBias) this.bias = this.addWeight('bias', [this.args.filters], 'float32', tf.initializers.zeros(), undefined, false);
    this.built = true;
  }

  /**
   * Gives the layer its packed signs and α (from the export), the engine to run them on, the
   * thresholds of a folded batch norm, and the slopes of a fused PReLU (exactly where the layer's
   * config says one is fused).
   */
  attach(bits: Uint32Array, alpha: Float32Array, engine: BinaryConvEngine, thresholds?: SignThresholds, slope?: Float32Array): void {
    const a = this.args;
    if ((slope !== undefined) !== (a.fusedPrelu === true)) {
      throw new DataError(`${this.name}: the topology ${a.fusedPrelu ? 'fuses' : 'does not fuse'} a PReLU but the export ${slope ? 'has' : 'lacks'} its slopes`);
    }
    this.thresholds = thresholds;
    const bias = this.bias === null ? null : (this.bias.read().dataSync() as Float32Array).slice();
    const plain: PackedFilter = { kh: a.kernelSize, kw: a.kernelSize, inChannels: a.inChannels, outChannels: a.filters, bits, alpha, bias };
    this.filter = slope === undefined ? plain : { ...plain, slope };
    this.unfused?.slope.dispose();
    // tf.layers.prelu's own slope shape: [1, 1, C] shared over space, [C] for a dense layer.
    this.unfused = slope === undefined ? null : { filter: plain, slope: tf.keep(tf.tensor(slope, a.dense ? [a.filters] : [1, 1, a.filters])) };
    this.engine = engine;
  }

  setEngine(engine: BinaryConvEngine): void {
    this.engine = engine;
  }

  /** The engine attached (null before attach). */
  get attachedEngine(): BinaryConvEngine | null {
    return this.engine;
  }

  /** This layer as a branch of a fused block (PackedBlock) on input [n, h, w, inChannels]: its filter with the PReLU fused. */
  branch(n: number, h: number, w: number): BlockBranch {
    if (this.filter === null) throw new Error(`${this.name}: packed weights not attached (load exports with loadExported)`);
    const a = this.args;
    return { filter: this.filter, thresholds: this.thresholds, g: convGeometry(h, w, a.kernelSize, a.kernelSize, a.strides, a.padding), n, h, w };
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const a = this.args;
    if (a.dense) return [shape[0]!, a.filters];
    const [n, h, w] = shape;
    const out = (d: number | null) => d == null ? null
      : a.padding === 'same' ? Math.ceil(d / a.strides) : Math.floor((d - a.kernelSize) / a.strides) + 1;
    return [n!, out(h!), out(w!), a.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs)!;
    if (this.filter === null || this.engine === null) throw new Error(`${this.name}: packed weights not attached (load exports with loadExported)`);
    const a = this.args;
    const [n, h, w, c] = a.dense ? [x.shape[0]!, 1, 1, x.shape[1]!] : x.shape as [number, number, number, number];
    const g = convGeometry(h, w, a.kernelSize, a.kernelSize, a.strides, a.padding);
    const outShape = a.dense ? [n, a.filters] : [n, g.outH, g.outW, a.filters];
    const onHeap = onWasmHeap([x], outShape);
    if (onHeap !== null) {
      // On the wasm heap the backend is wasm or native, whose Prelu is the engines' fused one:
      // the engine fuses it where that is the faster way to the same floats.
      const fuse = this.unfused === null || this.engine.fusesPrelu === true;
      this.engine.conv({ data: onHeap.xs[0]!, n, h, w, c, thresholds: this.thresholds }, a.signAtZero, fuse ? this.filter : this.unfused!.filter, g, onHeap.y);
      if (fuse) return onHeap.out;
      const slope = this.unfused!.slope;
      const y = tf.prelu(onHeap.out, slope);
      onHeap.out.dispose();
      return y;
    }
    // Elsewhere (cpu, webgpu, tensorflow) the backend's own Prelu kernel follows, as in the trained model.
    const filter = this.unfused?.filter ?? this.filter;
    const view = this.engine.conv({ data: x.dataSync() as Float32Array, n, h, w, c, thresholds: this.thresholds }, a.signAtZero, filter, g);
    // cpu keeps a new tensor's array itself, so it gets its own copy of the engine's view.
    const slope = this.unfused?.slope;
    return tf.tidy(() => {
      const y = tf.tensor(view.slice(), outShape);
      return slope === undefined ? y : tf.prelu(y, slope);
    });
  }

  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    this.release();
    return super.dispose();
  }

  /** Frees the tensor the layer holds outside tfjs's weights (a PackedBlock's branches are never applied, so never disposed as layers). */
  release(): void {
    this.unfused?.slope.dispose();
    this.unfused = null;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const a = this.args;
    return { ...super.getConfig(), filters: a.filters, kernelSize: a.kernelSize, strides: a.strides, padding: a.padding,
      useBias: a.useBias, inChannels: a.inChannels, signAtZero: a.signAtZero, dense: a.dense, ...(a.fusedPrelu ? { fusedPrelu: true } : {}) };
  }
}

/** The parts of tfjs's wasm backend read here (as src/backend/onednn-kernels.ts does). */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  wasm: { asm: { memory: WebAssembly.Memory } };
}

/**
 * On the wasm backend (and native, its oneDNN-kernel variant) tensors live in the wasm heap: the
 * engine reads the inputs and writes a new output tensor there in place, instead of a dataSync
 * copy out and a tensor copy back in (measured: those two copies took more time than the
 * native engine's convolutions in the reference HourGlass at batch 32). null elsewhere.
 */
export function onWasmHeap(xs: tf.Tensor[], outShape: number[]): { xs: Float32Array[]; y: Float32Array; out: tf.Tensor } | null {
  if (tf.getBackend() !== 'wasm' || xs.some((x) => x.dtype !== 'float32')) return null;
  const b = tf.backend() as unknown as WasmBackendLike;
  const offsets = xs.map((x) => b.dataIdMap.get(x.dataId)?.memoryOffset);
  if (offsets.some((o) => o === undefined)) return null;
  const info = b.makeOutput(outShape, 'float32');
  const yd = b.dataIdMap.get(info.dataId)!;
  // The buffer after the allocation: a malloc that grows the heap replaces it.
  const heap = b.wasm.asm.memory.buffer;
  return {
    xs: xs.map((x, i) => new Float32Array(heap, offsets[i]!, x.size)),
    y: new Float32Array(heap, yd.memoryOffset, outShape.reduce((p, d) => p * d, 1)),
    out: tf.engine().makeTensorFromTensorInfo(info),
  };
}

let registered = false;

/** Registers PackedBinaryLayer with tfjs serialization (idempotent). */
export function registerPackedLayers(): void {
  if (registered) return;
  tf.serialization.registerClass(PackedBinaryLayer);
  registered = true;
}
