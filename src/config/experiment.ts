/**
 * Experiment files: a study and the runs it expands to. Reading validates every key and value in
 * place (so errors carry their line); expansion into runs is grid/'s job.
 *
 *   name, description   labels; `name` also names results/<name>/ (default: the file's basename)
 *   extends             a base run config (path or list of paths, relative to this file; chains)
 *   set                 overrides of the base
 *   grid                dotted key -> list of values; the cartesian product over keys
 *   zip                 list of groups; in a group, equal-length lists advance together
 *   exclude             partial assignments of grid/zip keys; matching points are dropped
 *   include             extra points (any keys), added after exclusion
 *   seeds               repeats every point once per seed
 *   report              free-form mapping for the reporter
 *   executor            cluster settings (executor.slurm); never part of a run's config or id
 *   experiments         a suite: a list of experiment files planned one after another
 *
 * A file with none of these keys but `extends` is a plain run config, planned as one run.
 */
import path from 'node:path';
import type { Node } from 'yaml';
import { ConfigError, type SourcePosition } from '../errors.ts';
import { canonicalJson } from './canonical.ts';
import { readExecutor, type ExecutorSettings } from './executor.ts';
import { readAssignments, readLeaf, type Override } from './assign.ts';
import { isSection, leafSpec, nearest, show, unknownKeyMessage } from './keys.ts';
import { EXPERIMENT_KEYS, extendsTargets, loadRunConfig, readSeeds } from './run-config.ts';
import { mapEntries, readYaml, rootEntries, seqItems, toJS, type Entry, type YamlSource } from './source.ts';

/** One dimension of the grid: a grid key (one key), or a zip group (several keys in step). */
export interface Axis {
  keys: string[];
  /** One row per position along the axis: the overrides it contributes to a point. */
  rows: Override[][];
  pos: SourcePosition;
}

/** A partial assignment (an `exclude` or `include` entry). */
export interface PartialPoint {
  overrides: Override[];
  pos: SourcePosition;
}

export interface ExperimentSpec {
  kind: 'experiment';
  /** Absolute path. */
  file: string;
  /** Path as shown in messages. */
  display: string;
  name: string;
  description?: string;
  /** The `extends` chain (root first), then `set`. */
  base: Override[];
  axes: Axis[];
  exclude: PartialPoint[];
  include: PartialPoint[];
  seeds?: number[];
  report?: unknown;
  /** Where report.baseline / report.reference are written. */
  reportPos?: Record<string, SourcePosition>;
  executor?: ExecutorSettings;
}

