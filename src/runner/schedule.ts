/**
 * The local runner's scheduling rule, as a pure function: given the runs still waiting (in plan
 * order, teachers first), how many workers run and may run (`jobs`, from shareCores: jobs x
 * threads within the cores), whether the grid is stopping (fail-fast after a failure, or a stop
 * signal) and the status of each teacher, which run acts next. No processes, files or clocks:
 * local.ts applies each step and asks again.
 */
import type { RunEnd } from './progress.ts';

/** A waiting run: its key, the keys of the runs it needs done first, and whether it only copies one. */
export interface Schedulable {
  key: string;
  deps: readonly string[];
  /** A copy of a run trained for another experiment: it takes no worker (see PrepareOptions.share). */
  copyOf?: string;
}

/** A run's standing as a dependency: how it ended, or not yet ended. */
export type DepStatus = RunEnd | 'pending';

export interface ScheduleState<T extends Schedulable> {
  waiting: readonly T[];
  /** Workers running now. */
  running: number;
  /** At most this many workers at once. */
  jobs: number;
  /** Fail-fast saw a failure, or the user asked to stop: nothing more starts. */
  stopping: boolean;
  statusOf(depKey: string, task: T): DepStatus;
}

export type NextStep<T> =
  /** Start it: a worker, or for a copy, the copy. */
  | { action: 'launch'; task: T }
  /** A dependency failed or could not run: record this run as blocked, with the reason. */
  | { action: 'block'; task: T; reason: string }
  /** Nothing can start until a running worker ends. */
  | { action: 'wait' }
  /** These never start here: the grid is stopping, or nothing runs that could unblock them (an interrupted teacher). */
  | { action: 'abandon'; tasks: T[] }
  | { action: 'finished' };

function blockReason(task: Schedulable, dep: string, status: 'failed' | 'blocked'): string {
  const what = status === 'failed' ? 'failed' : 'could not run';
  return task.copyOf ? `${task.copyOf}, trained for this run too, ${what}` : `teacher ${dep} ${what}; not trained without it`;
}

/**
 * The first waiting run (in order) that can act: blocked by a failed or blocked dependency, or
 * launched once every dependency is done and a worker is free (copies need none). Otherwise wait
 * for a running worker, or, with none running, abandon what is left.
 */
export function nextStep<T extends Schedulable>(s: ScheduleState<T>): NextStep<T> {
  if (s.waiting.length === 0) return s.running > 0 ? { action: 'wait' } : { action: 'finished' };
  if (s.stopping) return { action: 'abandon', tasks: [...s.waiting] };
  for (const task of s.waiting) {
    const deps = task.deps.map((d) => [d, s.statusOf(d, task)] as const);
    const broken = deps.find(([, st]) => st === 'failed' || st === 'blocked');
    if (broken) return { action: 'block', task, reason: blockReason(task, broken[0], broken[1] as 'failed' | 'blocked') };
    if (deps.every(([, st]) => st === 'done') && (task.copyOf !== undefined || s.running < s.jobs)) return { action: 'launch', task };
  }
  return s.running > 0 ? { action: 'wait' } : { action: 'abandon', tasks: [...s.waiting] };
}

/** Whether a run ending this way stops the grid. */
export function stopsGrid(status: RunEnd, failFast: boolean): boolean {
  return failFast && status !== 'done' && status !== 'interrupted';
}
