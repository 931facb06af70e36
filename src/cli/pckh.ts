import type { CommandModule } from 'yargs';
import { UsageError } from '../errors.ts';
import { computePckh, DEFAULT_PCKH_THRESHOLD, type PckhComparison, type PckhMean } from '../metrics/pckh.ts';
import { formatPckhTable, loadPckhFiles, pckhJson } from '../metrics/pckh-io.ts';

interface PckhArgs {
  pred: string;
  gt: string;
  'head-boxes'?: string;
  threshold: number;
  mean: PckhMean;
  comparison: PckhComparison;
  json: boolean;
}

/** `bnn-ablate pckh`: scores predictions from any model against MPII-style ground truth. */
export const pckhCommand: CommandModule<object, PckhArgs> = {
  command: 'pckh',
  describe: 'MPII PCKh of predictions against annotations (default: count-weighted Mean, err <= t, as HRNet / official evalMPII)',
  builder: (y) => y
    .option('pred', { type: 'string', demandOption: true, describe: 'predictions: JSON array of {joints: [[x,y] x16]}, same order as --gt' })
    .option('gt', { type: 'string', demandOption: true, describe: 'annotations: JSON array of {joints, joints_vis, head_box: [[x1,y1],[x2,y2]]}, or HRNet annot/valid.json with --head-boxes' })
    .option('head-boxes', { type: 'string', describe: 'JSON array of head boxes [[x1,y1],[x2,y2]] in --gt order (e.g. headboxes_src of HRNet gt_valid.mat)' })
    .option('threshold', { type: 'number', default: DEFAULT_PCKH_THRESHOLD, describe: 'PCKh threshold in head sizes (0.6 x head-box diagonal)' })
    .option('mean', { choices: ['count-weighted', 'unweighted'] as const, default: 'count-weighted' as const, describe: 'Mean over 14 joints: weighted by visible counts (HRNet, evalMPII) or plain (bearpaw)' })
    .option('comparison', { choices: ['le', 'lt'] as const, default: 'le' as const, describe: 'correct when err <= t (HRNet, evalMPII) or err < t (bearpaw)' })
    .option('json', { type: 'boolean', default: false, describe: 'print {variant, threshold, joints, columns} as JSON' })
    .example('$0 pckh --pred preds.json --gt annotations.json', 'table at PCKh@0.5')
    .example('$0 pckh --pred preds.json --gt annot/valid.json --head-boxes annot/head_boxes_valid.json --json', 'HRNet valid.json with companion head boxes'),
  handler: async (args) => {
    process.stdout.write(await pckhReport(args));
  },
};

/** What `pckh` prints for these arguments (separate from the handler so tests need no process). */
export async function pckhReport(args: Pick<PckhArgs, 'pred' | 'gt' | 'head-boxes' | 'json'> & Partial<Pick<PckhArgs, 'threshold' | 'mean' | 'comparison'>>): Promise<string> {
  const threshold = args.threshold ?? DEFAULT_PCKH_THRESHOLD;
  if (!Number.isFinite(threshold) || threshold < 0) throw new UsageError(`--threshold must be a number >= 0, got ${threshold}`);
  const input = await loadPckhFiles({ pred: args.pred, gt: args.gt, headBoxes: args['head-boxes'] });
  const result = computePckh(input, { threshold, mean: args.mean, comparison: args.comparison });
  return args.json ? `${JSON.stringify(pckhJson(result), null, 2)}\n` : formatPckhTable(result);
}
