/**
 * `bnn-ablate check`: the CI regression gate (logic in report/run.ts and report/check.ts).
 * Exit codes: 0 passed (or --update wrote the baseline); 1 a regression, reported by throwing
 * RunFailedError after the summary is printed, so bin/ maps it like every failure; 2 a missing
 * or malformed baseline, or results that cannot be compared with it.
 */
import type { Argv, CommandModule } from 'yargs';
import { RunFailedError } from '../errors.ts';

interface CheckArgs {
  targets: string[];
  baseline: string;
  sigma: number;
  tolerance: number;
  junit?: string;
  update: boolean;
  results: string;
}

export const checkCommand: CommandModule<object, CheckArgs> = {
  command: 'check <targets..>',
  describe: 'CI gate: fail when a row\'s mean drops below baseline mean − max(k·std, tolerance) or a finding that held no longer holds',
  builder: (y) => (y
    .positional('targets', { type: 'string', array: true, demandOption: true, describe: 'results/<experiment> folders (or a suite / name, as for report)' })
    .option('baseline', { type: 'string', demandOption: true, requiresArg: true, describe: 'baseline JSON (e.g. baselines/ci.json)' })
    .option('sigma', { type: 'number', default: 2, describe: 'k: allowed drop in baseline standard deviations over seeds' })
    .option('tolerance', { type: 'number', default: 0, describe: 'allowed drop in absolute points, when larger than k·std' })
    .option('junit', { type: 'string', requiresArg: true, describe: 'write JUnit XML: one test case per row and finding' })
    .option('update', { type: 'boolean', default: false, describe: 'write the current results as the new baseline instead of checking' })
    .option('results', { type: 'string', default: 'results', describe: 'results root, for experiment files and names' })
    .example('$0 check results/pose-stacks --baseline baselines/ci.json --junit check.xml', 'gate one study')
    .example('$0 check results/pose-stacks results/cls-alexnet --baseline baselines/ci.json --update', 're-baseline two studies')
    .epilog('Exit 0: passed. Exit 1: a regression. Exit 2: missing or malformed baseline, or results not comparable with it.\n'
      + 'The Markdown summary is printed and appended to $GITHUB_STEP_SUMMARY when set.')) as unknown as Argv<CheckArgs>,
  handler: async (argv) => {
    const { runCheck } = await import('../report/run.ts');
    const { requireWritableFile } = await import('../results/paths.ts');
    // Checked before the gate runs: a bad output path is exit 2, never a failed gate (exit 1).
    if (argv.junit) requireWritableFile(argv.junit, '--junit');
    if (process.env.GITHUB_STEP_SUMMARY) requireWritableFile(process.env.GITHUB_STEP_SUMMARY, '$GITHUB_STEP_SUMMARY');
    const outcome = await runCheck({
      targets: argv.targets, baseline: argv.baseline, sigma: argv.sigma, tolerance: argv.tolerance, junit: argv.junit, update: argv.update, resultsDir: argv.results,
    });
    process.stdout.write(outcome.markdown);
    if (outcome.failures > 0) throw new RunFailedError(`check: ${outcome.failures} regression(s) against ${argv.baseline}`);
  },
};
