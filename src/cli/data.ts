import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { applyOverrides, checkConsistency, defaultConfig, loadRunConfig } from '../config/index.ts';
import { ConfigError, UsageError } from '../errors.ts';
import type { Split } from '../data/types.ts';

interface PreviewArgs {
  config: string;
  out: string;
  count: number;
  split: Split;
  channels: 1 | 3;
}

const previewCommand: CommandModule<object, PreviewArgs> = {
  command: 'preview <config>',
  describe: 'write a PNG contact sheet of samples with their labels (joints, head boxes or classes)',
  builder: (y) => y
    .positional('config', { type: 'string', demandOption: true, describe: 'run config YAML (its data.* keys and seed pick the samples)' })
    .option('out', { type: 'string', demandOption: true, describe: 'PNG file to write (written atomically)' })
    .option('count', { type: 'number', default: 16, describe: 'samples to draw (the first ones of the split)' })
    .option('split', { choices: ['train', 'val'] as const, default: 'train' as const, describe: 'which split' })
    .option('channels', { choices: [1, 3] as const, default: 1 as const, describe: 'classification sets: input channels (mnist replicates grey to 3)' })
    .example('$0 data preview configs/base/pose.yaml --out pose.png', '16 training samples with joints and head boxes'),
  handler: async (args) => {
    if (!Number.isInteger(args.count) || args.count < 1 || args.count > 1024) throw new UsageError(`--count must be an integer in 1..1024, got ${args.count}`);
    const cwd = process.cwd();
    if (!existsSync(path.resolve(cwd, args.config))) throw new UsageError(`config file ${args.config} does not exist`);
    const layered = loadRunConfig(path.resolve(cwd, args.config), { cwd });
    const config = applyOverrides(defaultConfig(), layered.overrides);
    const problem = checkConsistency(config);
    if (problem) throw new ConfigError(problem, { file: args.config });
    const { createDataset } = await import('../data/index.ts');
    const { previewDataset } = await import('../data/preview.ts');
    const dataset = await createDataset(config, { channels: args.channels });
    const r = await previewDataset(dataset, { split: args.split, count: args.count, out: args.out });
    process.stdout.write(`wrote ${r.file}: ${r.count} ${args.split} samples of ${dataset.name} (${r.width}x${r.height})\n`);
  },
};

interface UnpackArgs {
  source: string;
  dest: string;
  only?: string[];
}

const unpackCommand: CommandModule<object, UnpackArgs> = {
  command: 'unpack <source>',
  describe: 'extract shared dataset archives (one folder per dataset) into data/: idempotent, atomic',
  builder: (y) => y
    .positional('source', { type: 'string', demandOption: true, describe: 'folder with one subfolder per dataset, e.g. ../shared/data' })
    .option('dest', { type: 'string', default: 'data', describe: 'where the datasets go (git-ignored data/ by default)' })
    .option('only', { type: 'string', array: true, describe: 'dataset folder names to unpack (default: all)' })
    .example('$0 data unpack ../shared/data', 'data/lspet, data/cifar10, data/fashion-mnist, data/pose-fixtures'),
  handler: async (args) => {
    const { unpackAll } = await import('../data/unpack.ts');
    for (const r of await unpackAll(args.source, args.dest, args.only)) {
      process.stdout.write(`${r.name}: ${r.action} (${path.relative(process.cwd(), r.dest) || r.dest}${r.action === 'unpacked' ? `, ${r.seconds.toFixed(1)} s` : ''})\n`);
    }
  },
};

/** `bnn-ablate data <subcommand>`: look at and prepare datasets. */
export const dataCommand: CommandModule<object, object> = {
  command: 'data <command>',
  describe: 'inspect and prepare datasets (preview, unpack)',
  builder: (y: Argv) => y.command(previewCommand).command(unpackCommand).demandCommand(1, 'name a data subcommand (preview, unpack)'),
  handler: () => {},
};
