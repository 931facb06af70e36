/** `bnn-ablate summary` and `bnn-ablate bench`: look at a model's size, and time its training step. */
import type { Argv, CommandModule } from 'yargs';
import type { RunConfig } from '../config/schema.ts';
import { RunFailedError, UsageError } from '../errors.ts';
import { backendOption, type BackendOptionArgs } from './backends.ts';
import { planOptionsFrom, withPlanOptions, type PlanFlags } from './plan.ts';

interface ModelArgs extends PlanFlags, BackendOptionArgs {
  config: string;
  json: boolean;
  only?: string;
}

/** The distinct run configs of a file (a run config gives one; an experiment one per run). */
async function configsOf(argv: ModelArgs): Promise<Array<{ name: string; config: RunConfig }>> {
  const { loadPlans } = await import('../grid/index.ts');
  const { selectRuns } = await import('../runner/select-runs.ts');
  let plans = loadPlans(argv.config, planOptionsFrom(argv));
  if (argv.only) plans = selectRuns(plans, argv.only);
  return plans.flatMap((p) => p.runs.map((r) => ({ name: p.runs.length > 1 ? `${p.experiment}/${r.name}` : p.experiment, config: r.config })));
}

const shared = <T>(y: Argv<T>) => withPlanOptions(y)
  .positional('config', { type: 'string', demandOption: true, describe: 'run config or experiment YAML' })
  .options(backendOption)
  .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
  .option('only', { type: 'string', describe: 'runs of an experiment to use: an id prefix or key=value[,key=value]' });

export const summaryCommand: CommandModule<object, ModelArgs> = {
  command: 'summary <config>',
  describe: 'per-layer shapes, 1-bit and 32-bit parameters, memory, MACs, OPs and the binary share (one table per distinct model); given an export folder, its bytes on disk',
  builder: (y) => shared(y) as unknown as Argv<ModelArgs>,
  handler: async (argv) => {
    if (await summarizeExport(argv)) return;
    const runs = await configsOf(argv);
    const { selectBackend } = await import('../backend/index.ts');
    await selectBackend(argv.backend);
    const { formatSummary, modelKey, summarizeConfig } = await import('../models/index.ts');
    const { inputChannels, poseJoints } = await import('../data/index.ts');
    const seen = new Set<string>();
    const out: Array<{ name: string; summary: unknown }> = [];
    for (const { name, config } of runs) {
      if (seen.has(modelKey(config))) continue;
      seen.add(modelKey(config));
      const summary = summarizeConfig(config, inputChannels(config), await poseJoints(config));
      out.push({ name, summary });
      if (!argv.json) process.stdout.write(`# ${name}\n${formatSummary(summary)}\n`);
    }
    if (argv.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  },
};

/** `summary <export-dir>`: an export's bytes on disk, size table and OPs. Returns false when the path is no export. */
async function summarizeExport(argv: ModelArgs): Promise<boolean> {
  const { existsSync, readdirSync, statSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { MANIFEST_JSON, formatExportSummary } = await import('../export/manifest.ts');
  if (!existsSync(join(argv.config, MANIFEST_JSON))) return false;
  const { readManifest } = await import('../infer/load.ts');
  const m = readManifest(argv.config);
  const files = readdirSync(argv.config).sort().map((name) => ({ name, bytes: statSync(join(argv.config, name)).size }));
  process.stdout.write(argv.json ? `${JSON.stringify({ files, sizes: m.sizes, ops: m.ops, choices: m.choices }, null, 2)}\n` : formatExportSummary(m, files));
  return true;
}

interface BenchArgs extends ModelArgs {
  steps: number;
  warmup: number;
  profile: boolean;
  inference: boolean;
  engine: string[];
  threads?: number;
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench <config>',
  describe: 'time full training steps (median ms/step, images/s, GFLOP/s, tensor leak check, peak RSS)',
  builder: (y) => shared(y)
    .option('steps', { type: 'number', default: 10, describe: 'timed steps' })
    .option('warmup', { type: 'number', default: 3, describe: 'untimed steps first' })
    .option('profile', { type: 'boolean', default: false, describe: 'add a per-kernel profile of one more step' })
    .option('inference', { type: 'boolean', default: false, describe: 'time packed (XNOR-popcount) against float inference instead: per binary conv shape and whole model at batch 1 and 32' })
    .option('engine', { type: 'string', default: 'auto', describe: 'with --inference: binary conv engines, comma-separated (native, wasm, js); auto: native and wasm where they run',
      coerce: (v: string | string[]) => ([] as string[]).concat(v).flatMap((e) => e.split(',')).filter(Boolean) })
    .option('threads', { type: 'number', requiresArg: true, describe: 'compute threads on native (default: every core)' })
    .example('$0 bench configs/bench/hourglass-ref.yaml --inference', 'packed against float inference')
    .example('$0 bench configs/bench/hourglass-ref.yaml --backend wasm', 'the reference workload') as unknown as Argv<BenchArgs>,
  handler: async (argv) => {
    const [first] = await configsOf(argv);
    const { selectBackend } = await import('../backend/index.ts');
    if (argv.threads !== undefined && (!Number.isInteger(argv.threads) || argv.threads < 1)) throw new UsageError(`--threads must be a positive integer, got ${argv.threads}`);
    const backend = await selectBackend(argv.backend, { threads: argv.threads });
    if (argv.inference) {
      const { benchInference, formatInferenceBench } = await import('../infer/bench.ts');
      const { benchEngines, createEngine } = await import('../infer/engines.ts');
      const auto = argv.engine.length === 1 && argv.engine[0] === 'auto' ? benchEngines() : null;
      const engines = auto?.engines ?? argv.engine.map((e) => createEngine(e));
      const result = await benchInference(first!.config, { engines, skippedEngines: auto?.skipped ?? [], backend: backend.name });
      process.stdout.write(argv.json ? `${JSON.stringify(result, null, 2)}\n` : `# ${first!.name}\n${formatInferenceBench(result)}`);
      return;
    }
    const { benchTrainingStep, formatBench } = await import('../train/bench.ts');
    const result = await benchTrainingStep(first!.config, {
      steps: argv.steps, warmup: argv.warmup, profile: argv.profile, label: backend.name, detail: backend.detail,
    });
    process.stdout.write(argv.json ? `${JSON.stringify(result, null, 2)}\n` : `# ${first!.name}\n${formatBench(result)}`);
    if (result.tensorsAfter !== result.tensorsBefore) throw new RunFailedError(`tensor leak: ${result.tensorsBefore} tensors before the timed steps, ${result.tensorsAfter} after`);
  },
};
