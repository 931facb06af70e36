import type { ExecutorSettings } from '../config/executor.ts';
import type { RunConfig } from '../config/schema.ts';

/** One run of a plan: what the runner trains and the results store keys by `id`. */
export interface PlannedRun {
  /** First 10 hex digits of sha256 over the canonical JSON of `config` (seed included). */
  id: string;
  /** Human label from the varying keys, e.g. `activation=prelu,stacks=2,seed=0`. */
  name: string;
  seed: number;
  /**
   * Only the keys that vary across the plan's runs (dotted), plus `seed`; implicit teachers
   * also carry `role: 'teacher'` and the keys their student's teacher mapping set.
   */
  params: Record<string, unknown>;
  /** Fully resolved; `config.seed === seed`. */
  config: RunConfig;
  /** Ids of runs that must finish first (teachers). */
  dependsOn: string[];
}

export interface Plan {
  /** The experiment's name: results go to results/<experiment>/<run-id>/. */
  experiment: string;
  /** The experiment file, relative to the working directory when inside it. */
  file: string;
  description?: string;
  /** The experiment's `report` mapping, untouched. */
  report?: unknown;
  /** Topologically ordered: every run comes after the runs it depends on (teachers first). */
  runs: PlannedRun[];
  /** The experiment's `executor:` settings (cluster options); not part of any run's config. */
  executor?: ExecutorSettings;
  /** Things worth telling the user that are not errors (e.g. duplicate points collapsed). */
  warnings?: string[];
}
