import type { RunConfig } from '../config/schema.ts';
import { buildModel } from './build.ts';
import { summarizeModel, type ModelSummary } from './summary.ts';

/** The keys a run's model depends on: runs that differ only in others (training keys) share a model. */
export function modelKey(config: RunConfig): string {
  return JSON.stringify([config.task, config.model, config.binarize, config.data.input_size, config.data.heatmap_size, config.data.num_classes, config.data.name]);
}

/**
 * The summary (`bnn-ablate summary`) of the model a run config builds, on inputs with `channels`
 * channels and, for pose, `numJoints` heatmaps (default: the model's): the finished network, not its first init-order stage, so binary wherever the config
 * makes it binary.
 */
export function summarizeConfig(config: RunConfig, channels: number, numJoints?: number): ModelSummary {
  const built = buildModel(config, { inputShape: [config.data.input_size, config.data.input_size, channels], numJoints });
  try {
    const m = config.model;
    const choices = { activation: m.activation, activation_placement: m.activation_placement, sign_at_zero: m.sign_at_zero, 'binarize.order': config.binarize.order };
    if (m.binary) built.quant.setBinarization({ features: true, weights: true });
    return summarizeModel(built.model, { quant: built.quant, choices });
  } finally {
    built.dispose();
  }
}
