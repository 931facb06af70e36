/**
 * Checks across keys that single-leaf validation cannot see. Run on every resolved config, so a
 * preset or grid that combines incompatible values (a pose preset on a classification study)
 * fails at planning time instead of minutes into a run.
 */
import type { RunConfig } from './schema.ts';

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
  if (config.task === 'pose' && config.data.heatmap_size > config.data.input_size) {
    return `data.heatmap_size ${config.data.heatmap_size} is larger than data.input_size ${config.data.input_size}`;
  }
  return undefined;
}
