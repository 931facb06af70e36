import type { Plan } from '../grid/index.ts';
import type { ExperimentRecord } from '../results/store.ts';

/** The plan as the reporter needs it: rows come from `varying`, the baseline from `report`. */
export function experimentRecord(plan: Plan, preset: string | null, sets: string[]): ExperimentRecord {
  const varying = new Set<string>();
  for (const run of plan.runs) for (const key of Object.keys(run.params)) if (key !== 'seed' && key !== 'role') varying.add(key);
  return {
    experiment: plan.experiment,
    file: plan.file,
    ...(plan.description ? { description: plan.description } : {}),
    task: plan.runs[0]?.config.task ?? 'pose',
    ...(plan.report !== undefined ? { report: plan.report } : {}),
    preset,
    sets,
    varying: [...varying],
    runs: plan.runs.map((r) => ({ id: r.id, name: r.name, seed: r.seed, params: r.params, dependsOn: r.dependsOn })),
    plannedAt: new Date().toISOString(),
  };
}
