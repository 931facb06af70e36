/**
 * What every architecture builder shares: the build context (binary or real, activation, its
 * placement, layers kept real, seeded initializers) and the conv units and HPM block made of it.
 * Architectures are tfjs functional models built from these on symbolic tensors.
 */
import tf from '../tf.cjs';
import { ConfigError } from '../errors.ts';
import { BinaryConv2D, BinaryDense, defaultKernelInitializer } from '../binary/binary-layers.ts';
import { applyActivation, type ActivationPlacement, type ActivationSpec } from '../binary/activations.ts';
import type { QuantState } from '../binary/quant-state.ts';
import { batchNormalization } from './batch-norm.ts';
import { conv2d } from './conv.ts';

type Sym = tf.SymbolicTensor;

/**
 * BatchNorm as PyTorch's defaults (momentum 0.1 there is 0.9 here; eps 1e-5), because the
 * pilot and reference counts are PyTorch. Assumed.
 */
export const BN_MOMENTUM = 0.9;
export const BN_EPSILON = 1e-5;

export interface BuildContextArgs {
  /** false builds the same topology with every conv real (model.binary). */
  binary: boolean;
  quant: QuantState;
  activation: ActivationSpec;
  placement: ActivationPlacement;
  /** model.keep_real after the architecture resolved "first" / "last" into layer names. */
  keepReal: string[];
  /** Seeds every initializer (config `seed`), so the same config builds the same weights. */
  seed: number;
}

/** Mutable state of one model build. */
export class BuildContext {
  readonly binary: boolean;
  readonly quant: QuantState;
  readonly activation: ActivationSpec;
  readonly placement: ActivationPlacement;
  private readonly keepReal: string[];
  private readonly matched = new Set<string>();
  private seedCounter = 0;
  private readonly seedBase: number;
  /** Layers that could be binary, in build order, and whether they are. */
  readonly candidates: Array<{ name: string; binary: boolean }> = [];

  constructor(args: BuildContextArgs) {
    this.binary = args.binary;
    this.quant = args.quant;
    this.activation = args.activation;
    this.placement = args.placement;
    this.keepReal = args.keepReal;
    // Keeps seeds within 2^31 so tfjs's seeded generators see distinct integers.
    this.seedBase = (args.seed % 100_000) * 10_000;
  }

  /** A fresh seed per initializer: deterministic in build order. */
  nextSeed(): number {
    return this.seedBase + this.seedCounter++;
  }

  /**
   * Whether the candidate layer `name` is binarized: the model is binary and no keep_real entry
   * names it, exactly or as a prefix pattern ending in '*' (e.g. "hg0_*").
   */
  isBinary(name: string): boolean {
    let keep = false;
    for (const pattern of this.keepReal) {
      const hit = pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
      if (hit) {
        this.matched.add(pattern);
        keep = true;
      }
    }
    const binary = this.binary && !keep;
    this.candidates.push({ name, binary });
    return binary;
  }

  /** Throws when a keep_real entry named no binarizable layer (a typo would silently do nothing). */
  checkKeepRealUsed(): void {
    const unused = this.keepReal.filter((p) => !this.matched.has(p));
    if (unused.length > 0) {
      const sample = this.candidates.slice(0, 6).map((c) => c.name).join(', ');
      throw new ConfigError(`model.keep_real: ${unused.map((u) => `'${u}'`).join(', ')} names no binarizable layer `
        + `(e.g. ${sample}, …; "first" and "last" are aliases; end a prefix with '*')`);
    }
  }

  bn(x: Sym, name: string): Sym {
    return batchNormalization({ axis: -1, momentum: BN_MOMENTUM, epsilon: BN_EPSILON, name }).apply(x) as Sym;
  }

  act(x: Sym, name: string): Sym {
    return applyActivation(x, this.activation, name);
  }

  /** A conv that is binary when `binary`, else an ordinary (real) tf conv with the same init. */
  conv(x: Sym, o: { name: string; filters: number; kernel: number; strides?: number; useBias?: boolean; binary: boolean }): Sym {
    const common = { name: o.name, filters: o.filters, kernelSize: o.kernel, strides: o.strides ?? 1,
      padding: 'same' as const, useBias: o.useBias ?? false, kernelInitializer: defaultKernelInitializer(this.nextSeed()) };
    const layer = o.binary ? new BinaryConv2D({ ...common, quant: this.quant }) : conv2d(common);
    return layer.apply(x) as Sym;
  }

