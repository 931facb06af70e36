/** `bnn-ablate power`: minimum detectable effects and seeds needed, per comparison (logic in report/run.ts). */
import type { Argv, CommandModule } from 'yargs';

interface PowerArgs {
  targets: string[];
  results: string;
  delta?: number;
  json: boolean;
}

export const powerCommand: CommandModule<object, PowerArgs> = {
  command: 'power <targets..>',
  describe: 'statistical power of every comparison: σ of the paired differences, minimum detectable effect, seeds a Δ would need',
  builder: (y) => (y
    .positional('targets', { type: 'string', array: true, demandOption: true, describe: 'results/<experiment> folders, a results root, an experiment file or suite, or a name' })
    .option('results', { type: 'string', default: 'results', describe: 'results root, for experiment files and names' })
    .option('delta', { type: 'number', describe: 'target Δ in points for every comparison (default: the paper\'s Δ where known, else 1 point)' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON instead of Markdown' })
    .example('$0 power results/pose-init-order', 'MDE at the seeds run, and the seeds the paper\'s +0.8 would need')
    .example('$0 power results/pose-stacks --delta 0.5 --json', 'seeds needed to resolve half a point, as JSON')) as unknown as Argv<PowerArgs>,
  handler: async (argv) => {
    // Loaded here, not at the top: report/ pulls in csv-stringify.
    const { runPower } = await import('../report/run.ts');
    const outcome = await runPower({ targets: argv.targets, resultsDir: argv.results, delta: argv.delta });
    process.stdout.write(argv.json ? `${JSON.stringify(outcome.json, null, 2)}\n` : outcome.markdown);
  },
};
