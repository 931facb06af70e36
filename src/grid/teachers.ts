/**
 * Distillation dependencies. A teacher given as a mapping selects "this run, with these keys
 * changed and no teacher of its own" at the student's seed. If the plan already holds that exact
 * config, the student depends on it; otherwise the teacher is added to the plan as an implicit
 * run (shown with `role: teacher`). A teacher given as a path is a finished run elsewhere: no
 * dependency.
 */
import { setPath } from '../config/assign.ts';
import type { RunConfig } from '../config/schema.ts';
import { runId } from './run-id.ts';

/** A run before it is named. */
export interface Draft {
  id: string;
  config: RunConfig;
  dependsOn: string[];
  /** Set on teachers added because no run of the grid matched. */
  teacherOf?: { keys: string[] };
}

/** Adds implicit teachers and fills `dependsOn`; returns the drafts plus the teachers added. */
export function resolveTeachers(drafts: Draft[]): Draft[] {
  const byId = new Map(drafts.map((d) => [d.id, d]));
  const out = [...drafts];
  for (const student of drafts) {
    const teacher = student.config.distill.teacher;
    if (teacher === null || typeof teacher !== 'object') continue;
    const mapping = teacher as Record<string, unknown>;
    const config = structuredClone(student.config);
    for (const [key, value] of Object.entries(mapping)) setPath(config, key, value);
    setPath(config, 'distill.teacher', null);
    const id = runId(config);
    if (!byId.has(id)) {
      const added: Draft = { id, config, dependsOn: [], teacherOf: { keys: Object.keys(mapping) } };
      byId.set(id, added);
      out.push(added);
    }
    if (!student.dependsOn.includes(id)) student.dependsOn.push(id);
  }
  return out;
}

/**
 * Orders runs so that every run follows its dependencies: by dependency depth, and at each depth
 * runs that others wait for first, so a worker pool starts teachers as early as possible. Ties
 * keep expansion order. Teachers never have teachers, so cycles cannot arise; the check guards
 * against that invariant breaking.
 */
export function orderRuns<T extends { id: string; dependsOn: string[] }>(runs: T[]): T[] {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (run: T): number => {
    const known = depth.get(run.id);
    if (known !== undefined) return known;
    if (visiting.has(run.id)) throw new Error(`dependency cycle through run ${run.id}`);
    visiting.add(run.id);
    let d = 0;
    for (const dep of run.dependsOn) {
      const target = byId.get(dep);
      if (!target) throw new Error(`run ${run.id} depends on unknown run ${dep}`);
      d = Math.max(d, depthOf(target) + 1);
    }
    visiting.delete(run.id);
    depth.set(run.id, d);
    return d;
  };
  for (const run of runs) depthOf(run);
  const awaited = new Set(runs.flatMap((r) => r.dependsOn));
  const index = new Map(runs.map((r, i) => [r.id, i]));
  return [...runs].sort((a, b) =>
    depth.get(a.id)! - depth.get(b.id)!
    || Number(awaited.has(b.id)) - Number(awaited.has(a.id))
    || index.get(a.id)! - index.get(b.id)!);
}
