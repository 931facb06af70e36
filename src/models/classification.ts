/**
 * Binary AlexNet and binary ResNet-18 for classification, input 28–224 px, every width scaled by
 * model.width_multiplier. Both end in logits [b, numClasses] (no softmax: the loss applies it).
 */
import tf from '../tf.cjs';
import { ConfigError } from '../errors.ts';
import type { BuildContext } from './builder.ts';

type Sym = tf.SymbolicTensor;

export interface ClassifierArgs {
  /** Input [height, width, channels], 28 ≤ side ≤ 224 (MNIST 28×28×1 up to ImageNet 224×224×3). */
  inputShape: [number, number, number];
  numClasses: number;
  /** Scales every hidden width (model.width_multiplier). */
  widthMultiplier: number;
}

import { MAX_INPUT_SIDE, MIN_INPUT_SIDE } from './layer-names.ts';

export { MAX_INPUT_SIDE, MIN_INPUT_SIDE };

/** Names "first" and "last" resolve to, per architecture. */
export const ALEXNET_FIRST = 'conv1';
export const ALEXNET_LAST = 'fc8';
export const RESNET18_FIRST = 'conv1';
export const RESNET18_LAST = 'fc';

/** A width scaled by the multiplier, at least 1. */
export function scaled(width: number, multiplier: number): number {
  return Math.max(1, Math.round(width * multiplier));
}

function checkInput(a: ClassifierArgs, arch: string): void {
  const [h, w] = a.inputShape;
  for (const side of [h, w]) {
    if (!Number.isInteger(side) || side < MIN_INPUT_SIDE || side > MAX_INPUT_SIDE) {
      throw new ConfigError(`data.input_size: ${arch} takes sides ${MIN_INPUT_SIDE}..${MAX_INPUT_SIDE}, got ${h}x${w}`);
    }
  }
  if (a.numClasses < 2) throw new ConfigError(`data.num_classes: at least 2, got ${a.numClasses}`);
}

/**
 * The first conv of AlexNet by input size: the ImageNet 11×11 stride-4 conv only where the input
 * is large enough for it; smaller inputs get 5×5 stride 2 (≥ 64 px) or 3×3 stride 1 (MNIST/CIFAR
 * scale), so three stride-2 pools still leave a spatial map. Assumed (no source covers small inputs).
 */
export function alexnetStem(side: number): { kernel: number; strides: number } {
  if (side >= 128) return { kernel: 11, strides: 4 };
  if (side >= 64) return { kernel: 5, strides: 2 };
  return { kernel: 3, strides: 1 };
}

function maxPool(x: Sym, name: string): Sym {
  // 3×3 stride-2 overlapping pool as AlexNet; 'same' so small maps never shrink to 0.
  return tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name }).apply(x) as Sym;
}

/**
 * Binary AlexNet as XNOR-Net's (conv widths 96-256-384-384-256, fc 4096-4096, each binary layer
 * a BN → sign → conv → act unit; the pools after conv1, conv2 and conv5):
 *   conv1 (real) → BN → act → pool → unit5×5(256) → pool → unit3×3(384) → unit3×3(384)
 *   → unit3×3(256) → pool → flatten → unit fc6(4096) → unit fc7(4096) → BN → fc8 (real, logits)
 * No dropout (assumed: BN units regularize, and runs stay deterministic).
 */
export function alexnet(ctx: BuildContext, a: ClassifierArgs): { inputs: Sym; outputs: Sym[] } {
  checkInput(a, 'alexnet');
  const m = a.widthMultiplier;
  const input = tf.input({ shape: a.inputShape, name: 'image' });
  const stem = alexnetStem(Math.min(a.inputShape[0], a.inputShape[1]));
  let x = ctx.conv(input, { name: ALEXNET_FIRST, filters: scaled(96, m), ...stem, useBias: true, binary: ctx.isBinary(ALEXNET_FIRST) });
  x = ctx.act(ctx.bn(x, 'conv1_bn'), 'conv1_act');
  x = maxPool(x, 'pool1');
  x = ctx.convUnit(x, { name: 'conv2', filters: scaled(256, m), kernel: 5 });
  x = maxPool(x, 'pool2');
  x = ctx.convUnit(x, { name: 'conv3', filters: scaled(384, m), kernel: 3 });
  x = ctx.convUnit(x, { name: 'conv4', filters: scaled(384, m), kernel: 3 });
  x = ctx.convUnit(x, { name: 'conv5', filters: scaled(256, m), kernel: 3 });
  x = maxPool(x, 'pool5');
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as Sym;
  x = ctx.denseUnit(x, { name: 'fc6', units: scaled(4096, m) });
  x = ctx.denseUnit(x, { name: 'fc7', units: scaled(4096, m) });
  x = ctx.bn(x, 'fc8_bn');
  const logits = ctx.dense(x, { name: ALEXNET_LAST, units: a.numClasses, useBias: true, binary: ctx.isBinary(ALEXNET_LAST) });
  return { inputs: input, outputs: [logits] };
}

