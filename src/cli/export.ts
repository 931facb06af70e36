/**
 * `bnn-ablate export <run-dir>`: a finished run as packed sign bits (src/export), and
 * `bnn-ablate evaluate <exported-dir>`: that export scored on the run's validation data by the
 * XNOR-popcount engine (src/infer), beside the trained model's metrics.
 */
import type { Argv, CommandModule } from 'yargs';
import { BACKEND_CHOICES, type BackendRequest } from '../backend/names.ts';
import { RunFailedError } from '../errors.ts';
import { ENGINE_CHOICES } from '../infer/engines.ts';
import { withPlanOptions, type PlanFlags } from './plan.ts';

/** --backend without a default: these commands default to the backend the run trained on, whose floats the export must match. */
const backendFlag = {
  describe: 'compute backend of the real layers; default: the one the run trained on (its meta.json), else auto',
  choices: BACKEND_CHOICES,
  type: 'string',
} as const;

async function useBackend(requested: string | undefined, recorded: string | null): Promise<string> {
  const { selectBackend } = await import('../backend/index.ts');
  const request = (requested ?? recorded ?? 'auto') as BackendRequest;
  return (await selectBackend((BACKEND_CHOICES as readonly string[]).includes(request) ? request : 'auto')).name;
}

interface ExportArgs {
  runDir: string;
  out?: string;
  json: boolean;
  backend?: string;
  fusePrelu: boolean;
}

export const exportCommand: CommandModule<object, ExportArgs> = {
  command: 'export <run-dir>',
  describe: 'write a finished run as packed sign bits + α (binary layers) and float32 (real layers), with a manifest and a size table',
  builder: (y) => y
    .positional('run-dir', { type: 'string', demandOption: true, describe: 'a finished run folder (results/<experiment>/<id>)' })
    .option('out', { type: 'string', requiresArg: true, describe: 'output folder (default <run-dir>/export)' })
    .option('json', { type: 'boolean', default: false, describe: 'print {packedBytes, float32Bytes, ratio}' })
    .option('fuse-prelu', { type: 'boolean', default: true, describe: 'fuse each PReLU that follows a binary layer into its epilogue (--no-fuse-prelu: keep it a layer; the same floats)' })
    .option('backend', backendFlag) as unknown as Argv<ExportArgs>,
  handler: async (argv) => {
    const { exportRun, runBackend } = await import('../export/export.ts');
    const { formatSizeTable } = await import('../export/manifest.ts');
    await useBackend(argv.backend, runBackend(argv.runDir));
    const m = await exportRun(argv.runDir, argv.out, { fusePrelu: argv.fusePrelu });
    const s = m.sizes;
    if (argv.json) {
      process.stdout.write(`${JSON.stringify({ packedBytes: s.packedBytes, float32Bytes: s.float32Bytes, ratio: s.ratio })}\n`);
    } else {
      const fused = m.packed.filter((p) => p.prelu != null).length;
      process.stdout.write(`# ${m.source.runId}: ${m.packed.length} binary layers packed (${m.layout}), ${fused} PReLUs fused into them\n${formatSizeTable(s)}`);
    }
  },
};

interface EvaluateArgs extends PlanFlags {
  exportDir: string;
  json: boolean;
  backend?: string;
  engine: string;
}

export const evaluateCommand: CommandModule<object, EvaluateArgs> = {
  command: 'evaluate <export-dir>',
  describe: 'score an exported (packed) model on its run\'s validation data and compare with the trained model\'s metrics',
  builder: (y) => withPlanOptions(y)
    .positional('export-dir', { type: 'string', demandOption: true, describe: 'a folder written by `bnn-ablate export`' })
    .option('json', { type: 'boolean', default: false, describe: 'print the metrics and the comparison as JSON' })
    .option('engine', { choices: ENGINE_CHOICES, default: 'auto', describe: 'binary convolution engine (auto: native where the addon is built, else wasm, else js)' })
    .option('backend', backendFlag) as unknown as Argv<EvaluateArgs>,
  handler: async (argv) => {
    const { readManifest } = await import('../infer/load.ts');
    const { evaluateExport, formatEvaluation } = await import('../infer/evaluate.ts');
    const { selectEngine } = await import('../infer/engines.ts');
    const manifest = readManifest(argv.exportDir);
    const backend = await useBackend(argv.backend, manifest.source.backend);
    const chosen = selectEngine(argv.engine);
    const r = await evaluateExport(argv.exportDir, { sets: argv.set ?? [], engine: chosen.engine });
    if (argv.json) {
      process.stdout.write(`${JSON.stringify({ ...r, engineReason: chosen.reason, backend }, null, 2)}\n`);
      if (r.predictionsIdentical === false) process.exitCode = 1;
      return;
    }
    process.stdout.write(formatEvaluation(r, manifest.source.runId, backend, chosen.reason));
    if (r.predictionsIdentical === false) throw new RunFailedError(`${argv.exportDir}: the export's predictions differ from the trained model's (${r.differing.join(', ')})`);
  },
};
