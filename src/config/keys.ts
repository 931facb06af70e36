/**
 * Lookups on the schema by dotted key, "did you mean" suggestions and the per-leaf value check.
 * Pure functions on plain values: positions are added by the callers, which know the source.
 */
import { isLeaf, leafEntries, SCHEMA, type Leaf } from './schema.ts';

const LEAVES: ReadonlyMap<string, Leaf> = new Map(leafEntries());

const SECTIONS: ReadonlySet<string> = (() => {
  const out = new Set<string>();
  const walk = (node: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(node)) {
      if (isLeaf(v)) continue;
      const key = prefix ? `${prefix}.${k}` : k;
      out.add(key);
      walk(v as Record<string, unknown>, key);
    }
  };
  walk(SCHEMA, '');
  return out;
})();

/** The key whose value names a teacher; its mappings are validated as partial run configs. */
export const TEACHER_KEY = 'distill.teacher';

export function leafSpec(key: string): Leaf | undefined {
  return LEAVES.get(key);
}

export function isSection(key: string): boolean {
  return SECTIONS.has(key);
}

/** Every dotted leaf key, in schema order. */
export function leafKeys(): string[] {
  return [...LEAVES.keys()];
}

/** Every dotted leaf key and section name: what an unknown key is compared against. */
export function runConfigKeys(): string[] {
  return [...LEAVES.keys(), ...SECTIONS];
}

/** Optimal-string-alignment distance: edits plus adjacent swaps, the commonest typos. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

const lastSegment = (key: string) => key.slice(key.lastIndexOf('.') + 1);

/**
 * The candidate nearest to `key`, or undefined when none is close. Both the whole key and its last
 * segment are compared, so a misplaced (`model.lr`) or unprefixed (`activaton`) key still finds
 * its leaf; ties go to the closer whole key.
 */
export function nearest(key: string, candidates: Iterable<string>): string | undefined {
  let best: { cand: string; score: number; full: number } | undefined;
  for (const cand of candidates) {
    const full = editDistance(key, cand);
    const last = editDistance(lastSegment(key), lastSegment(cand));
    const score = Math.min(full, last);
    const limit = Math.max(1, Math.floor(Math.min(key.length, lastSegment(cand).length) / 3));
    if (score > limit) continue;
    if (!best || score < best.score || (score === best.score && full < best.full)) best = { cand, score, full };
  }
  return best?.cand;
}

export function unknownKeyMessage(key: string, candidates: Iterable<string> = runConfigKeys()): string {
  const guess = nearest(key, candidates);
  return `unknown key '${key}'${guess ? ` (did you mean '${guess}'?)` : ''}`;
}

function typeName(spec: Leaf): string {
  switch (spec.type) {
    case 'number': return 'a number';
    case 'integer': return 'an integer';
    case 'string': return 'a string';
    case 'boolean': return 'a boolean (true or false)';
    case 'number[]': return 'a list of numbers';
    case 'string[]': return 'a list of strings';
    case 'any': return 'a value';
  }
}

export function show(value: unknown): string {
  const text = typeof value === 'string' ? `'${value}'` : value === null || value === undefined ? 'null'
    : typeof value === 'object' ? JSON.stringify(value) : String(value);
  // A message stays one readable line, whatever the value's size.
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `list ${show(value)}`;
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? `integer ${value}` : `number ${value}`;
  return `${typeof value} ${show(value)}`;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Checks one leaf value against its spec; returns the problem as a message naming the key, or
 * undefined when the value is fine. `any` leaves (the teacher) are checked by their reader.
 */
export function checkLeaf(key: string, value: unknown): string | undefined {
  const spec = leafSpec(key);
  if (!spec) return unknownKeyMessage(key);
  if (value === null || value === undefined) {
    return spec.nullable ? undefined : `${key}: expected ${typeName(spec)}, got null`;
  }
  const wrong = () => `${key}: expected ${typeName(spec)}, got ${describe(value)}`;
  switch (spec.type) {
    case 'number': if (!isNumber(value)) return wrong(); break;
    case 'integer': if (!isNumber(value) || !Number.isInteger(value)) return wrong(); break;
    case 'string': if (typeof value !== 'string') return wrong(); break;
    case 'boolean': if (typeof value !== 'boolean') return wrong(); break;
    case 'number[]': if (!Array.isArray(value) || !value.every(isNumber)) return wrong(); break;
    case 'string[]': if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return wrong(); break;
    case 'any': break;
  }
  if (spec.choices && !spec.choices.includes(value)) {
    const options = spec.choices.map(String);
    const guess = typeof value === 'string' ? nearest(value, options) : undefined;
    return `${key}: ${show(value)} is not one of ${options.join(', ')}${guess ? ` (did you mean '${guess}'?)` : ''}`;
  }
  if (typeof value === 'number') {
    if (spec.min !== undefined && value < spec.min) return `${key}: ${value} is below the minimum ${spec.min}`;
    if (spec.above !== undefined && !(value > spec.above)) return `${key}: ${value} must be greater than ${spec.above}`;
    if (spec.max !== undefined && value > spec.max) return `${key}: ${value} is above the maximum ${spec.max}`;
  }
  return undefined;
}
