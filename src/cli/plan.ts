/** `bnn-ablate plan`: expand and validate an experiment, print its runs, train nothing. */
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../errors.ts';
import { DEFAULT_MAX_RUNS } from '../grid/expand.ts';
import { formatPlan, loadPlans, planJson, type PlanOptions } from '../grid/index.ts';

export interface PlanFlags {
  preset?: string;
  set?: string[];
  maxRuns?: number;
}

/** `--preset` and `--set`, for every command that plans an experiment (plan, run, ...). */
export function withPlanOptions<T>(y: Argv<T>): Argv<T & PlanFlags> {
  return y
    .option('preset', {
      type: 'string',
      requiresArg: true,
      describe: 'apply configs/presets/NAME.yaml (smoke, ci, cpu, paper) or a preset file; grid values still win',
      // Given twice, the last one wins, as with --set.
      coerce: (v: string | string[]) => (Array.isArray(v) ? v[v.length - 1]! : v),
    })
    .option('set', {
      type: 'string',
      requiresArg: true,
      describe: 'override one key, e.g. --set train.steps=200 (repeatable; beats preset and grid)',
      // Not `array: true`: that would swallow the positional file after the last --set.
      coerce: (v: string | string[]) => ([] as string[]).concat(v),
    })
    .option('max-runs', {
      type: 'number',
      requiresArg: true,
      describe: `refuse plans of more runs than this (default ${DEFAULT_MAX_RUNS}); the size is computed before the grid is expanded`,
    }) as unknown as Argv<T & PlanFlags>;
}

/** The planning options a command's parsed flags stand for. */
export function planOptionsFrom(argv: PlanFlags, cwd = process.cwd()): PlanOptions {
  if (argv.maxRuns !== undefined && !(Number.isInteger(argv.maxRuns) && argv.maxRuns >= 1)) throw new UsageError(`--max-runs must be a positive integer, got ${argv.maxRuns}`);
  return { preset: argv.preset, sets: argv.set ?? [], cwd, ...(argv.maxRuns !== undefined ? { maxRuns: argv.maxRuns } : {}) };
}

interface PlanArgs extends PlanFlags {
  experiment: string;
  json?: boolean;
}

export const planCommand: CommandModule<object, PlanArgs> = {
  command: 'plan <experiment>',
  describe: 'expand an experiment file into runs and print them (trains nothing)',
  builder: (y) => withPlanOptions(y)
    .positional('experiment', { type: 'string', demandOption: true, describe: 'experiment YAML (or a suite, or a run config)' })
    .option('json', { type: 'boolean', describe: 'print [{id, name, seed, params, config, dependsOn, experiment}]' }) as unknown as Argv<PlanArgs>,
  handler: (argv) => {
    const plans = loadPlans(argv.experiment, planOptionsFrom(argv));
    for (const plan of plans) for (const w of plan.warnings ?? []) process.stderr.write(`bnn-ablate: warning: ${plan.experiment}: ${w}\n`);
    process.stdout.write(argv.json ? `${JSON.stringify(planJson(plans), null, 2)}\n` : plans.map(formatPlan).join('\n'));
    if (!argv.json && plans.length > 1) {
      const total = plans.reduce((n, p) => n + p.runs.length, 0);
      const distinct = new Set(plans.flatMap((p) => p.runs.map((r) => r.id))).size;
      process.stdout.write(`\n${plans.length} experiments, ${total} runs, ${distinct} distinct: \`run\` trains each distinct run once and copies it into every study that plans it\n`);
    }
  },
};
