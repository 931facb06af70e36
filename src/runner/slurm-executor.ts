/** The `slurm` executor: one sbatch job array per dependency layer (slurm.ts), submitted and left to the cluster. */
import { UsageError } from '../errors.ts';
import type { Plan } from '../grid/index.ts';
import type { Executor } from './executor.ts';
import { formatSubmissions, runSlurm, type SlurmRunOptions, type SlurmSubmission } from './slurm.ts';

export interface SlurmExecutorOptions extends SlurmRunOptions {
  /** --fail-fast was given: refused, Slurm runs every layer. */
  failFast: boolean;
}

export function slurmExecutor(options: SlurmExecutorOptions): Executor<Plan[], SlurmSubmission[]> {
  return {
    name: 'slurm',
    async prepare(plans) {
      if (options.failFast) throw new UsageError('--fail-fast applies to --executor local (Slurm runs every layer; a student of a failed teacher fails with the reason)');
      return plans;
    },
    async launch(plans) {
      const { failFast: _failFast, ...run } = options;
      return runSlurm(plans, run);
    },
    summarise: (submissions) => ({ text: formatSubmissions(submissions, options.dryRun, options.cwd) }),
  };
}
