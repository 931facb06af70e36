/**
 * The names of the binarizable layers each architecture builds, computed from the config alone
 * (no tfjs), so `plan` can refuse a `model.keep_real` entry that names no layer instead of every
 * worker failing on it. hourglass.ts, classification.ts and builder.ts build these layers; a test
 * (test/models/layer-names.test.ts) checks this list against what they really build.
 */

/** HPM block `name`: its three chained 3×3 conv units (the 1×1 projection is always real). */
const hpm = (name: string): string[] => [`${name}_conv1`, `${name}_conv2`, `${name}_conv3`];

/** The input sides the classifiers take (MNIST 28×28 up to ImageNet 224×224): classification.ts builds within them, the plan checks them. */
export const MIN_INPUT_SIDE = 28;
export const MAX_INPUT_SIDE = 224;

/** One HourGlass of depth d (hourglass.ts `hourglass`): up, low1, the inner part, low3. */
function hourglassBlocks(depth: number, name: string): string[] {
  const inner = depth > 1 ? hourglassBlocks(depth - 1, name) : hpm(`${name}_d${depth}_low2`);
  return [...hpm(`${name}_d${depth}_up`), ...hpm(`${name}_d${depth}_low1`), ...inner, ...hpm(`${name}_d${depth}_low3`)];
}

export function binarizableLayerNames(arch: string, shape: { stacks: number; depth: number }): string[] {
  if (arch === 'hourglass') {
    const names = ['stem_conv', ...hpm('stem_b1'), ...hpm('stem_b2'), ...hpm('stem_b3')];
    for (let i = 0; i < shape.stacks; i++) names.push(...hourglassBlocks(shape.depth, `hg${i}`), ...hpm(`hg${i}_out`));
    return names;
  }
  if (arch === 'alexnet') return ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8'];
  if (arch === 'resnet18') {
    const blocks = [1, 2, 3, 4].flatMap((s) => [0, 1].flatMap((b) => [`layer${s}_${b}_conv1`, `layer${s}_${b}_conv2`]));
    return ['conv1', ...blocks, 'fc'];
  }
  return [];
}

/** model.keep_real entries (other than the aliases "first" and "last") that match no layer, as builder.ts matches them. */
export function unmatchedKeepReal(arch: string, shape: { stacks: number; depth: number }, keepReal: readonly string[]): string[] {
  const names = binarizableLayerNames(arch, shape);
  return keepReal.filter((p) => p !== 'first' && p !== 'last')
    .filter((p) => !names.some((n) => (p.endsWith('*') ? n.startsWith(p.slice(0, -1)) : n === p)));
}
