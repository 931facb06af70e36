/**
 * Models: build from a run config, load, summarize. Importing registers nothing: buildModel and
 * loadModel install the layer classes (layer-classes.ts).
 */
export { DEFAULT_NUM_JOINTS, buildModel, loadModel, type Arch, type BinaryModel, type BuildOptions } from './build.ts';
export { BOPS_PER_OP, formatSummary, summarizeModel, type LayerSummary, type ModelSummary, type SummarizeOptions } from './summary.ts';
export { BN_EPSILON, BN_MOMENTUM, BuildContext, hpmBlock, hpmWidths } from './builder.ts';
export { HOURGLASS_FIRST, checkHourglassShape, hourglass, stackedHourglass, type HourglassArgs } from './hourglass.ts';
export {
  ALEXNET_FIRST, ALEXNET_LAST, MAX_INPUT_SIDE, MIN_INPUT_SIDE, RESNET18_FIRST, RESNET18_LAST, alexnet, alexnetStem, resnet18, scaled,
  type ClassifierArgs,
} from './classification.ts';
export { LAYER_CLASS_NAMES, installLayerClasses } from './layer-classes.ts';
export { modelKey, summarizeConfig } from './config-summary.ts';
