/**
 * Where a grid's wall time goes: training loops, the rest of each worker's life (process start,
 * backend and data loading, writing results), and the parent runner (planning, scheduling,
 * copying shared runs, idle job slots at the tail). bench/runner.ts measures a real grid and
 * prints this; issue 10 asks that runner + worker overhead stay under 2 % of the wall time.
 *
 * With J parallel jobs the grid has wall × J job-seconds to spend. Of those,
 *   training  = Σ train_s        (each run's training loop: final.json's wall_s)
 *   worker    = Σ (worker_s − train_s)   (meta.json endedAt − startedAt, less the loop)
 *   runner    = wall × J − Σ worker_s    (everything outside the workers, and empty slots)
 * and overhead = 1 − training / (wall × J). At J = 1 nothing is idle, so the split is exact.
 */

export interface RunTiming {
  /** Seconds inside the training loop (steps, evaluations, checkpoints). */
  trainS: number;
  /** Seconds from the worker's start to its end as the results store recorded them. */
  workerS: number;
}

export interface GridOverhead {
  wallS: number;
  jobs: number;
  runs: number;
  trainS: number;
  workerOverheadS: number;
  runnerOverheadS: number;
  /** 1 − trainS / (wallS × jobs), in [0, 1] up to clock noise. */
  overhead: number;
}

export function gridOverhead(timings: readonly RunTiming[], wallS: number, jobs: number): GridOverhead {
  if (!(wallS > 0) || !(jobs >= 1)) throw new RangeError(`gridOverhead: wall ${wallS} s and jobs ${jobs} must be positive`);
  const trainS = timings.reduce((s, t) => s + t.trainS, 0);
  const workerS = timings.reduce((s, t) => s + t.workerS, 0);
  const budget = wallS * jobs;
  return {
    wallS, jobs, runs: timings.length, trainS,
    workerOverheadS: workerS - trainS,
    runnerOverheadS: budget - workerS,
    overhead: 1 - trainS / budget,
  };
}

/** A run's timing from its meta.json times and its final.json `wall_s` (the training loop's seconds). */
export function runTiming(meta: { startedAt: string | null; endedAt: string | null }, final: { wall_s?: unknown }): RunTiming {
  const trainS = final.wall_s;
  if (!meta.startedAt || !meta.endedAt || typeof trainS !== 'number') {
    throw new RangeError('runTiming: the run has no start/end time or no final wall_s (not a finished run)');
  }
  return { trainS, workerS: (Date.parse(meta.endedAt) - Date.parse(meta.startedAt)) / 1000 };
}
