/** Planning: experiment files in, ordered runs with resolved configs out. No tfjs here. */
export type { Plan, PlannedRun } from './types.ts';
export { buildPlan, loadPlan, loadPlans, type PlanInputs, type PlanOptions } from './plan.ts';
export { runId } from './run-id.ts';
export { orderRuns } from './teachers.ts';
export { formatPlan, planJson } from './format.ts';
