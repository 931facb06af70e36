/** `bnn-ablate status`: where each run of an experiment stands, from its folder and from Slurm. */
import type { Argv, CommandModule } from 'yargs';

interface StatusArgs {
  dirs: string[];
  json: boolean;
  scheduler: boolean;
}

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status <dirs..>',
  describe: 'show each run of an experiment as pending, running, done, failed (with the reason), interrupted or lost, merging the results folder with squeue/sacct',
  builder: (y) => y
    .positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'results/<experiment> folders' })
    .option('json', { type: 'boolean', default: false, describe: 'print [{experiment, dir, scheduler, counts, runs: [{id, name, state, job, slurm, detail}]}]' })
    .option('scheduler', { type: 'boolean', default: true, describe: 'ask squeue/sacct about submitted jobs (--no-scheduler: the folders only)' })
    .example('$0 status results/pose-distillation', 'a table of the study\'s runs')
    .example('$0 status results/* --json', 'every experiment, as JSON') as unknown as Argv<StatusArgs>,
  handler: async (argv) => {
    const { experimentStatus, formatStatus } = await import('../runner/status.ts');
    const { requireFolder } = await import('../results/paths.ts');
    const { existsSync } = await import('node:fs');
    // A missing folder gets status's own hint; anything else that is not a folder is refused here.
    for (const dir of argv.dirs) if (existsSync(dir)) requireFolder(dir, 'status');
    const all = argv.dirs.map((dir) => experimentStatus(dir, { scheduler: argv.scheduler }));
    process.stdout.write(argv.json ? `${JSON.stringify(all, null, 2)}\n` : all.map(formatStatus).join('\n'));
  },
};
