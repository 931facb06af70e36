/** `bnn-ablate report`: paper-style tables and plots from results folders (logic in report/run.ts). */
import type { Argv, CommandModule } from 'yargs';

interface ReportArgs {
  targets: string[];
  results: string;
  out?: string;
  plots: boolean;
  png: boolean;
  quiet: boolean;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report <targets..>',
  describe: 'tables (mean ± std over seeds, Δ vs baseline, paper Δ, verdict), CSV, JSON and plots from results',
  builder: (y) => (y
    .positional('targets', { type: 'string', array: true, demandOption: true, describe: 'results/<experiment> folders, a results root, an experiment file or suite, or a name (pose-stacks, paper)' })
    .option('results', { type: 'string', default: 'results', describe: 'results root, for experiment files and names' })
    .option('out', { type: 'string', describe: 'folder of the combined report (default: <results>/<suite> for a suite, else the studies\' parent folder)' })
    .option('plots', { type: 'boolean', default: true, describe: 'draw training curves and the bar chart (--no-plots to skip)' })
    .option('png', { type: 'boolean', default: true, describe: 'also render the plots to PNG with sharp (--no-png: SVG only)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'do not print the report, only write it' })
    .example('$0 report results/pose-activation', 'report.md, report.csv, report.json and plots/ in that folder')
    .example('$0 report paper', 'every study of experiments/paper.yaml, plus a combined report in results/paper/')
    .epilog('Each study\'s report goes to its results folder; several studies (or a suite) also get a combined report.')) as unknown as Argv<ReportArgs>,
  handler: async (argv) => {
    // Loaded here, not at the top: report/ pulls in csv-stringify and (for PNGs) sharp.
    const { runReport } = await import('../report/run.ts');
    const outcome = await runReport({ targets: argv.targets, resultsDir: argv.results, out: argv.out, plots: argv.plots, png: argv.png });
    if (!argv.quiet) process.stdout.write(outcome.markdown);
    process.stderr.write(`bnn-ablate: wrote ${outcome.files.length} files (${outcome.files.filter((f) => f.endsWith('report.md')).join(', ')})\n`);
  },
};
