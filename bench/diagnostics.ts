/**
 * What the binary-network diagnostics add to an evaluation: one validation pass (evaluate) and
 * one diagnostics measurement (latent-kernel reads + the probe batch forward), timed interleaved
 * so that load from other processes hits both alike.
 *
 *   node --import tsx bench/diagnostics.ts [--backend wasm] [--config experiments/smoke.yaml] [--repeats 3]
 *
 * The config is the first run of an experiment or run file (default: the smoke study, binary).
 */
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { selectBackend, type BackendRequest } from '../src/backend/index.ts';
import { BinaryDiagnostics, PROBE_IMAGES } from '../src/binary/diagnostics.ts';
import { createDataset } from '../src/data/index.ts';
import { loadPlans } from '../src/grid/index.ts';
import { buildModel } from '../src/models/index.ts';
import { batchTensors } from '../src/train/batches.ts';
import { evaluate } from '../src/train/evaluate.ts';
import { histogramOf } from '../src/tensorboard/index.ts';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    config: { type: 'string', default: 'experiments/smoke.yaml' },
    repeats: { type: 'string', default: '3' },
  },
});

await selectBackend(args.backend as BackendRequest);
const config = loadPlans(args.config)[0]!.runs[0]!.config;
const dataset = await createDataset(config);
const built = buildModel(config, { inputShape: [...dataset.inputShape], numClasses: dataset.numClasses });
let probe = null;
for await (const batch of dataset.batches('val', { batchSize: PROBE_IMAGES, seed: config.seed, epoch: 0, shuffle: false, dropLast: false })) {
  probe = batchTensors(batch, dataset).images;
  break;
}
const diag = BinaryDiagnostics.of(built.model, built.quant, probe)!;
await diag.resetReference();
const options = { batchSize: config.eval.batch_size, pckhThreshold: config.eval.pckh_threshold, seed: config.seed };
const time = async (f: () => unknown) => { const t = performance.now(); await f(); return performance.now() - t; };
const rows: Array<[number, number, number]> = [];
for (let i = 0; i < Number(args.repeats); i++) {
  const e = await time(() => evaluate(built.model, dataset, options));
  let latent: Record<string, Float32Array> = {};
  const d = await time(async () => { latent = (await diag.measure()).latent; });
  const h = await time(() => Object.values(latent).map((w) => histogramOf(w)));
  rows.push([e, d, h]);
}
const median = (k: number) => rows.map((r) => r[k]!).sort((a, b) => a - b)[Math.floor(rows.length / 2)]!;
const weights = Object.values((await diag.measure()).latent).reduce((n, w) => n + w.length, 0);
process.stdout.write(`# ${args.config} (${config.data.val_size} val images, ${weights} binary weights), ${args.backend}, ${cpus()[0]?.model}\n`);
process.stdout.write(`evaluate ${median(0).toFixed(0)} ms, diagnostics ${median(1).toFixed(0)} ms (${(100 * median(1) / median(0)).toFixed(1)}% of it), histograms ${median(2).toFixed(1)} ms (medians of ${rows.length})\n`);
diag.dispose();
built.dispose();
