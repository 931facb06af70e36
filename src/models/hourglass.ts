/**
 * Stacked (binary) HourGlass for pose estimation, laid out as the authors' face-alignment FAN
 * (paper.md §2.3) with ICCV'17 HPM blocks. Only the HPM 3×3 convs (and the stem conv, if it is
 * taken out of keep_real) are binarizable; the 1×1 convs (projections, per-stack heads, the merges
 * between stacks) stay real, as in the calibration pilot. Which layers the paper kept real is NOT
 * FOUND: assumed.
 */
import tf from '../tf.cjs';
import { ConfigError } from '../errors.ts';
import { type BuildContext, hpmBlock } from './builder.ts';

type Sym = tf.SymbolicTensor;

/** The stem conv, the layer "first" in model.keep_real names. */
export const HOURGLASS_FIRST = 'stem_conv';

export interface HourglassArgs {
  /** Input [height, width, channels]; height and width divisible by 4 · 2^depth. */
  inputShape: [number, number, number];
  /** Heatmaps per stack (16 MPII joints). */
  numJoints: number;
  /** Stacked HourGlass networks, each with its own heatmap head (model.stacks). */
  stacks: number;
  /** Recursion depth: the lowest resolution is heatmap / 2^depth (model.depth). */
  depth: number;
  /** Width C of every HourGlass block (model.channels). */
  channels: number;
}

/**
 * One HourGlass of depth d (face-alignment `HourGlass._forward`), on [b, h, w, C]:
 *   up  = HPM(x)
 *   low = HPM(maxpool2(x)) → (HourGlass(d − 1) if d > 1 else HPM) → HPM → nearest-upsample ×2
 *   out = up + low
 * Blocks per HourGlass: 3d + 1.
 */
export function hourglass(ctx: BuildContext, x: Sym, depth: number, channels: number, name: string): Sym {
  const up = hpmBlock(ctx, x, channels, `${name}_d${depth}_up`);
  let low = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'valid', name: `${name}_d${depth}_pool` }).apply(x) as Sym;
  low = hpmBlock(ctx, low, channels, `${name}_d${depth}_low1`);
  low = depth > 1 ? hourglass(ctx, low, depth - 1, channels, name) : hpmBlock(ctx, low, channels, `${name}_d${depth}_low2`);
  low = hpmBlock(ctx, low, channels, `${name}_d${depth}_low3`);
  low = tf.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest', name: `${name}_d${depth}_upsample` }).apply(low) as Sym;
  return tf.layers.add({ name: `${name}_d${depth}_add` }).apply([up, low]) as Sym;
}

/** Checks sizes early with messages naming config keys, rather than a tfjs shape error later. */
export function checkHourglassShape(a: HourglassArgs): void {
  const [h, w] = a.inputShape;
  if (h % 4 !== 0 || w % 4 !== 0) {
    throw new ConfigError(`data.input_size: ${h}x${w} is not divisible by 4 (stem stride 2 and a max-pool give heatmaps of input/4)`);
  }
  const unit = 2 ** a.depth;
  if ((h / 4) % unit !== 0 || (w / 4) % unit !== 0) {
    throw new ConfigError(`model.depth: ${a.depth} halves the ${h / 4}x${w / 4} heatmap ${a.depth} times; `
      + `the heatmap side must be divisible by ${unit}`);
  }
  if (a.channels < 4) throw new ConfigError(`model.channels: at least 4, got ${a.channels}`);
}

/**
 * Stacked HourGlass (face-alignment FAN with HPM blocks), input [b, H, W, 3]:
 *   stem: conv7×7 s2 (C/2) → BN → act → HPM(C/2 → C) → maxpool 2 → HPM(C) → HPM(C)   [b, H/4, W/4, C]
 *   stack i: HG(depth, C) → HPM(C) → conv1×1(C) → BN → act → conv1×1(K) = heatmaps_i [b, H/4, W/4, K]
 *   between stacks: x ← x + conv1×1(features_i) + conv1×1(heatmaps_i)
 * Returns one output per stack (intermediate supervision), last stack last.
 * The stem widths C/2 → C scale with C; face-alignment fixes them at 64 → 128 → 128 → 256, which
 * for the C = 128 reference is the same network (assumed for other C).
 */
export function stackedHourglass(ctx: BuildContext, a: HourglassArgs): { inputs: Sym; outputs: Sym[] } {
  checkHourglassShape(a);
  const c = a.channels;
  const input = tf.input({ shape: a.inputShape, name: 'image' });
  // The stem is conv → BN → act whatever the placement: it reads the image, not ±1 features.
  let x = ctx.conv(input, { name: HOURGLASS_FIRST, filters: Math.max(1, Math.floor(c / 2)), kernel: 7, strides: 2,
    useBias: true, binary: ctx.isBinary(HOURGLASS_FIRST) });
  x = ctx.act(ctx.bn(x, 'stem_bn'), 'stem_act');
  x = hpmBlock(ctx, x, c, 'stem_b1');
  x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'valid', name: 'stem_pool' }).apply(x) as Sym;
  x = hpmBlock(ctx, x, c, 'stem_b2');
  x = hpmBlock(ctx, x, c, 'stem_b3');

  const outputs: Sym[] = [];
  let previous = x;
  for (let i = 0; i < a.stacks; i++) {
    const p = `hg${i}`;
    let ll = hourglass(ctx, previous, a.depth, c, p);
    ll = hpmBlock(ctx, ll, c, `${p}_out`);
    ll = ctx.conv(ll, { name: `${p}_lin`, filters: c, kernel: 1, useBias: true, binary: false });
    ll = ctx.act(ctx.bn(ll, `${p}_lin_bn`), `${p}_lin_act`);
    const heatmaps = ctx.conv(ll, { name: `${p}_heatmaps`, filters: a.numJoints, kernel: 1, useBias: true, binary: false });
    outputs.push(heatmaps);
    if (i < a.stacks - 1) {
      const fromFeatures = ctx.conv(ll, { name: `${p}_merge_features`, filters: c, kernel: 1, useBias: true, binary: false });
      const fromHeatmaps = ctx.conv(heatmaps, { name: `${p}_merge_heatmaps`, filters: c, kernel: 1, useBias: true, binary: false });
      previous = tf.layers.add({ name: `${p}_merge` }).apply([previous, fromFeatures, fromHeatmaps]) as Sym;
    }
  }
  return { inputs: input, outputs };
}
