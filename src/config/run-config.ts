/**
 * Run-config files (bases, bench configs, presets): partial run configs that may `extends` other
 * run configs, chained, each path relative to the file that names it. Loading yields overrides in
 * application order (the root of the chain first), so that "later wins" is the only rule.
 */
import path from 'node:path';
import { isSeq } from 'yaml';
import { ConfigError, type SourcePosition } from '../errors.ts';
import { readAssignments, type Override } from './assign.ts';
import { leafSpec } from './keys.ts';
import { displayPath, mapEntries, readYaml, rootEntries, seqItems, toJS, type Entry, type YamlSource } from './source.ts';

/** Top-level keys of an experiment file; named in errors when they turn up in a run config. */
export const EXPERIMENT_KEYS = ['name', 'description', 'extends', 'set', 'grid', 'zip', 'exclude', 'include', 'seeds', 'report', 'executor', 'experiments'] as const;

/** What a run-config file (and its `extends` chain) contributes. */
export interface LayeredConfig {
  /** Root of the chain first; later entries win. */
  overrides: Override[];
  /** Presets only: overrides applied when the run's task matches, after `overrides`. */
  perTask: Record<string, Override[]>;
  /** Presets only: replaces the experiment's `seeds`. */
  seeds?: number[];
  /** Absolute paths of the chain, root first. */
  files: string[];
}

export interface LoadOptions {
  cwd: string;
  /** Accept the preset-only keys `per_task` and `seeds`. */
  preset?: boolean;
}

/** Loads a run-config file and everything it extends. */
export function loadRunConfig(absFile: string, opts: LoadOptions, from?: SourcePosition): LayeredConfig {
  return loadChain(absFile, opts, from, []);
}

function loadChain(absFile: string, opts: LoadOptions, from: SourcePosition | undefined, stack: string[]): LayeredConfig {
  const src = readYaml(absFile, opts.cwd, from, 'extends');
  const entries = rootEntries(src);
  const out: LayeredConfig = { overrides: [], perTask: {}, files: [] };
  const ext = entries.find((e) => e.key === 'extends');
  if (ext) {
    for (const parent of extendsTargets(src, ext, opts.cwd, [...stack, absFile])) merge(out, loadChain(parent.file, opts, parent.pos, [...stack, absFile]));
  }
  out.files.push(absFile);
  const own: Entry[] = [];
  for (const entry of entries) {
    if (entry.key === 'extends') continue;
    if (opts.preset && entry.key === 'per_task') mergePerTask(out.perTask, readPerTask(src, entry));
    else if (opts.preset && entry.key === 'seeds') out.seeds = readSeeds(src, entry);
    else if (!opts.preset && entry.key === 'per_task') throw new ConfigError("'per_task' is only allowed in presets", entry.keyPos);
    else if ((EXPERIMENT_KEYS as readonly string[]).includes(entry.key) && !leafSpec(entry.key)) {
      throw new ConfigError(`'${entry.key}' belongs in an experiment file, not in a run config${opts.preset ? ' or preset' : ''}`, entry.keyPos);
    } else own.push(entry);
  }
  out.overrides.push(...readAssignments(src, own));
  return out;
}

function merge(into: LayeredConfig, from: LayeredConfig): void {
  into.overrides.push(...from.overrides);
  mergePerTask(into.perTask, from.perTask);
  if (from.seeds) into.seeds = from.seeds;
  into.files.push(...from.files);
}

function mergePerTask(into: Record<string, Override[]>, from: Record<string, Override[]>): void {
  for (const [task, list] of Object.entries(from)) (into[task] ??= []).push(...list);
}

/**
 * The files an `extends` names (a path or a list of paths, applied in order), resolved against
 * the naming file's folder. A file already on `stack` closes a cycle.
 */
export function extendsTargets(src: YamlSource, entry: Entry, cwd: string, stack: string[]): Array<{ file: string; pos: SourcePosition }> {
  const node = entry.value;
  const items = isSeq(node) ? seqItems(src, node, 'extends', entry.valuePos) : [{ node, pos: entry.valuePos }];
  if (items.length === 0) throw new ConfigError('extends: empty list', entry.valuePos);
  return items.map(({ node: item, pos }) => {
    const rel = toJS(src, item);
    if (typeof rel !== 'string' || rel.trim() === '') throw new ConfigError(`extends: expected a file path, got ${JSON.stringify(rel)}`, pos);
    const file = path.resolve(path.dirname(src.path), rel);
    const at = stack.indexOf(file);
    if (at >= 0) {
      const chain = [...stack.slice(at), file].map((f) => displayPath(f, cwd));
      throw new ConfigError(`extends cycle: ${chain.join(' -> ')}`, pos);
    }
    return { file, pos };
  });
}

const TASKS = (leafSpec('task')?.choices ?? []) as readonly string[];

function readPerTask(src: YamlSource, entry: Entry): Record<string, Override[]> {
  const out: Record<string, Override[]> = {};
  for (const section of mapEntries(src, entry.value, 'per_task', entry.valuePos)) {
    if (!TASKS.includes(section.key)) throw new ConfigError(`per_task: unknown task '${section.key}' (tasks: ${TASKS.join(', ')})`, section.keyPos);
    const overrides = readAssignments(src, mapEntries(src, section.value, `per_task.${section.key}`, section.valuePos));
    const task = overrides.find((o) => o.key === 'task');
    if (task) throw new ConfigError(`per_task.${section.key} cannot set 'task'`, task.pos);
    out[section.key] = overrides;
  }
  return out;
}

/** `seeds`: a non-empty list of distinct non-negative integers. */
export function readSeeds(src: YamlSource, entry: Entry): number[] {
  const items = seqItems(src, entry.value, 'seeds', entry.valuePos);
  if (items.length === 0) throw new ConfigError('seeds: empty list', entry.valuePos);
  const seen = new Set<number>();
  return items.map(({ node, pos }) => {
    const seed = toJS(src, node);
    if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0) {
      throw new ConfigError(`seeds: expected a non-negative integer, got ${JSON.stringify(seed)}`, pos);
    }
    if (seen.has(seed)) throw new ConfigError(`seeds: ${seed} is listed twice`, pos);
    seen.add(seed);
    return seed;
  });
}
