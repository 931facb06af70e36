/**
 * `bnn-ablate run` and `run-one`: train grids, or one prepared run (cluster tasks). The local
 * runner's pooled workers have an entry of their own (bin/worker.js, runner/worker-main.ts).
 */
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../errors.ts';
import type { Plan } from '../grid/index.ts';
import { backendOption, type BackendOptionArgs } from './backends.ts';
import { planOptionsFrom, withPlanOptions, type PlanFlags } from './plan.ts';
import { untilStopped } from '../runner/until-stopped.ts';

interface RunArgs extends PlanFlags, BackendOptionArgs {
  experiments: string[];
  wait: boolean;
  jobs?: number;
  threads?: number;
  runsPerWorker?: number;
  failFast: boolean;
  only?: string;
  force: boolean;
  results: string;
  executor: 'local' | 'slurm';
  dryRun: boolean;
  slurmPartition?: string;
  slurmAccount?: string;
  slurmTime?: string;
  slurmCpusPerTask?: number;
  slurmMem?: string;
  slurmGres?: string;
  slurmSbatch?: string[];
  slurmSetup?: string;
  slurmNode?: string;
}

/** Flags that only mean something to `--executor slurm` (each overrides the experiment's executor.slurm key). */
const SLURM_GROUP = 'Slurm (--executor slurm; override the experiment file\'s executor.slurm):';
const slurmOptions = {
  'dry-run': { type: 'boolean', default: false, group: SLURM_GROUP, describe: 'print the sbatch scripts; write and submit nothing' },
  'slurm-partition': { type: 'string', requiresArg: true, group: SLURM_GROUP, describe: 'sbatch --partition' },
  'slurm-account': { type: 'string', requiresArg: true, group: SLURM_GROUP, describe: 'sbatch --account' },
  'slurm-time': { type: 'string', requiresArg: true, group: SLURM_GROUP, describe: 'sbatch --time per run (minutes or [D-]HH:MM[:SS]); at the limit a run checkpoints' },
  'slurm-cpus-per-task': { type: 'number', requiresArg: true, group: SLURM_GROUP, describe: 'sbatch --cpus-per-task (also the run\'s thread count)' },
  'slurm-mem': { type: 'string', requiresArg: true, group: SLURM_GROUP, describe: 'sbatch --mem, e.g. 16G' },
  'slurm-gres': { type: 'string', requiresArg: true, group: SLURM_GROUP, describe: 'sbatch --gres, e.g. gpu:1' },
  'slurm-sbatch': { type: 'string', requiresArg: true, group: SLURM_GROUP, describe: 'an extra sbatch option, e.g. --qos=normal (repeatable; adds to the file\'s)', coerce: (v: string | string[]) => ([] as string[]).concat(v) },
  'slurm-setup': { type: 'string', requiresArg: true, group: SLURM_GROUP, describe: 'shell run before each task, e.g. "module load nodejs/20"' },
  'slurm-node': { type: 'string', requiresArg: true, group: SLURM_GROUP, describe: 'the Node.js a task runs bin/bnn-ablate.js with (default: node from PATH)' },
} as const;

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run <experiments..>',
  describe: 'train every pending run of one or more experiments (done runs are skipped; unfinished ones resume)',
  builder: (y) => withPlanOptions(y)
    .positional('experiments', { type: 'string', array: true, demandOption: true, describe: 'experiment YAML files (or suites)' })
    .options(backendOption)
    .option('jobs', { type: 'number', describe: 'runs in parallel (default: cores on cpu/wasm, 1 on gpu/node); with --executor slurm, at most N tasks of each job array at once' })
    .option('threads', { type: 'number', requiresArg: true, describe: 'compute threads per run on native (and node) backends (default: a run\'s train.threads, else cores / jobs); jobs x threads never exceeds the cores' })
    .option('runs-per-worker', { type: 'number', requiresArg: true, describe: 'runs a local worker process trains before a fresh one takes over (default: no limit; 1 starts a process per run)' })
    .option('fail-fast', { type: 'boolean', default: false, describe: 'stop the grid at the first failed run' })
    .option('only', { type: 'string', describe: 'train only matching runs (and their teachers): an id prefix or key=value[,key=value]' })
    .option('force', { type: 'boolean', default: false, describe: 'replace run folders whose stored config differs from the plan (the old files are kept in .aside/)' })
    .option('wait', { type: 'boolean', default: false, describe: 'wait for runs another process is training (their lock), then train what it left, instead of leaving them to it' })
    .option('results', { type: 'string', default: 'results', describe: 'results root folder' })
    .option('executor', { choices: ['local', 'slurm'] as const, default: 'local' as const, describe: 'train here (local) or submit one Slurm job array per dependency layer (slurm) and return' })
    .options(slurmOptions)
    .example('$0 run experiments/smoke.yaml', 'train the smoke study on the embedded synthetic data')
    .example('$0 run experiments/paper.yaml --executor slurm --slurm-partition gpu --slurm-gres gpu:1 --dry-run', 'print the Slurm scripts') as unknown as Argv<RunArgs>,
  handler: async (argv) => {
    const plans = await loadRunPlans(argv);
    await checkRunFlags(argv, plans);
    await executeWith(argv, plans, (text) => process.stdout.write(text));
  },
};

