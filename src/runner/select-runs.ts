import type { Plan, PlannedRun } from '../grid/index.ts';
import { UsageError } from '../errors.ts';

/**
 * Keeps the runs an `--only` selector names, plus the teachers they need. A selector is a run-id
 * prefix, or `key=value[,key=value]` matched against the run's params and resolved config
 * (a key may be dotted, `model.activation`, or its last segment, `activation`).
 */
export function selectRuns(plans: Plan[], selector: string): Plan[] {
  const matches = matcher(selector);
  const selected = plans.map((plan) => {
    const byId = new Map(plan.runs.map((r) => [r.id, r]));
    const keep = new Set<string>();
    const add = (run: PlannedRun) => {
      if (keep.has(run.id)) return;
      keep.add(run.id);
      for (const dep of run.dependsOn) { const teacher = byId.get(dep); if (teacher) add(teacher); }
    };
    for (const run of plan.runs) if (matches(run)) add(run);
    return { ...plan, runs: plan.runs.filter((r) => keep.has(r.id)) };
  }).filter((plan) => plan.runs.length > 0);
  if (selected.length === 0) throw new UsageError(`--only ${selector}: no run matches`);
  return selected;
}

function matcher(selector: string): (run: PlannedRun) => boolean {
  if (!selector.includes('=')) return (run) => run.id.startsWith(selector);
  const terms = selector.split(',').map((term) => {
    const at = term.indexOf('=');
    if (at <= 0) throw new UsageError(`--only ${selector}: expected key=value, got '${term}'`);
    return [term.slice(0, at).trim(), term.slice(at + 1).trim()] as const;
  });
  return (run) => terms.every(([key, want]) => valuesOf(run, key).some((v) => String(v) === want));
}

function valuesOf(run: PlannedRun, key: string): unknown[] {
  const out: unknown[] = [];
  for (const [k, v] of Object.entries(run.params)) if (k === key || k.endsWith(`.${key}`)) out.push(v);
  let node: unknown = run.config;
  for (const part of key.split('.')) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
  if (node !== undefined) out.push(node);
  return out;
}
