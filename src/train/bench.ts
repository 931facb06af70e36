import tf from '../tf.cjs';
import type { RunConfig } from '../config/schema.ts';
import { median } from '../report/stats.ts';
import { oneDnnStats } from '../backend/onednn.ts';
import { createDataset } from '../data/index.ts';
import { buildModel, summarizeModel } from '../models/index.ts';
import { createOptimizer } from './optimizers.ts';
import { makeTrainStep } from './step.ts';

export interface BenchOptions {
  steps: number;
  warmup: number;
  /** Also profile one extra step per kernel (tf.profile; it slows that step). */
  profile?: boolean;
  /** The backend's name for the report (native runs on tfjs's 'wasm'); default tf.getBackend(). */
  label?: string;
  /** One line about the backend (SelectedBackend.detail), printed under its name. */
  detail?: string;
}

export interface KernelProfile {
  kernel: string;
  ms: number;
  calls: number;
}

export interface BenchResult {
  backend: string;
  detail?: string;
  batchSize: number;
  steps: number;
  /** Per timed step, ms. */
  timesMs: number[];
  medianMs: number;
  /**
   * Median CPU ms of this process per step: what one uncontended core would take. On a shared
   * machine another job steals wall time, not CPU time.
   */
  medianCpuMs: number;
  imagesPerSecond: number;
  /** Forward MACs per image, from the model summary. */
  macsPerImage: number;
  /** FLOPs of one training step: 2 FLOPs per MAC, backward counted as twice the forward. */
  flopsPerStep: number;
  gflopsPerSecond: number;
  params: number;
  tensorsBefore: number;
  tensorsAfter: number;
  peakRssMb: number;
  /**
   * native backend: oneDNN layout reorders (NHWC/HWIO <-> blocked) per timed step, their MB, and
   * primitives created during the timed steps (0 once every shape is cached).
   */
  oneDnn?: { reordersPerStep: number; reorderMbPerStep: number; primitivesCreated: number };
  /** Per kernel, slowest first; composite kernels include the kernels they run. */
  profile?: KernelProfile[];
}

/**
 * Times full training steps (forward, backward, optimizer update) of a run config on one
 * repeated batch, after warm-up steps that let kernels compile and memory settle. Data
 * generation is left out: it is not what a backend's speed means.
 */
export async function benchTrainingStep(config: RunConfig, options: BenchOptions): Promise<BenchResult> {
  const dataset = await createDataset(config);
  const built = buildModel(config, { inputShape: [...dataset.inputShape], numClasses: dataset.numClasses, numJoints: dataset.numJoints });
  const optimizer = createOptimizer(config.train);
  try {
    const batches = dataset.batches('train', { batchSize: config.train.batch_size, seed: config.seed, epoch: 0, shuffle: true, dropLast: false });
    const iterator = batches[Symbol.asyncIterator]();
    const first = await iterator.next();
    await iterator.return?.();
    if (first.done) throw new Error('the training split is empty');
    const batch = first.value;
    const step = makeTrainStep(config, dataset, built, optimizer);
    for (let i = 0; i < options.warmup; i++) await step(batch);
    const tensorsBefore = tf.memory().numTensors;
    const dnn0 = oneDnnStats();
    const timesMs: number[] = [];
    const cpuMs: number[] = [];
    for (let i = 0; i < options.steps; i++) {
      const cpu0 = process.cpuUsage();
      const began = performance.now();
      await step(batch);
      timesMs.push(performance.now() - began);
      const cpu = process.cpuUsage(cpu0);
      cpuMs.push((cpu.user + cpu.system) / 1000);
    }
    const tensorsAfter = tf.memory().numTensors;
    const dnn1 = oneDnnStats();
    const oneDnn = dnn0 && dnn1 && tf.getBackend() === 'wasm' && dnn1.primitives + dnn1.cacheHits > dnn0.primitives + dnn0.cacheHits
      ? { reordersPerStep: (dnn1.reorders - dnn0.reorders) / options.steps,
        reorderMbPerStep: (dnn1.reorderBytes - dnn0.reorderBytes) / options.steps / 2 ** 20,
        primitivesCreated: dnn1.primitives - dnn0.primitives }
      : undefined;
    const profile = options.profile ? await profileStep(() => step(batch)) : undefined;
    const medianMs = median(timesMs);
    const summary = summarizeModel(built.model, { quant: built.quant });
    const flopsPerStep = 3 * 2 * summary.totals.macs * batch.size;
    return {
      backend: options.label ?? tf.getBackend(),
      ...(options.detail ? { detail: options.detail } : {}),
      batchSize: batch.size,
      steps: options.steps,
      timesMs,
      medianMs,
      medianCpuMs: median(cpuMs),
      imagesPerSecond: (1000 * batch.size) / medianMs,
      macsPerImage: summary.totals.macs,
      flopsPerStep,
      gflopsPerSecond: flopsPerStep / (medianMs * 1e6),
      params: built.model.countParams(),
      tensorsBefore,
      tensorsAfter,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      ...(oneDnn ? { oneDnn } : {}),
      ...(profile ? { profile } : {}),
    };
  } finally {
    optimizer.dispose();
    built.dispose();
  }
}

async function profileStep(run: () => Promise<unknown>): Promise<KernelProfile[]> {
  const info = await tf.profile(async () => { await run(); });
  const byKernel = new Map<string, KernelProfile>();
  for (const k of info.kernels) {
    const row = byKernel.get(k.name) ?? { kernel: k.name, ms: 0, calls: 0 };
    row.ms += Number(k.kernelTimeMs);
    row.calls++;
    byKernel.set(k.name, row);
  }
  return [...byKernel.values()].sort((a, b) => b.ms - a.ms);
}

export function formatBench(r: BenchResult): string {
  return [
    `backend            ${r.backend}${r.detail ? ` (${r.detail})` : ''}`,
    `batch              ${r.batchSize}`,
    `parameters         ${r.params.toLocaleString('en-US')}`,
    `GFLOP per step     ${(r.flopsPerStep / 1e9).toFixed(2)}  (2 x forward MACs x 3 for forward + backward)`,
    `median ms/step     ${r.medianMs.toFixed(1)}  over ${r.steps} steps (min ${Math.min(...r.timesMs).toFixed(1)}, max ${Math.max(...r.timesMs).toFixed(1)})`,
    `median CPU ms/step ${r.medianCpuMs.toFixed(1)}`,
    `images/s           ${r.imagesPerSecond.toFixed(1)}`,
    `GFLOP/s            ${r.gflopsPerSecond.toFixed(2)}`,
    `tensors            ${r.tensorsBefore} before, ${r.tensorsAfter} after${r.tensorsAfter === r.tensorsBefore ? ' (no leak)' : '  LEAK'}`,
    `peak RSS           ${r.peakRssMb.toFixed(0)} MB`,
    ...(r.oneDnn ? [`oneDNN reorders    ${r.oneDnn.reordersPerStep.toFixed(0)} per step (${r.oneDnn.reorderMbPerStep.toFixed(1)} MB, filters only), ${r.oneDnn.primitivesCreated} primitives created while timed`] : []),
    ...(r.profile ? ['', `profile of one step (kernel, ms, calls; composite kernels include what they run):`,
      ...r.profile.slice(0, 30).map((k) => `  ${k.kernel.padEnd(28)}${k.ms.toFixed(1).padStart(9)}${String(k.calls).padStart(7)}`)] : []),
  ].join('\n') + '\n';
}
