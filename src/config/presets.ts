/**
 * `--preset NAME`: a partial run config in `configs/presets/NAME.yaml`, looked up in the working
 * directory first and then in this package, so that presets work from any folder. A preset may
 * also carry `per_task` sections (applied when the run's task matches, so one `paper` preset can
 * serve pose and classification studies) and `seeds` (replacing the experiment's list).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.ts';
import { loadRunConfig, type LayeredConfig } from './run-config.ts';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PRESET_DIR = path.join('configs', 'presets');

export interface Preset extends LayeredConfig {
  name: string;
  /** Absolute path of the preset file. */
  file: string;
}

function presetDirs(cwd: string): string[] {
  return [...new Set([path.resolve(cwd, PRESET_DIR), path.join(PACKAGE_ROOT, PRESET_DIR)])];
}

/** Preset names found where `--preset` looks, sorted. */
export function availablePresets(cwd: string): string[] {
  const names = new Set<string>();
  for (const dir of presetDirs(cwd)) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (f.endsWith('.yaml')) names.add(f.slice(0, -'.yaml'.length));
  }
  return [...names].sort();
}

/** The file a preset name (or an explicit path to a YAML file) stands for. */
export function presetPath(name: string, cwd: string): string {
  if (/[\\/]/.test(name) || /\.ya?ml$/.test(name)) {
    const file = path.resolve(cwd, name);
    if (!existsSync(file)) throw new UsageError(`--preset '${name}': no such file`);
    return file;
  }
  for (const dir of presetDirs(cwd)) {
    const file = path.join(dir, `${name}.yaml`);
    if (existsSync(file)) return file;
  }
  const known = availablePresets(cwd);
  throw new UsageError(`--preset '${name}': no ${PRESET_DIR}/${name}.yaml${known.length ? ` (available: ${known.join(', ')})` : ''}`);
}

export function loadPreset(name: string, cwd: string): Preset {
  const file = presetPath(name, cwd);
  return { name, file, ...loadRunConfig(file, { cwd, preset: true }) };
}
