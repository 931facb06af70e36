/**
 * Run names and params. A key "varies" when it is set by some point (grid, zip or include) and
 * its resolved value differs between runs of the plan; keys every run shares (a grid key pinned
 * by `--set`, say) are left out, since they distinguish nothing.
 */
import { canonicalJson } from '../config/canonical.ts';
import { getPath } from '../config/assign.ts';
import { TEACHER_KEY } from '../config/keys.ts';
import type { Draft } from './teachers.ts';

export interface Described {
  name: string;
  params: Record<string, unknown>;
}

/** `progressive.enabled` reads better as `progressive` than as `enabled`. */
const last = (key: string) => {
  const parts = key.split('.');
  return parts.length > 1 && parts[parts.length - 1] === 'enabled' ? parts[parts.length - 2]! : parts[parts.length - 1]!;
};

/** `key -> label`: the last segment, or the whole key where two keys share a last segment. */
function shortNames(keys: string[]): Map<string, string> {
  const count = new Map<string, number>();
  for (const k of keys) count.set(last(k), (count.get(last(k)) ?? 0) + 1);
  return new Map(keys.map((k) => [k, count.get(last(k))! > 1 ? k : last(k)]));
}

function format(value: unknown, labels: (key: string) => string): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map((v) => format(v, labels)).join(',')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${labels(k)}=${format(v, labels)}`).join(',')}}`;
  }
  return String(value);
}

/**
 * Names every draft (same order as given). `candidates` are the point keys in first-seen order;
 * implicit teachers are named `teacher:` + what their student's mapping set + the varying keys.
 */
export function describeRuns(drafts: Draft[], candidates: string[]): Described[] {
  const regular = drafts.filter((d) => !d.teacherOf);
  const varying = candidates.filter((key) => new Set(regular.map((d) => canonicalJson(getPath(d.config, key)))).size > 1);
  const teacherKeys = [...new Set(drafts.flatMap((d) => d.teacherOf?.keys ?? []))];
  const labels = shortNames([...new Set([...varying, ...teacherKeys])]);
  const label = (k: string) => labels.get(k) ?? last(k);

  const described = drafts.map((d): Described => {
    const keys = d.teacherOf
      ? [...new Set([...d.teacherOf.keys, ...varying.filter((k) => k !== TEACHER_KEY)])]
      : varying;
    const params: Record<string, unknown> = {};
    if (d.teacherOf) params.role = 'teacher';
    for (const key of keys) params[key] = structuredClone(getPath(d.config, key));
    params.seed = d.config.seed;
    const parts = keys.map((k) => `${label(k)}=${format(getPath(d.config, k), label)}`);
    parts.push(`seed=${d.config.seed}`);
    return { name: (d.teacherOf ? 'teacher:' : '') + parts.join(','), params };
  });

  // Names are labels, ids are identities; still, two rows that read the same would mislead.
  const seen = new Map<string, number>();
  for (const r of described) seen.set(r.name, (seen.get(r.name) ?? 0) + 1);
  described.forEach((r, i) => { if (seen.get(r.name)! > 1) r.name = `${r.name}#${drafts[i]!.id.slice(0, 6)}`; });
  return described;
}