/** The plans of the experiments, narrowed by --only; their warnings go to stderr. */
async function loadRunPlans(argv: RunArgs): Promise<Plan[]> {
  const { loadPlans } = await import('../grid/index.ts');
  const { selectRuns } = await import('../runner/select-runs.ts');
  let plans = loadPlans(argv.experiments, planOptionsFrom(argv));
  if (argv.only) plans = selectRuns(plans, argv.only);
  for (const plan of plans) for (const w of plan.warnings ?? []) process.stderr.write(`bnn-ablate: warning: ${plan.experiment}: ${w}\n`);
  return plans;
}

/** Flag checks, before any backend or training. */
async function checkRunFlags(argv: RunArgs, plans: Plan[]): Promise<void> {
  if (argv.jobs !== undefined && (!Number.isInteger(argv.jobs) || argv.jobs < 1)) throw new UsageError(`--jobs must be a positive integer, got ${argv.jobs}`);
  if (argv.threads !== undefined && (!Number.isInteger(argv.threads) || argv.threads < 1)) throw new UsageError(`--threads must be a positive integer, got ${argv.threads}`);
  if (argv.runsPerWorker !== undefined && (!Number.isInteger(argv.runsPerWorker) || argv.runsPerWorker < 1)) throw new UsageError(`--runs-per-worker must be a positive integer, got ${argv.runsPerWorker}`);
  // A results root that is a file, read-only or on a special file system is one line now, not a
  // crash (or a hang) when the first result is written.
  if (argv.results.trim() === '') throw new UsageError('--results: empty path (give a folder, default results)');
  (await import('../data/roots.ts')).checkDataRoots(plans);
  if (!argv.dryRun) {
    const { ensureWritableFolder } = await import('../results/paths.ts');
    const root = ensureWritableFolder(argv.results, '--results');
    for (const plan of plans) ensureWritableFolder(resolve(root, plan.experiment), '--results');
  }
  if (argv.executor === 'slurm') return;
  const slurmOnly = Object.keys(slurmOptions).find((flag) => flag !== 'dry-run' && (argv as unknown as Record<string, unknown>)[flag] !== undefined);
  if (argv.dryRun || slurmOnly) throw new UsageError(`--${slurmOnly ?? 'dry-run'} applies to --executor slurm${slurmOnly ? '' : ' (to see the runs without training, use `bnn-ablate plan`)'}`);
}

/** Builds the chosen executor from the flags, and runs the plans with it (runner/executor.ts). */
async function executeWith(argv: RunArgs, plans: Plan[], print: (text: string) => void): Promise<void> {
  const { execute } = await import('../runner/executor.ts');
  const common = { resultsRoot: resolve(argv.results), force: argv.force, preset: argv.preset ?? null, sets: argv.set ?? [], failFast: argv.failFast };
  if (argv.executor === 'slurm') {
    const { slurmExecutor } = await import('../runner/slurm-executor.ts');
    return execute(slurmExecutor({
      ...common, backend: argv.backend, maxParallel: argv.jobs, dryRun: argv.dryRun,
      flags: {
        partition: argv.slurmPartition, account: argv.slurmAccount, time: argv.slurmTime, cpusPerTask: argv.slurmCpusPerTask,
        mem: argv.slurmMem, gres: argv.slurmGres, sbatch: argv.slurmSbatch, setup: argv.slurmSetup, node: argv.slurmNode,
      },
    }), plans, print);
  }
  const { localExecutor } = await import('../runner/local-executor.ts');
  return execute(localExecutor({
    ...common, backend: argv.backend, jobs: argv.jobs, threads: argv.threads, runsPerWorker: argv.runsPerWorker, wait: argv.wait,
    note: (line) => process.stderr.write(`${line}\n`),
  }), plans, print);
}

interface RunOneArgs extends BackendOptionArgs {
  runDir: string;
}

export const runOneCommand: CommandModule<object, RunOneArgs> = {
  command: 'run-one <run-dir>',
  describe: 'train one run folder prepared by `run` (what workers and cluster tasks execute)',
  builder: (y) => y
    .positional('run-dir', { type: 'string', demandOption: true, describe: 'results/<experiment>/<run-id>' })
    .options(backendOption) as unknown as Argv<RunOneArgs>,
  handler: async (argv) => {
    const { runOne } = await import('../runner/run-one.ts');
    // A parent that dies (killed hard) leaves nobody to report to: checkpoint and stop, as on SIGTERM.
    await untilStopped(['SIGINT', 'SIGTERM', 'disconnect'], (signal) => runOne(argv.runDir, {
      backend: argv.backend,
      signal,
      // Without a parent on the IPC channel (a cluster task, a user), log evaluations plainly.
      report: process.send ? undefined : (m) => {
        if (m.type === 'eval') process.stdout.write(`${m.id} step ${m.step}: ${m.metric} ${m.value.toFixed(2)}\n`);
      },
    }));
  },
};
