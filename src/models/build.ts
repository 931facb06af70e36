/**
 * The one entry point from a run config to a model: `buildModel` picks the architecture, wires
 * the binarization choices into one shared QuantState, and returns both. `loadModel` restores a
 * saved model with its state re-shared.
 */
import tf from '../tf.cjs';
import type { RunConfig } from '../config/schema.ts';
import { NUM_JOINTS } from '../data/types.ts';
import { ConfigError } from '../errors.ts';
import { parseActivation } from '../binary/activations.ts';
import {
  QuantState, attachQuantState, applyWeightClip, initialFlagsForOrder, quantSettingsFromConfig,
} from '../binary/quant-state.ts';
import { installLayerClasses } from './layer-classes.ts';
import { BuildContext } from './builder.ts';
import { HOURGLASS_FIRST, stackedHourglass } from './hourglass.ts';
import { ALEXNET_FIRST, ALEXNET_LAST, RESNET18_FIRST, RESNET18_LAST, alexnet, resnet18 } from './classification.ts';

export type Arch = RunConfig['model']['arch'];

/** MPII's joint count (src/data/types.ts), the default heatmap count. */
export const DEFAULT_NUM_JOINTS = NUM_JOINTS;

export interface BuildOptions {
  /** Input [height, width, channels], e.g. [64, 64, 3] or [28, 28, 1]. */
  inputShape: [number, number, number];
  /** Heatmaps per HourGlass stack. Default 16. */
  numJoints?: number;
  /** Classes of the classifiers. Default config.data.num_classes. */
  numClasses?: number;
}

/** A built (or loaded) model and the handle the training loop drives it through. */
export interface BinaryModel {
  /**
   * The tfjs model. HourGlass: one output per stack, [b, H/4, W/4, numJoints] each (last stack
   * last). Classifiers: one output, logits [b, numClasses]. Call it with
   * `model.apply(x, {training: true})` in training steps (BatchNorm batch statistics, and the
   * smooth f(λx) when progressive) and `model.predict(x)` to evaluate (hard sign unless
   * progressive.eval_hard_sign is false).
   */
  model: tf.LayersModel;
  /** setLambda(λ) every step; setBinarization({features, weights}) at a stage switch. */
  quant: QuantState;
  /**
   * Binarizable layers by name, with whether each is binary (false when kept real or
   * model.binary=false). After `loadModel` only the binary ones are known and listed.
   */
  binaryLayers: Array<{ name: string; binary: boolean }>;
  /** Clips latent kernels to [−1, 1] when binarize.weight_clip is on and weights are binary; call after each step. */
  afterStep(): void;
  /** Frees the weights and the λ variable. */
  dispose(): void;
}

/** "first" / "last" in model.keep_real, per architecture. HourGlass heads are always real, so "last" adds nothing there. */
const ALIASES: Record<Arch, { first: string[]; last: string[] }> = {
  hourglass: { first: [HOURGLASS_FIRST], last: [] },
  alexnet: { first: [ALEXNET_FIRST], last: [ALEXNET_LAST] },
  resnet18: { first: [RESNET18_FIRST], last: [RESNET18_LAST] },
};

function resolveKeepReal(arch: Arch, keepReal: string[]): string[] {
  return keepReal.flatMap((n) => (n === 'first' || n === 'last' ? ALIASES[arch][n] : [n]));
}

function wrap(model: tf.LayersModel, quant: QuantState, binaryLayers: Array<{ name: string; binary: boolean }>): BinaryModel {
  return {
    model,
    quant,
    binaryLayers,
    afterStep: () => applyWeightClip(model, quant),
    dispose: () => {
      model.dispose();
      quant.dispose();
    },
  };
}

/**
 * Builds the network `config` describes (model.*, binarize.*, progressive.*, seed). The
 * QuantState starts with the flags of binarize.order's first stage and λ = lambda_start.
 */
export function buildModel(config: RunConfig, opts: BuildOptions): BinaryModel {
  installLayerClasses();
  const arch = config.model.arch;
  if (!(arch in ALIASES)) throw new ConfigError(`model.arch: unknown architecture '${config.model.arch}'`);
  const placement = config.model.activation_placement;
  if (placement !== 'post' && placement !== 'pre') throw new ConfigError(`model.activation_placement: '${placement}' is not post or pre`);

  const quant = new QuantState(quantSettingsFromConfig(config), initialFlagsForOrder(config.binarize.order),
    config.progressive.enabled ? config.progressive.lambda_start : undefined);
  const ctx = new BuildContext({
    binary: config.model.binary,
    quant,
    activation: { kind: parseActivation(config.model.activation), leakySlope: config.model.leaky_slope, preluInit: config.model.prelu_init },
    placement,
    keepReal: resolveKeepReal(arch, config.model.keep_real),
    seed: config.seed,
  });

  let graph: { inputs: tf.SymbolicTensor; outputs: tf.SymbolicTensor[] };
  try {
    if (arch === 'hourglass') {
      graph = stackedHourglass(ctx, {
        inputShape: opts.inputShape,
        numJoints: opts.numJoints ?? DEFAULT_NUM_JOINTS,
        stacks: config.model.stacks,
        depth: config.model.depth,
        channels: config.model.channels,
      });
      const expected = opts.inputShape[0] / 4;
      if (config.data.heatmap_size !== expected) {
        throw new ConfigError(`data.heatmap_size: the HourGlass gives input/4 = ${expected}, config says ${config.data.heatmap_size}`);
      }
    } else {
      const args = { inputShape: opts.inputShape, numClasses: opts.numClasses ?? config.data.num_classes, widthMultiplier: config.model.width_multiplier };
      graph = arch === 'alexnet' ? alexnet(ctx, args) : resnet18(ctx, args);
    }
    // model.binary=false keeps every layer real, so keep_real has nothing to match there.
    if (config.model.binary) ctx.checkKeepRealUsed();
  } catch (err) {
    quant.dispose();
    throw err;
  }
  const model = tf.model({ inputs: graph.inputs, outputs: graph.outputs, name: `${arch}${config.model.binary ? '_binary' : '_real'}` });
  return wrap(model, quant, ctx.candidates);
}

/**
 * Loads a model saved with `model.save(...)` (a URL such as file://dir/model.json, or an
 * IOHandler such as tf.io.fromMemory) and re-shares its quantization state, saved inside every
 * binary layer's config (flags and λ as they were at save time).
 */
export async function loadModel(source: string | tf.io.IOHandler): Promise<BinaryModel> {
  installLayerClasses();
  const model = await tf.loadLayersModel(source);
  const quant = attachQuantState(model);
  const binaryLayers = model.layers
    .filter((l) => l.getClassName() === 'BinaryConv2D' || l.getClassName() === 'BinaryDense')
    .map((l) => ({ name: l.name, binary: true }));
  return wrap(model, quant, binaryLayers);
}
