/** Run configs: schema, YAML loading with positions, presets, `--set`. No tfjs here. */
export { defaultConfig, isLeaf, leafEntries, SCHEMA, type Leaf, type LeafType, type RunConfig } from './schema.ts';
export { applyOverrides, getPath, setPath, type Override } from './assign.ts';
export { canonicalJson } from './canonical.ts';
export { checkConsistency } from './consistency.ts';
export { loadExperiment, type ExperimentSpec, type SuiteSpec } from './experiment.ts';
export { checkLeaf, leafKeys, leafSpec, nearest } from './keys.ts';
export { availablePresets, loadPreset, presetPath, type Preset } from './presets.ts';
export { loadRunConfig, type LayeredConfig } from './run-config.ts';
export { parseSetFlag, parseSetFlags } from './set-flag.ts';
