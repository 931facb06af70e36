/**
 * Binary layers in the tfjs-layers shape: BinaryConv2D and BinaryDense. Each is
 *   y = op( q_in(x), α·q_w(W) ) (+ b)
 * with q_in and q_w chosen per call from the model-wide QuantState (real, hard sign, or smooth
 * f(λ·)). Features and weights are binarized independently, so the same built model serves every
 * stage of the init-order ablation. The convolution is ordinary tf.conv2d: a backend may override
 * its gradient kernel globally for speed, and these layers pick that up untouched.
 */
import tf from '../tf.cjs';
import { SCHEMA } from '../config/schema.ts';
import { ConfigError } from '../errors.ts';
import { binarizeWeights, binarizeWeightsHard } from './quantizers.ts';
import { QuantState, type QuantStateConfig, type QuantizedLayer, DEFAULT_QUANT_SETTINGS } from './quant-state.ts';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = Parameters<tf.layers.Layer['call']>[1];
type Initializer = ReturnType<typeof tf.initializers.ones>;

/**
 * Latent-weight initializer when none is given: PyTorch's default conv/linear init
 * (kaiming_uniform with a = √5, i.e. U(±1/√fan_in)), because the calibration pilot and the
 * reference parameter/FLOP counts are PyTorch. Assumed; the paper names none.
 */
export function defaultKernelInitializer(seed?: number): Initializer {
  return tf.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform', seed });
}

/** Binary convs carry no bias (the authors' HBlock and bnn.torch convs are bias-free). */
export const DEFAULT_BINARY_USE_BIAS = false;

/** Fields shared by both binary layers. */
export interface BinaryLayerArgs extends LayerArgs {
  /** Add a real-valued bias after the binary op. Default false. */
  useBias?: boolean;
  /** Latent kernel initializer. Default `defaultKernelInitializer()`. Not serialized (weights are). */
  kernelInitializer?: Initializer;
  /**
   * The model-wide state to read: share one instance across a model. A plain config (from a saved
   * model) builds a private state; `attachQuantState` re-shares them after loading. Default: a
   * fresh state with the schema defaults, both binarized.
   */
  quant?: QuantState | QuantStateConfig;
}

/** Tolerates tfjs's snake_case ↔ camelCase rewriting of string values on save/load. */
function canonical<T extends string>(value: unknown, choices: readonly T[], key: string): T {
  const squash = (s: string) => s.replace(/[_-]/g, '').toLowerCase();
  const hit = choices.find((c) => squash(c) === squash(String(value)));
  if (hit === undefined) throw new ConfigError(`saved binary layer: ${key} '${String(value)}' is not one of ${choices.join(', ')}`);
  return hit;
}

/** Rebuilds a QuantState from a (possibly round-tripped) layer config. */
function quantFromArg(q: QuantState | QuantStateConfig | undefined): QuantState {
  if (q instanceof QuantState) return q;
  if (q === undefined) return new QuantState();
  const s = q.settings;
  return QuantState.fromConfig({
    flags: { features: Boolean(q.flags.features), weights: Boolean(q.flags.weights) },
    lambda: Number(q.lambda),
    settings: {
      gradient: canonical(s.gradient, SCHEMA.binarize.gradient.choices, 'gradient'),
      swishBeta: Number(s.swishBeta ?? DEFAULT_QUANT_SETTINGS.swishBeta),
      signAtZero: canonical(s.signAtZero, SCHEMA.model.sign_at_zero.choices, 'signAtZero'),
      weightScale: canonical(s.weightScale, SCHEMA.binarize.weight_scale.choices, 'weightScale'),
      weightClip: Boolean(s.weightClip),
      progressive: {
        enabled: Boolean(s.progressive.enabled),
        fn: canonical(s.progressive.fn, SCHEMA.progressive.function.choices, 'progressive.fn'),
        // Models saved before the scale existed multiplied raw values by λ.
        scale: canonical(s.progressive.scale ?? 'none', SCHEMA.progressive.scale.choices, 'progressive.scale'),
        gradient: canonical(s.progressive.gradient ?? 'exact', SCHEMA.progressive.gradient.choices, 'progressive.gradient'),
        applyTo: canonical(s.progressive.applyTo, SCHEMA.progressive.apply_to.choices, 'progressive.applyTo'),
        evalHardSign: Boolean(s.progressive.evalHardSign),
      },
    },
  });
}

/** Quantized input and kernel for one call, following the state's current flags. */
function quantizeOperands(quant: QuantState, layer: string, x: tf.Tensor, kernel: tf.Tensor, training: boolean): [tf.Tensor, tf.Tensor] {
  quant.probe?.(layer, x);
  const qIn = quant.quantizer('features', quant.featureMode(training));
  const wMode = quant.weightMode(training);
  const s = quant.settings;
  const w = wMode === 'real' ? kernel
    : wMode === 'hard' ? binarizeWeightsHard(kernel, s.weightScale, s.gradient, s.swishBeta)
      : binarizeWeights(kernel, s.weightScale, quant.quantizer('weights', wMode));
  return [qIn(x), w];
}

