/**
 * The model-wide quantization state every binary layer reads at call time: which of features and
 * weights are binarized, the progressive-quantization λ, and the static choices (surrogate
 * gradient, sign at zero, α granularity, smooth function). tfjs-layers runs `call()` eagerly on
 * every forward pass, so flipping a flag or assigning λ here changes the next step without
 * rebuilding or recompiling anything: the init-order ablation flips flags mid-training and the
 * λ schedule assigns a new λ every step.
 */
import tf from '../tf.cjs';
import { defaultConfig, DEFAULTS, type RunConfig } from '../config/schema.ts';
import { ConfigError } from '../errors.ts';
import {
  hardSign, smoothSign,
  smoothSignSurrogate, type ProgressiveGradient, type ProgressiveScale, type SignAtZero, type SignGradient, type SmoothSign, type WeightScale,
} from './quantizers.ts';

/** Which tensors the smooth f(λx) replaces (config `progressive.apply_to`). */
export type ProgressiveTarget = RunConfig['progressive']['apply_to'];

/** Static binarization choices, fixed for a model's life (they are part of its saved config). */
export interface QuantSettings {
  /** Surrogate gradient of the hard sign, for features and weights alike (assumed: the paper names none for weights). */
  gradient: SignGradient;
  /** β of the swish_sign surrogate. */
  swishBeta: number;
  /** sign(0): +1 (XNOR/Larq) or 0 (Torch). Applies to features; latent weights are never exactly 0 in practice. */
  signAtZero: SignAtZero;
  /** α granularity of α·sign(W). */
  weightScale: WeightScale;
  /** Whether `clipLatentWeights` clips binarized layers' kernels to [−1, 1] after each step. */
  weightClip: boolean;
  /** Progressive quantization: smooth f(λx) while training instead of the hard sign. */
  progressive: {
    enabled: boolean;
    fn: SmoothSign;
    /** What λ multiplies: x / mean|x| per tensor, or raw x (see `smoothSign`). */
    scale: ProgressiveScale;
    /** Backward pass: the derivative of f, or the hard sign's surrogate (see `smoothSignSurrogate`). */
    gradient: ProgressiveGradient;
    applyTo: ProgressiveTarget;
    /** Evaluation (training=false) uses the hard sign: the deployed network. */
    evalHardSign: boolean;
  };
}

/** Run-time switches of the init-order ablation (binarize.order). */
export interface BinarizationFlags {
  /** Binarize the inputs of binary layers (sign or f(λx)). */
  features: boolean;
  /** Binarize the kernels of binary layers (α·sign(W) or α·f(λW)). */
  weights: boolean;
}

/** What a quantizer does on one call. */
export type QuantMode = 'real' | 'hard' | 'smooth';

/** The JSON form saved inside every binary layer's config, so a loaded model keeps its state. */
export interface QuantStateConfig {
  settings: QuantSettings;
  flags: BinarizationFlags;
  lambda: number;
}

/** The schema's defaults (src/config/schema.ts) as settings, for layers built outside buildModel. */
export const DEFAULT_QUANT_SETTINGS: QuantSettings = quantSettingsFromConfig(defaultConfig());

/** λ before any schedule runs: the schema's `progressive.lambda_start` (assumed). */
export const DEFAULT_LAMBDA = DEFAULTS.progressive.lambda_start;

/** Maps the run config's binarize.* / progressive.* / model.sign_at_zero keys to settings. */
export function quantSettingsFromConfig(config: RunConfig): QuantSettings {
  return {
    gradient: config.binarize.gradient,
    swishBeta: config.binarize.swish_beta,
    signAtZero: config.model.sign_at_zero,
    weightScale: config.binarize.weight_scale,
    weightClip: config.binarize.weight_clip,
    progressive: {
      enabled: config.progressive.enabled,
      fn: config.progressive.function,
      // Configs stored before these keys existed: raw x and the exact derivative, as they trained then.
      scale: config.progressive.scale ?? 'none',
      gradient: config.progressive.gradient ?? 'exact',
      applyTo: config.progressive.apply_to,
      evalHardSign: config.progressive.eval_hard_sign,
    },
  };
}

/**
 * Flags at the start of training for `binarize.order` (paper §"reverse-order initialization"):
 * joint = both binary from step 0; real-first = neither (a real network, then both at the split);
 * weights-first = binary weights, real features; features-first = binary features, real
 * weights (the paper's reverse order). The training loop switches to {true, true} at
 * the end of the first stage (binarize.stage_split or binarize.stage_steps) with `setBinarization`.
 */
export function initialFlagsForOrder(order: string): BinarizationFlags {
  switch (order) {
    case 'joint': return { features: true, weights: true };
    case 'real-first': return { features: false, weights: false };
    case 'weights-first': return { features: false, weights: true };
    case 'features-first': return { features: true, weights: false };
    default: throw new ConfigError(`binarize.order: unknown order '${order}'`);
  }
}

let nextStateId = 0;

/** Model-wide quantization state; one per built or loaded model. Dispose it with the model. */
export class QuantState {
  readonly settings: QuantSettings;
  /** Shared, non-trainable λ: optimizers never touch it (it is not a layer weight). */
  readonly lambdaVar: tf.Variable;
  /**
   * Called by every binary layer with its real-valued input before quantizing it, when set: how
   * diagnostics see the sign states at each layer's input without a second model. Null normally.
   */
  probe: ((layer: string, x: tf.Tensor) => void) | null = null;
  private flags: BinarizationFlags;
  private lambdaValue: number;
  private disposed = false;

