import type { CommandModule } from 'yargs';
import { SCHEMA } from '../config/schema.ts';
import { UsageError } from '../errors.ts';
import { PCK_NORMALIZERS, computePck, type PckNormalizer } from '../metrics/pck.ts';
import { formatPckTable, loadPckFiles, pckJson } from '../metrics/pck-io.ts';

interface PckArgs {
  gt: string;
  pred: string;
  normalizer: PckNormalizer;
  alpha: number;
  json: boolean;
}

/** `bnn-ablate pck`: PCK@alpha of COCO-format predictions against any COCO keypoints file. */
export const pckCommand: CommandModule<object, PckArgs> = {
  command: 'pck',
  describe: 'PCK@alpha of COCO results against a COCO keypoints file (torso: LSP convention; head: neck-head_top; bbox: longer side)',
  builder: (y) => y
    .option('gt', { type: 'string', demandOption: true, describe: 'COCO keypoints JSON (images, annotations, categories)' })
    .option('pred', { type: 'string', demandOption: true, describe: 'COCO results JSON: [{image_id, category_id, keypoints: [x, y, score, ...], score}]' })
    .option('normalizer', { choices: PCK_NORMALIZERS, demandOption: true, describe: 'reference length: torso |l_shoulder - r_hip|, head |neck - head_top|, bbox max(w, h)' })
    .option('alpha', { type: 'number', default: SCHEMA.eval.pck_alpha.default, describe: 'threshold as a fraction of the reference length' })
    .option('json', { type: 'boolean', default: false, describe: 'print {variant, joints, columns, mean, ...} as JSON' })
    .example('$0 pck --gt data/lspet/annotations/lspet_val.json --pred results.json --normalizer torso', 'LSP PCK@0.2'),
  handler: async (args) => {
    process.stdout.write(await pckReport(args));
  },
};

/** What `pck` prints (separate from the handler so tests need no process). */
export async function pckReport(args: Pick<PckArgs, 'gt' | 'pred' | 'normalizer'> & Partial<Pick<PckArgs, 'alpha' | 'json'>>): Promise<string> {
  const alpha = args.alpha ?? SCHEMA.eval.pck_alpha.default;
  if (!Number.isFinite(alpha) || alpha < 0) throw new UsageError(`--alpha must be a number >= 0, got ${alpha}`);
  if (!PCK_NORMALIZERS.includes(args.normalizer)) throw new UsageError(`--normalizer must be one of ${PCK_NORMALIZERS.join(', ')}, got ${args.normalizer}`);
  const files = await loadPckFiles(args.gt, args.pred);
  const result = computePck(files.set, files.input, { normalizer: args.normalizer, alpha });
  return args.json ? `${JSON.stringify(pckJson(result, files), null, 2)}\n` : formatPckTable(result, files);
}
