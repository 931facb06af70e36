/**
 * Run-config assignments read from YAML nodes: nested (`train: {lr: 0.1}`) and dotted
 * (`train.lr: 0.1`) keys both become `{key: 'train.lr', value, pos}` overrides, each validated
 * against the schema where it is written, so that every error points at its line.
 */
import { isMap, type Node } from 'yaml';
import { ConfigError, type SourcePosition } from '../errors.ts';
import type { RunConfig } from './schema.ts';
import { checkLeaf, isSection, leafSpec, TEACHER_KEY, unknownKeyMessage } from './keys.ts';
import { mapEntries, toJS, type Entry, type YamlSource } from './source.ts';

/** One key set to one value, and where that was written. */
export interface Override {
  key: string;
  value: unknown;
  /** Where the value was written. */
  pos: SourcePosition;
  /** Where the key was written, when it was written in a file. */
  keyPos?: SourcePosition;
}

/** Keys a teacher mapping may not set: the teacher shares the student's seed and task. */
const TEACHER_FORBIDDEN: Record<string, string> = {
  seed: 'the teacher always uses the student\'s seed',
  task: 'the teacher must solve the student\'s task',
  [TEACHER_KEY]: 'a teacher cannot have a teacher of its own',
};

function where(pos: SourcePosition): string {
  return pos.line === undefined ? pos.file : `line ${pos.line}`;
}

/**
 * Reads a mapping of run-config keys (nested or dotted, mixed freely). A key set twice in one
 * mapping, whichever spelling, is an error: YAML only catches exact duplicates.
 */
export function readAssignments(src: YamlSource, entries: Entry[]): Override[] {
  const out: Override[] = [];
  const seen = new Map<string, SourcePosition>();
  const visit = (list: Entry[], pre: string) => {
    for (const entry of list) {
      const key = pre ? `${pre}.${entry.key}` : entry.key;
      if (leafSpec(key)) {
        const first = seen.get(key);
        if (first) throw new ConfigError(`'${key}' is set twice (first at ${where(first)})`, entry.keyPos);
        seen.set(key, entry.keyPos);
        out.push({ key, value: readLeaf(src, key, entry.value, entry.valuePos), pos: entry.valuePos, keyPos: entry.keyPos });
      } else if (isSection(key)) {
        visit(mapEntries(src, entry.value, `section '${key}'`, entry.valuePos), key);
      } else {
        throw new ConfigError(unknownKeyMessage(key), entry.keyPos);
      }
    }
  };
  visit(entries, '');
  return out;
}

/** Reads and validates the value of one leaf. */
export function readLeaf(src: YamlSource, key: string, node: Node | null, pos: SourcePosition): unknown {
  if (key === TEACHER_KEY) return readTeacher(src, node, pos);
  const value = toJS(src, node);
  const problem = checkLeaf(key, value);
  if (problem) throw new ConfigError(problem, pos);
  return value;
}

/**
 * `distill.teacher`: null, a run-directory path, or a mapping of run-config keys that selects
 * another run of the same grid. Mappings come back flat and key-sorted so that the nested and the
 * dotted spelling give the same config (and the same run id).
 */
function readTeacher(src: YamlSource, node: Node | null, pos: SourcePosition): unknown {
  if (isMap(node)) {
    const entries = mapEntries(src, node, TEACHER_KEY, pos);
    if (entries.length === 0) throw new ConfigError(`${TEACHER_KEY}: empty mapping (use null for no teacher)`, pos);
    const assignments = readAssignments(src, entries);
    for (const a of assignments) {
      const why = TEACHER_FORBIDDEN[a.key];
      if (why) throw new ConfigError(`${TEACHER_KEY} cannot set '${a.key}': ${why}`, a.keyPos ?? a.pos);
    }
    return sortedObject(Object.fromEntries(assignments.map((a) => [a.key, a.value])));
  }
  const value = toJS(src, node);
  return checkTeacherValue(value, pos);
}

/** Checks a plain (non-mapping) teacher value. */
export function checkTeacherValue(value: unknown, pos: SourcePosition): unknown {
  if (value === null) return null;
  if (typeof value === 'string' && value.trim() !== '') return value;
  throw new ConfigError(`${TEACHER_KEY}: expected null, a run directory or a mapping of keys, got ${JSON.stringify(value)}`, pos);
}

export function sortedObject(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
}

export function getPath(config: RunConfig, key: string): unknown {
  let node: unknown = config;
  for (const part of key.split('.')) node = (node as Record<string, unknown>)[part];
  return node;
}

export function setPath(config: RunConfig, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = config as unknown as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
  node[parts[parts.length - 1]!] = structuredClone(value);
}

/** Applies overrides in order: later ones win. */
export function applyOverrides(config: RunConfig, overrides: readonly Override[]): RunConfig {
  for (const o of overrides) setPath(config, o.key, o.value);
  return config;
}