/** ResNet-18 stage widths and first-block strides. */
const RESNET18_STAGES: Array<{ width: number; stride: number }> = [
  { width: 64, stride: 1 }, { width: 128, stride: 2 }, { width: 256, stride: 2 }, { width: 512, stride: 2 },
];
const RESNET18_BLOCKS_PER_STAGE = 2;
/** Inputs at least this large get the ImageNet stem (7×7 s2 + max-pool); smaller ones a 3×3 s1 stem. */
export const RESNET_IMAGENET_STEM_MIN_SIDE = 112;

/**
 * The authors' PreBasicBlock (binary-networks-pytorch res_block.py), units as configured:
 *   y = unit3×3(stride)(x) → unit3×3 ;  out = y + shortcut(x)
 *   shortcut = x, or avgpool(stride) → conv1×1 → BN (real: the authors' recipes ignore the
 *   downsample layers) when the shape changes.
 */
function basicBlock(ctx: BuildContext, x: Sym, width: number, stride: number, name: string): Sym {
  let y = ctx.convUnit(x, { name: `${name}_conv1`, filters: width, kernel: 3, strides: stride });
  y = ctx.convUnit(y, { name: `${name}_conv2`, filters: width, kernel: 3 });
  const inChannels = x.shape[x.shape.length - 1];
  let shortcut = x;
  if (stride !== 1 || inChannels !== width) {
    if (stride !== 1) {
      shortcut = tf.layers.averagePooling2d({ poolSize: stride, strides: stride, padding: 'same', name: `${name}_down_pool` }).apply(shortcut) as Sym;
    }
    shortcut = ctx.conv(shortcut, { name: `${name}_down_conv`, filters: width, kernel: 1, binary: false });
    shortcut = ctx.bn(shortcut, `${name}_down_bn`);
  }
  return tf.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as Sym;
}

/**
 * Binary ResNet-18 (the authors' `bnn` ResNet with PreBasicBlock):
 *   ImageNet-size input: conv7×7 s2 (real) → BN → act → maxpool 3 s2;  small input: conv3×3 s1 →
 *   BN → act (CIFAR-style, assumed) → 4 stages × 2 blocks (64, 128, 256, 512 · multiplier; stride
 *   2 from stage 2) → global average pool → fc (real, logits).
 */
export function resnet18(ctx: BuildContext, a: ClassifierArgs): { inputs: Sym; outputs: Sym[] } {
  checkInput(a, 'resnet18');
  const m = a.widthMultiplier;
  const input = tf.input({ shape: a.inputShape, name: 'image' });
  const large = Math.min(a.inputShape[0], a.inputShape[1]) >= RESNET_IMAGENET_STEM_MIN_SIDE;
  let x = ctx.conv(input, { name: RESNET18_FIRST, filters: scaled(64, m), kernel: large ? 7 : 3, strides: large ? 2 : 1,
    binary: ctx.isBinary(RESNET18_FIRST) });
  x = ctx.act(ctx.bn(x, 'conv1_bn'), 'conv1_act');
  if (large) x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'conv1_pool' }).apply(x) as Sym;
  RESNET18_STAGES.forEach((stage, s) => {
    for (let b = 0; b < RESNET18_BLOCKS_PER_STAGE; b++) {
      x = basicBlock(ctx, x, scaled(stage.width, m), b === 0 ? stage.stride : 1, `layer${s + 1}_${b}`);
    }
  });
  x = tf.layers.globalAveragePooling2d({ name: 'avgpool' }).apply(x) as Sym;
  const logits = ctx.dense(x, { name: RESNET18_LAST, units: a.numClasses, useBias: true, binary: ctx.isBinary(RESNET18_LAST) });
  return { inputs: input, outputs: [logits] };
}
