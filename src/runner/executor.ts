/**
 * How a grid is executed, behind one interface (cf. Hydra's Launcher): `prepare` sets up (the
 * backend, the core sharing, checks of the executor's own options), `launch` trains or submits
 * the runs, `summarise` says what happened and with which error the command ends. `local` trains
 * in worker processes here (local-executor.ts); `slurm` submits job arrays (slurm-executor.ts).
 * The CLI only parses flags into an executor's options and prints (src/cli/run.ts).
 */
import type { Plan } from '../grid/index.ts';

/** What a finished launch prints (stdout), and the error the command then ends with, if any. */
export interface ExecutorSummary {
  text: string;
  error?: Error;
}

export interface Executor<Prepared, Result> {
  readonly name: 'local' | 'slurm';
  /** Everything that can refuse before a run is touched: bad options are a UsageError here. */
  prepare(plans: Plan[]): Promise<Prepared>;
  launch(prepared: Prepared): Promise<Result>;
  summarise(result: Result): ExecutorSummary;
}

/** prepare, launch, summarise; prints the summary, then throws its error (a failed or interrupted grid). */
export async function execute<P, R>(executor: Executor<P, R>, plans: Plan[], print: (text: string) => void): Promise<void> {
  const prepared = await executor.prepare(plans);
  const result = await executor.launch(prepared);
  const summary = executor.summarise(result);
  print(summary.text);
  if (summary.error) throw summary.error;
}
