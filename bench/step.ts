/**
 * One training step of a run config (by default the reference workload,
 * configs/bench/hourglass-ref.yaml), timed and profiled: the tool for making that step faster.
 *
 *   node --import tsx bench/step.ts [--backend wasm] [--steps 10] [--warmup 3] [--profile]
 *                                   [--config configs/bench/hourglass-ref.yaml] [--top 30]
 *
 * It runs the trainer's own step (src/train/step.ts: forward, loss, backward, optimizer update)
 * on one repeated batch and prints the median wall ms/step, the median CPU ms/step of this
 * process (on a shared 2-core machine another job steals wall time; CPU time is what one
 * uncontended core would take), images/s, GFLOP/s from the summary's MACs (×2 FLOPs, ×3 for
 * forward + backward), tf.memory().numTensors before/after the timed steps, and peak RSS.
 * `--profile` adds one step's per-kernel table from tf.profile. Kernels that run other kernels
 * (the conv-gradient composites) include those in their time, so the column does not sum to the
 * step, and profiling itself slows the step.
 * (`bnn-ablate bench` times the same step without the profile.)
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendRequest } from '../src/backend/index.ts';
import { createDataset } from '../src/data/index.ts';
import { loadPlans } from '../src/grid/index.ts';
import { buildModel, summarizeModel } from '../src/models/index.ts';
import { createOptimizer } from '../src/train/optimizers.ts';
import { makeTrainStep } from '../src/train/step.ts';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    config: { type: 'string', default: 'configs/bench/hourglass-ref.yaml' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
    top: { type: 'string', default: '30' },
  },
});

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const selected = await selectBackend(args.backend as BackendRequest);
const config = loadPlans(args.config)[0]!.runs[0]!.config;
const dataset = await createDataset(config);
const built = buildModel(config, { inputShape: [...dataset.inputShape], numClasses: dataset.numClasses });
const optimizer = createOptimizer(config.train);
const batches = dataset.batches('train', { batchSize: config.train.batch_size, seed: config.seed, epoch: 0, shuffle: true, dropLast: false });
const it = batches[Symbol.asyncIterator]();
const batch = (await it.next()).value;
await it.return?.();
if (!batch) throw new Error('the training split is empty');
const step = makeTrainStep(config, dataset, built, optimizer);

for (let i = 0; i < Number(args.warmup); i++) step(batch);
const tensorsBefore = tf.memory().numTensors;
const wall: number[] = [];
const cpu: number[] = [];
for (let i = 0; i < Number(args.steps); i++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  step(batch);
  wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
}
const tensorsAfter = tf.memory().numTensors;

const summary = summarizeModel(built.model, { quant: built.quant });
const flops = 3 * 2 * summary.totals.macs * batch.size;
const ms = median(wall);
const out = [
  `backend          ${selected.name} ${selected.version ?? ''}`,
  `config           ${args.config} (batch ${batch.size}, ${built.model.countParams().toLocaleString('en-US')} params)`,
  `GFLOP per step   ${(flops / 1e9).toFixed(2)}`,
  `wall ms/step     median ${ms.toFixed(1)} over ${wall.length} (min ${Math.min(...wall).toFixed(1)}, max ${Math.max(...wall).toFixed(1)}): ${wall.map((t) => t.toFixed(0)).join(' ')}`,
  `cpu ms/step      median ${median(cpu).toFixed(1)}`,
  `images/s         ${((1000 * batch.size) / ms).toFixed(1)}`,
  `GFLOP/s          ${(flops / (ms * 1e6)).toFixed(2)}`,
  `tensors          ${tensorsBefore} before, ${tensorsAfter} after${tensorsAfter === tensorsBefore ? '' : '  LEAK'}`,
  `peak RSS         ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
];
console.log(out.join('\n'));

if (args.profile) {
  const prof = await tf.profile(() => { step(batch); });
  const agg = new Map<string, [number, number]>();
  for (const k of prof.kernels) {
    const a = agg.get(k.name) ?? [0, 0];
    a[0] += Number(k.kernelTimeMs);
    a[1]++;
    agg.set(k.name, a);
  }
  const rows = [...agg].sort((a, b) => b[1][0] - a[1][0]);
  console.log(`\nprofile of one step: ${prof.kernels.length} kernel calls`);
  console.log(`${'kernel'.padEnd(28)}${'ms'.padStart(9)}${'calls'.padStart(7)}`);
  for (const [name, [t, n]] of rows.slice(0, Number(args.top))) console.log(`${name.padEnd(28)}${t.toFixed(1).padStart(9)}${String(n).padStart(7)}`);
}
optimizer.dispose();
built.dispose();