export interface SuiteSpec {
  kind: 'suite';
  file: string;
  display: string;
  name: string;
  description?: string;
  experiments: Array<{ file: string; pos: SourcePosition }>;
  report?: unknown;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SUITE_KEYS = new Set(['name', 'description', 'experiments', 'report']);

function isRunConfigKey(key: string): boolean {
  return leafSpec(key) !== undefined || isSection(key) || isSection(key.split('.')[0]!);
}

/** Reads an experiment file; `from` is where a suite names it (for "no such file"). */
export function loadExperiment(absFile: string, cwd: string, from?: SourcePosition): ExperimentSpec | SuiteSpec {
  const src = readYaml(absFile, cwd, from, 'experiment');
  const entries = rootEntries(src);
  const isExperiment = entries.some((e) => e.key !== 'extends' && (EXPERIMENT_KEYS as readonly string[]).includes(e.key));
  const fallbackName = path.basename(absFile).replace(/\.ya?ml$/, '');
  if (!isExperiment) {
    // A plain run config: one run, named after the file.
    return {
      kind: 'experiment', file: absFile, display: src.display, name: readName(src, undefined, fallbackName),
      base: loadRunConfig(absFile, { cwd }).overrides, axes: [], exclude: [], include: [],
    };
  }
  const byKey = new Map<string, Entry>();
  for (const entry of entries) {
    if (!(EXPERIMENT_KEYS as readonly string[]).includes(entry.key)) {
      if (isRunConfigKey(entry.key)) throw new ConfigError(`'${entry.key}' is a run-config key: put it under 'set:'`, entry.keyPos);
      const guess = nearest(entry.key, EXPERIMENT_KEYS);
      throw new ConfigError(`unknown key '${entry.key}'${guess ? ` (did you mean '${guess}'?)` : ''}`, entry.keyPos);
    }
    byKey.set(entry.key, entry);
  }
  const name = readName(src, byKey.get('name'), fallbackName);
  const description = readText(src, byKey.get('description'), 'description');
  const report = readReport(src, byKey.get('report'));
  const suiteEntry = byKey.get('experiments');
  if (suiteEntry) {
    for (const entry of byKey.values()) {
      if (!SUITE_KEYS.has(entry.key)) throw new ConfigError(`a suite (a file with 'experiments') cannot also have '${entry.key}'`, entry.keyPos);
    }
    const items = seqItems(src, suiteEntry.value, 'experiments', suiteEntry.valuePos);
    if (items.length === 0) throw new ConfigError('experiments: empty list', suiteEntry.valuePos);
    const experiments = items.map(({ node, pos }) => {
      const rel = toJS(src, node);
      if (typeof rel !== 'string' || rel.trim() === '') throw new ConfigError(`experiments: expected a file path, got ${JSON.stringify(rel)}`, pos);
      return { file: path.resolve(path.dirname(absFile), rel), pos };
    });
    return { kind: 'suite', file: absFile, display: src.display, name, description, experiments, report };
  }

  const base: Override[] = [];
  const ext = byKey.get('extends');
  if (ext) {
    for (const parent of extendsTargets(src, ext, cwd, [absFile])) base.push(...loadRunConfig(parent.file, { cwd }, parent.pos).overrides);
  }
  const set = byKey.get('set');
  if (set) base.push(...readAssignments(src, mapEntries(src, set.value, 'set', set.valuePos)));

  const axes = [...readGrid(src, byKey.get('grid')), ...readZip(src, byKey.get('zip'))];
  checkAxesDisjoint(axes);
  const exclude = readExclude(src, byKey.get('exclude'), axes);
  const include = readPoints(src, byKey.get('include'), 'include');
  const seedsEntry = byKey.get('seeds');
  const seeds = seedsEntry ? readSeeds(src, seedsEntry) : undefined;
  const executor = readExecutor(src, byKey.get('executor'));
  const reportPos = reportSelectorPositions(src, byKey.get('report'));
  return { kind: 'experiment', file: absFile, display: src.display, name, description, base, axes, exclude, include, seeds, report, reportPos, executor };
}

function readName(src: YamlSource, entry: Entry | undefined, fallback: string): string {
  const name = readText(src, entry, 'name') ?? fallback;
  if (!NAME_RE.test(name)) {
    throw new ConfigError(`name '${name}' must be letters, digits, '.', '_' or '-' (it names the results folder)`, entry?.valuePos ?? { file: src.display });
  }
  return name;
}

function readText(src: YamlSource, entry: Entry | undefined, what: string): string | undefined {
  if (!entry) return undefined;
  const value = toJS(src, entry.value);
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(`${what}: expected text, got ${JSON.stringify(value)}`, entry.valuePos);
  return value.trim();
}

/** The keys the reporter reads (src/report/types.ts ReportSpec); any other is a typo that would silently drop the Δ column. */
const REPORT_KEYS = ['metric', 'baseline', 'reference', 'paper_finding', 'expect', 'paper_delta'] as const;
const REPORT_METRICS = ['pckh', 'top1'];

function readReport(src: YamlSource, entry: Entry | undefined): unknown {
  if (!entry) return undefined;
  for (const e of mapEntries(src, entry.value, 'report', entry.valuePos)) {
    if (!(REPORT_KEYS as readonly string[]).includes(e.key)) {
      const guess = nearest(e.key, REPORT_KEYS);
      throw new ConfigError(`report: unknown key '${e.key}'${guess ? ` (did you mean '${guess}'?)` : ` (known: ${REPORT_KEYS.join(', ')})`}`, e.keyPos);
    }
    if (e.key === 'metric') {
      const metric = toJS(src, e.value);
      if (typeof metric !== 'string' || !REPORT_METRICS.includes(metric)) {
        throw new ConfigError(`report.metric: ${show(metric)} is not one of ${REPORT_METRICS.join(', ')}`, e.valuePos);
      }
    }
    if (e.key === 'baseline' || e.key === 'reference') readReportSelector(src, e);
  }
  return toJS(src, entry.value);
}

/** report.baseline / report.reference: run-config keys with the values a row must have. */
function readReportSelector(src: YamlSource, entry: Entry): void {
  const pairs = mapEntries(src, entry.value, `report.${entry.key}`, entry.valuePos);
  if (pairs.length === 0) throw new ConfigError(`report.${entry.key}: empty mapping (name the keys that select the row)`, entry.valuePos);
  for (const p of pairs) {
    if (!leafSpec(p.key)) throw new ConfigError(`report.${entry.key}: ${unknownKeyMessage(p.key)}`, p.keyPos);
  }
}

/** Where the report's row selectors are written, for plan-time "matches no run" errors. */
export function reportSelectorPositions(src: YamlSource, entry: Entry | undefined): Record<string, SourcePosition> {
  if (!entry) return {};
  const out: Record<string, SourcePosition> = {};
  for (const e of mapEntries(src, entry.value, 'report', entry.valuePos)) if (e.key === 'baseline' || e.key === 'reference') out[e.key] = e.valuePos;
  return out;
}

/** A mapping of keys to lists, nested sections allowed; each key's list must be non-empty. */
function readKeyedLists(src: YamlSource, entries: Entry[], what: 'grid' | 'zip'): Array<{ key: string; keyPos: SourcePosition; values: Override[] }> {
  const out: Array<{ key: string; keyPos: SourcePosition; values: Override[] }> = [];
  const visit = (list: Entry[], prefix: string) => {
    for (const entry of list) {
      const key = prefix ? `${prefix}.${entry.key}` : entry.key;
      if (key === 'seed') throw new ConfigError(`${what} cannot vary 'seed': list seeds under 'seeds:'`, entry.keyPos);
      if (isSection(key)) { visit(mapEntries(src, entry.value, `${what} section '${key}'`, entry.valuePos), key); continue; }
      if (!leafSpec(key)) throw new ConfigError(`${what}: ${unknownKeyMessage(key)}`, entry.keyPos);
      if (out.some((o) => o.key === key)) throw new ConfigError(`${what}: '${key}' is listed twice`, entry.keyPos);
      const items = seqItems(src, entry.value, `${what} '${key}'`, entry.valuePos);
      if (items.length === 0) throw new ConfigError(`${what} '${key}': empty list of values`, entry.valuePos);
      const seen = new Set<string>();
      const values = items.map(({ node, pos }) => {
        const value = readLeaf(src, key, node as Node | null, pos);
        const canon = canonicalJson(value);
        // In a zip a value may repeat (rows differ in other keys); rows are checked by readZip.
        if (what === 'grid' && seen.has(canon)) throw new ConfigError(`${what} '${key}': value ${show(value)} is listed twice`, pos);
        seen.add(canon);
        return { key, value, pos, keyPos: entry.keyPos };
      });
      out.push({ key, keyPos: entry.keyPos, values });
    }
  };
  visit(entries, '');
  return out;
}

function readGrid(src: YamlSource, entry: Entry | undefined): Axis[] {
  if (!entry) return [];
  const entries = mapEntries(src, entry.value, 'grid', entry.valuePos);
  if (entries.length === 0) throw new ConfigError('grid: empty (give at least one key and its list of values)', entry.valuePos);
  return readKeyedLists(src, entries, 'grid').map((k) => ({ keys: [k.key], rows: k.values.map((v) => [v]), pos: k.keyPos }));
}

function readZip(src: YamlSource, entry: Entry | undefined): Axis[] {
  if (!entry) return [];
  const groups = seqItems(src, entry.value, 'zip', entry.valuePos);
  if (groups.length === 0) throw new ConfigError('zip: empty list of groups', entry.valuePos);
  return groups.map(({ node, pos }) => {
    const lists = readKeyedLists(src, mapEntries(src, node, 'zip group', pos), 'zip');
    if (lists.length === 0) throw new ConfigError('zip group: empty (give keys and equal-length lists)', pos);
    const length = lists[0]!.values.length;
    const odd = lists.find((l) => l.values.length !== length);
    if (odd) {
      throw new ConfigError(`zip lists differ in length: '${lists[0]!.key}' has ${length} values, '${odd.key}' has ${odd.values.length}`, odd.keyPos);
    }
    const rows = Array.from({ length }, (_, i) => lists.map((l) => l.values[i]!));
    const seen = new Set<string>();
    rows.forEach((row, i) => {
      const canon = canonicalJson(row.map((o) => o.value));
      if (seen.has(canon)) throw new ConfigError(`zip: position ${i + 1} repeats an earlier combination of values`, row[0]!.pos);
      seen.add(canon);
    });
    return { keys: lists.map((l) => l.key), rows, pos };
  });
}

function checkAxesDisjoint(axes: Axis[]): void {
  const owner = new Map<string, SourcePosition>();
  for (const axis of axes) {
    for (const key of axis.keys) {
      const first = owner.get(key);
      if (first) throw new ConfigError(`'${key}' is varied twice (first at line ${first.line})`, axis.pos);
      owner.set(key, axis.pos);
    }
  }
}

function readPoints(src: YamlSource, entry: Entry | undefined, what: 'include' | 'exclude'): PartialPoint[] {
  if (!entry) return [];
  return seqItems(src, entry.value, what, entry.valuePos).map(({ node, pos }) => {
    const entries = mapEntries(src, node, `${what} entry`, pos);
    if (entries.length === 0) throw new ConfigError(`${what} entry: empty mapping`, pos);
    const overrides = readAssignments(src, entries);
    const seed = overrides.find((o) => o.key === 'seed');
    if (seed) throw new ConfigError(`${what} cannot set 'seed': list seeds under 'seeds:'`, seed.keyPos ?? seed.pos);
    return { overrides, pos };
  });
}

/** Exclusions may only name grid/zip keys, with values those keys take: anything else is a typo. */
function readExclude(src: YamlSource, entry: Entry | undefined, axes: Axis[]): PartialPoint[] {
  const points = readPoints(src, entry, 'exclude');
  const values = new Map<string, Set<string>>();
  for (const axis of axes) for (const row of axis.rows) for (const o of row) {
    if (!values.has(o.key)) values.set(o.key, new Set());
    values.get(o.key)!.add(canonicalJson(o.value));
  }
  for (const point of points) {
    for (const o of point.overrides) {
      const known = values.get(o.key);
      if (!known) {
        const varied = [...values.keys()];
        throw new ConfigError(`exclude names '${o.key}', which is not in grid or zip${varied.length ? ` (varied: ${varied.join(', ')})` : ''}`, o.keyPos ?? o.pos);
      }
      if (!known.has(canonicalJson(o.value))) throw new ConfigError(`exclude: ${show(o.value)} is not one of the values of '${o.key}'`, o.pos);
    }
  }
  return points;
}