  constructor(settings: QuantSettings = DEFAULT_QUANT_SETTINGS,
    flags: BinarizationFlags = { features: true, weights: true }, lambda = DEFAULT_LAMBDA) {
    this.settings = structuredClone(settings);
    this.flags = { ...flags };
    this.lambdaValue = lambda;
    const name = `quant_lambda_${nextStateId++}`;
    // tidy frees the initial scalar; the variable keeps its own reference to the data.
    this.lambdaVar = tf.tidy(() => tf.variable(tf.scalar(lambda), false, name));
  }

  static fromConfig(c: QuantStateConfig): QuantState {
    return new QuantState(c.settings, c.flags, c.lambda);
  }

  toConfig(): QuantStateConfig {
    return { settings: structuredClone(this.settings), flags: { ...this.flags }, lambda: this.lambdaValue };
  }

  /** Current λ of the smooth approximations. */
  get lambda(): number {
    return this.lambdaValue;
  }

  /** Sets λ for every layer at once (one scalar assign; call it every step). */
  setLambda(lambda: number): void {
    if (!Number.isFinite(lambda) || lambda < 0) throw new ConfigError(`lambda must be a finite number ≥ 0, got ${lambda}`);
    this.lambdaValue = lambda;
    tf.tidy(() => this.lambdaVar.assign(tf.scalar(lambda)));
  }

  get binarization(): BinarizationFlags {
    return { ...this.flags };
  }

  /** Turns feature and/or weight binarization on or off for every binary layer, effective next call. */
  setBinarization(flags: Partial<BinarizationFlags>): void {
    this.flags = { ...this.flags, ...flags };
  }

  /** Whether progressive quantization currently replaces the hard sign for this tensor kind. */
  private smoothFor(kind: 'features' | 'weights', training: boolean): boolean {
    const p = this.settings.progressive;
    if (!p.enabled || (p.applyTo !== 'both' && p.applyTo !== kind)) return false;
    return training || !p.evalHardSign;
  }

  /** What the feature quantizer does on a call with this `training` flag. */
  featureMode(training: boolean): QuantMode {
    if (!this.flags.features) return 'real';
    return this.smoothFor('features', training) ? 'smooth' : 'hard';
  }

  /** What the weight quantizer does on a call with this `training` flag. */
  weightMode(training: boolean): QuantMode {
    if (!this.flags.weights) return 'real';
    return this.smoothFor('weights', training) ? 'smooth' : 'hard';
  }

  /** The sign op with this state's surrogate gradient (sign at zero applies to features only). */
  hardSignOp(kind: 'features' | 'weights'): (x: tf.Tensor) => tf.Tensor {
    const atZero = kind === 'features' ? this.settings.signAtZero : 'plus_one';
    return hardSign(this.settings.gradient, this.settings.swishBeta, atZero);
  }

  /** The quantizer for `mode`: identity, hard sign, or f(λx) reading the shared λ. */
  quantizer(kind: 'features' | 'weights', mode: QuantMode): (x: tf.Tensor) => tf.Tensor {
    if (mode === 'real') return (x) => x;
    if (mode === 'hard') return this.hardSignOp(kind);
    const { fn, scale, gradient } = this.settings.progressive;
    const lambda = this.lambdaVar as tf.Scalar;
    if (gradient === 'surrogate') return (x) => smoothSignSurrogate(x, fn, lambda, scale, this.settings.gradient, this.settings.swishBeta);
    return (x) => smoothSign(x, fn, lambda, scale);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.lambdaVar.dispose();
  }
}

/** A layer that reads a QuantState (binary conv, binary dense). */
export interface QuantizedLayer {
  quant: QuantState;
  /** The latent kernel α·sign() is applied to (null before the layer is built). */
  latentKernel(): tf.LayerVariable | null;
}

export function isQuantizedLayer<T>(layer: T): layer is T & QuantizedLayer {
  return typeof layer === 'object' && layer !== null && (layer as Partial<QuantizedLayer>).quant instanceof QuantState;
}

/**
 * The one QuantState of a model. A freshly deserialized model has one private state per layer
 * (each rebuilt from its saved config); this replaces them by one shared state (the first
 * layer's) so `setLambda` / `setBinarization` reach every layer. Returns a state with default
 * settings when the model has no binary layer (a fully real model), so callers need no branch.
 */
export function attachQuantState(model: tf.LayersModel): QuantState {
  const layers = model.layers.filter(isQuantizedLayer);
  if (layers.length === 0) return new QuantState();
  const shared = layers[0].quant;
  for (const layer of layers) {
    if (layer.quant !== shared) {
      layer.quant.dispose();
      layer.quant = shared;
    }
  }
  return shared;
}

/**
 * Clips the latent kernels of every binary layer whose weights are currently binarized, when
 * `binarize.weight_clip` is on (Larq's `weight_clip` constraint: outside [−1, 1] the clipped STE
 * passes no gradient, so a drifting weight could never flip sign again). tfjs optimizers do not
 * apply layer constraints, hence an explicit call. Real-valued stages are left alone (assumed: clipping a real
 * network's weights is not what the option means). Call after each optimizer step.
 */
export function applyWeightClip(model: tf.LayersModel, quant: QuantState): void {
  if (!quant.settings.weightClip || !quant.binarization.weights) return;
  tf.tidy(() => {
    for (const layer of model.layers) {
      if (!isQuantizedLayer(layer)) continue;
      const k = layer.latentKernel();
      if (k !== null) k.write(tf.clipByValue(k.read(), -1, 1));
    }
  });
}