  /** A dense layer, binary or real, as `conv`. */
  dense(x: Sym, o: { name: string; units: number; useBias?: boolean; binary: boolean }): Sym {
    const common = { name: o.name, units: o.units, useBias: o.useBias ?? false,
      kernelInitializer: defaultKernelInitializer(this.nextSeed()) };
    const layer = o.binary ? new BinaryDense({ ...common, quant: this.quant }) : tf.layers.dense(common);
    return layer.apply(x) as Sym;
  }

  /**
   * The binary conv unit, the sign living inside the conv as its input quantizer:
   *   post (default): BN → sign → conv → act   (activation on the real conv output, as in the
   *                   authors' later binary ResNet blocks and Real-to-Binary)
   *   pre:            BN → act → sign → conv   (the HBlock order; with relu and a never-zero sign
   *                   every binary input is +1: relu output is >= 0)
   * Layer names: `${name}` for the conv, `${name}_bn`, `${name}_act`.
   */
  convUnit(x: Sym, o: { name: string; filters: number; kernel: number; strides?: number }): Sym {
    const binary = this.isBinary(o.name);
    let y = this.bn(x, `${o.name}_bn`);
    if (this.placement === 'pre') y = this.act(y, `${o.name}_act`);
    y = this.conv(y, { ...o, binary });
    if (this.placement === 'post') y = this.act(y, `${o.name}_act`);
    return y;
  }

  /** `convUnit` for fully connected layers (AlexNet fc6/fc7). */
  denseUnit(x: Sym, o: { name: string; units: number }): Sym {
    const binary = this.isBinary(o.name);
    let y = this.bn(x, `${o.name}_bn`);
    if (this.placement === 'pre') y = this.act(y, `${o.name}_act`);
    y = this.dense(y, { ...o, binary });
    if (this.placement === 'post') y = this.act(y, `${o.name}_act`);
    return y;
  }
}

/** Output widths of the three chained convs of an HPM block of width c: C/2, C/4, the rest. */
export function hpmWidths(c: number): [number, number, number] {
  const a = Math.floor(c / 2);
  const b = Math.floor(c / 4);
  return [a, b, c - a - b];
}

/**
 * ICCV'17 hierarchical, parallel & multi-scale block (paper.md §2.1; the authors' HBlock /
 * face-alignment ConvBlock):
 *   o1 = unit3x3(x → C/2), o2 = unit3x3(o1 → C/4), o3 = unit3x3(o2 → C/4)
 *   y  = concat(o1, o2, o3) + (x if C_in = C else BN → act → conv1x1(x))
 * Receptive fields 3, 5, 7 side by side. Only the 3×3 convs are binarizable; the 1×1 projection
 * stays real, as in the authors' code. Its activation is the configured one (face-alignment uses
 * ReLU there: assumed). Shapes [b, h, w, C_in] → [b, h, w, C].
 */
export function hpmBlock(ctx: BuildContext, x: Sym, channels: number, name: string): Sym {
  if (channels < 4) throw new ConfigError(`HPM block ${name}: needs at least 4 channels, got ${channels}`);
  const [c1, c2, c3] = hpmWidths(channels);
  const o1 = ctx.convUnit(x, { name: `${name}_conv1`, filters: c1, kernel: 3 });
  const o2 = ctx.convUnit(o1, { name: `${name}_conv2`, filters: c2, kernel: 3 });
  const o3 = ctx.convUnit(o2, { name: `${name}_conv3`, filters: c3, kernel: 3 });
  const y = tf.layers.concatenate({ axis: -1, name: `${name}_concat` }).apply([o1, o2, o3]) as Sym;
  const inChannels = x.shape[x.shape.length - 1];
  let shortcut = x;
  if (inChannels !== channels) {
    shortcut = ctx.act(ctx.bn(x, `${name}_proj_bn`), `${name}_proj_act`);
    shortcut = ctx.conv(shortcut, { name: `${name}_proj`, filters: channels, kernel: 1, binary: false });
  }
  return tf.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as Sym;
}
