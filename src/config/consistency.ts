/**
 * Checks across keys that single-leaf validation cannot see. Run on every resolved config, so a
 * preset or grid that combines incompatible values (a pose preset on a classification study)
 * fails at planning time instead of minutes into a run.
 */
import type { RunConfig } from './schema.ts';
import { binarizableLayerNames, MAX_INPUT_SIDE, MIN_INPUT_SIDE, unmatchedKeepReal } from '../models/layer-names.ts';

const TASKS: Record<string, { arch: readonly string[]; data: readonly string[] }> = {
  pose: { arch: ['hourglass'], data: ['synthetic-pose', 'mpii', 'coco-keypoints'] },
  classification: { arch: ['alexnet', 'resnet18'], data: ['mnist', 'fashion-mnist', 'cifar10', 'image-folder', 'imagenet'] },
};

/** The first inconsistency found, as a message; undefined when the config hangs together. */
export function checkConsistency(config: RunConfig): string | undefined {
  const task = TASKS[config.task];
  if (task) {
    if (!task.arch.includes(config.model.arch)) {
      return `task '${config.task}' needs model.arch ${task.arch.join(' or ')}, got '${config.model.arch}'`;
    }
    if (!task.data.includes(config.data.name)) {
      return `task '${config.task}' needs data.name ${task.data.join(' or ')}, got '${config.data.name}'`;
    }
  }
  if (config.task === 'pose' && config.model.arch === 'hourglass') {
    const problem = checkHourglassSizes(config);
    if (problem) return problem;
  }
  if (config.task === 'classification') {
    const side = config.data.input_size;
    if (side < MIN_INPUT_SIDE || side > MAX_INPUT_SIDE) return `data.input_size: ${config.model.arch} takes sides ${MIN_INPUT_SIDE}..${MAX_INPUT_SIDE}, got ${side}`;
  }
  return checkSchedule(config) ?? checkKeepReal(config);
}

/** The builder refuses keep_real entries that name no layer (a typo would silently do nothing); so does the plan. */
function checkKeepReal(config: RunConfig): string | undefined {
  if (!config.model.binary) return undefined; // every layer is real: nothing to match, as in build.ts
  const shape = { stacks: config.model.stacks, depth: config.model.depth };
  const unmatched = unmatchedKeepReal(config.model.arch, shape, config.model.keep_real);
  if (unmatched.length === 0) return undefined;
  const sample = binarizableLayerNames(config.model.arch, shape).slice(0, 5).join(', ');
  return `model.keep_real: ${unmatched.map((u) => `'${u}'`).join(', ')} names no binarizable layer of ${config.model.arch} (e.g. ${sample}, ...; "first" and "last" are aliases; end a prefix with '*')`;
}

/**
 * The HourGlass's size rules (src/models/hourglass.ts builds what they describe): the stem
 * (stride 2) and a max-pool make heatmaps of input/4, and each recursion level halves them.
 */
function checkHourglassSizes(config: RunConfig): string | undefined {
  const { input_size: input, heatmap_size: heatmap } = config.data;
  if (input % 4 !== 0) return `data.input_size ${input} is not divisible by 4 (the stem's stride 2 and a max-pool give heatmaps of input/4)`;
  if (heatmap !== input / 4) return `data.heatmap_size ${heatmap} is not data.input_size / 4 = ${input / 4} (what the HourGlass outputs)`;
  const unit = 2 ** config.model.depth;
  if (heatmap % unit !== 0) {
    return `model.depth ${config.model.depth} halves the ${heatmap}x${heatmap} heatmap ${config.model.depth} times: its side must be divisible by ${unit}`;
  }
  return undefined;
}

function checkSchedule(config: RunConfig): string | undefined {
  const bad = config.train.lr_milestones.find((m) => !(m > 0 && m < 1));
  if (bad !== undefined) return `train.lr_milestones: ${bad} is not a fraction of training in (0, 1)`;
  return undefined;
}
