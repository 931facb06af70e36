/** What `bnn-ablate plan` prints: a table per plan, or JSON for scripts. */
import type { Plan, PlannedRun } from './types.ts';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n');
}

export function formatPlan(plan: Plan): string {
  const head = `${plan.experiment} (${plan.file}): ${plan.runs.length} run${plan.runs.length === 1 ? '' : 's'}`;
  const rows = [['id', 'name', 'seed', 'depends-on'], ...plan.runs.map((r) => [r.id, r.name, String(r.seed), r.dependsOn.join(',') || '-'])];
  return [head, ...(plan.description ? [plan.description] : []), '', table(rows), ''].join('\n');
}

/** One object per run, every plan's runs in order; `experiment` says which plan a run is from. */
export function planJson(plans: Plan[]): Array<Pick<PlannedRun, 'id' | 'name' | 'seed' | 'params' | 'config' | 'dependsOn'> & { experiment: string }> {
  return plans.flatMap((plan) => plan.runs.map((r) => ({
    id: r.id, name: r.name, seed: r.seed, params: r.params, config: r.config, dependsOn: r.dependsOn, experiment: plan.experiment,
  })));
}