/** Arguments of BinaryConv2D. */
export interface BinaryConv2DArgs extends BinaryLayerArgs {
  /** Output channels. */
  filters: number;
  /** Side of the square kernel. */
  kernelSize: number;
  /** Stride in both spatial dimensions. Default 1. */
  strides?: number;
  /** 'same' (zero padding, as the authors' PyTorch convs pad after the sign) or 'valid'. Default 'same'. */
  padding?: 'same' | 'valid';
}

/**
 * 2-D convolution with binarized input and weights (XNOR-Net without the input scale K, which the
 * paper drops):
 *   y = conv2d( q_in(x), α ⊙ q_w(W) ) (+ b),   α = mean|W| per output filter (or per tensor, or 1)
 * q = sign with a surrogate gradient, or f(λ·) while progressive training, or the identity when
 * that side is not binarized right now. Zero padding adds 0s next to the ±1 inputs, as in the
 * authors' code and Larq's default.
 * Input [batch, h, w, inChannels] → output [batch, h', w', filters]; kernel [k, k, in, filters].
 */
export class BinaryConv2D extends tf.layers.Layer implements QuantizedLayer {
  static className = 'BinaryConv2D';
  quant: QuantState;
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly padding: 'same' | 'valid';
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  constructor(args: BinaryConv2DArgs) {
    super(args);
    if (!Number.isInteger(args.filters) || args.filters < 1) throw new ConfigError(`BinaryConv2D: filters must be a positive integer, got ${args.filters}`);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.strides = args.strides ?? 1;
    this.padding = args.padding ?? 'same';
    this.useBias = args.useBias ?? DEFAULT_BINARY_USE_BIAS;
    this.kernelInitializer = args.kernelInitializer ?? defaultKernelInitializer();
    this.quant = quantFromArg(args.quant);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const inChannels = shape[shape.length - 1];
    if (inChannels == null) throw new ConfigError(`${this.name}: the channel dimension must be known`);
    this.kernel = this.addWeight('kernel', [this.kernelSize, this.kernelSize, inChannels, this.filters],
      'float32', this.kernelInitializer, undefined, true);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros(), undefined, true);
    this.built = true;
  }

  latentKernel(): tf.LayerVariable | null {
    return this.kernel;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const out = (d: number | null) => d == null ? null
      : this.padding === 'same' ? Math.ceil(d / this.strides) : Math.floor((d - this.kernelSize) / this.strides) + 1;
    return [n, out(h), out(w), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const [qx, w] = quantizeOperands(this.quant, this.name, x, this.kernel!.read(), kwargs?.training === true);
      let y: tf.Tensor = tf.conv2d(qx as tf.Tensor4D, w as tf.Tensor4D, this.strides, this.padding);
      if (this.bias !== null) y = tf.add(y, this.bias.read());
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      useBias: this.useBias,
      quant: this.quant.toConfig() as unknown as tf.serialization.ConfigDict,
    };
  }
}

/** Arguments of BinaryDense. */
export interface BinaryDenseArgs extends BinaryLayerArgs {
  /** Output features. */
  units: number;
}

/**
 * Fully connected layer with binarized input and weights:
 *   y = q_in(x) · (α ⊙ q_w(W)) (+ b),   α = mean|W| per output unit (or per tensor, or 1)
 * Input [batch, inFeatures] → output [batch, units]; kernel [inFeatures, units].
 */
export class BinaryDense extends tf.layers.Layer implements QuantizedLayer {
  static className = 'BinaryDense';
  quant: QuantState;
  readonly units: number;
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  constructor(args: BinaryDenseArgs) {
    super(args);
    if (!Number.isInteger(args.units) || args.units < 1) throw new ConfigError(`BinaryDense: units must be a positive integer, got ${args.units}`);
    this.units = args.units;
    this.useBias = args.useBias ?? DEFAULT_BINARY_USE_BIAS;
    this.kernelInitializer = args.kernelInitializer ?? defaultKernelInitializer();
    this.quant = quantFromArg(args.quant);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const inFeatures = shape[shape.length - 1];
    if (inFeatures == null) throw new ConfigError(`${this.name}: the feature dimension must be known`);
    this.kernel = this.addWeight('kernel', [inFeatures, this.units], 'float32', this.kernelInitializer, undefined, true);
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros(), undefined, true);
    this.built = true;
  }

  latentKernel(): tf.LayerVariable | null {
    return this.kernel;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [...shape.slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
      const [qx, w] = quantizeOperands(this.quant, this.name, x, this.kernel!.read(), kwargs?.training === true);
      let y: tf.Tensor = tf.matMul(qx as tf.Tensor2D, w as tf.Tensor2D);
      if (this.bias !== null) y = tf.add(y, this.bias.read());
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      useBias: this.useBias,
      quant: this.quant.toConfig() as unknown as tf.serialization.ConfigDict,
    };
  }
}
