/**
 * CPU time per kernel of the reference training step (configs/bench/hourglass-ref.yaml by
 * default) on one engine: every kernel registered on the wasm backend is wrapped with
 * process.cpuUsage(), so the figures are CPU ms per step, not wall ms. On a shared machine the
 * wall-time profile of `step.ts --one MODE --profile` charges each kernel with whatever the
 * scheduler did meanwhile; CPU time does not. Inclusive: a composite kernel counts the kernels it
 * runs. With T threads the CPU of all of them is counted. At native:2 the filter gradients run on
 * a background thread (onednn-async.ts): its CPU lands on whichever kernel was running, so a line
 * `background jobs` gives that thread's own CPU time and the main thread's waits separately.
 *
 *   node --import tsx bench/kernel-cpu.ts [--mode native:1] [--steps 6] [--top 24] [--config FILE]
 *
 * Modes: wasm, native:T (the engines that run on the wasm backend).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendRequest } from '../src/backend/index.ts';
import { loadPlans } from '../src/grid/index.ts';
import { oneDnn } from '../src/backend/onednn.ts';
import { benchTrainingStep } from '../src/train/bench.ts';

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'native:1' },
    steps: { type: 'string', default: '6' },
    top: { type: 'string', default: '24' },
    config: { type: 'string', default: 'configs/bench/hourglass-ref.yaml' },
  },
});

const [engine, t] = args.mode!.split(':');
if (engine !== 'wasm' && engine !== 'native') throw new Error(`--mode: wasm or native:T, got ${args.mode}`);
const backend = await selectBackend(engine as BackendRequest, { threads: Number(t ?? 1) });

const cpuUs: Record<string, number> = {};
const calls: Record<string, number> = {};
let counting = false;

/** Wraps every wasm kernel (the stock ones and the overrides the profile installed) with a CPU clock. */
for (const k of tf.getKernelsForBackend('wasm')) {
  const inner = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, 'wasm');
  tf.registerKernel({
    ...k,
    kernelFunc: (a) => {
      if (!counting) return inner(a);
      const c0 = process.cpuUsage();
      const out = inner(a);
      const c = process.cpuUsage(c0);
      cpuUs[k.kernelName] = (cpuUs[k.kernelName] ?? 0) + c.user + c.system;
      calls[k.kernelName] = (calls[k.kernelName] ?? 0) + 1;
      return out;
    },
  });
}

const config = loadPlans(args.config)[0]!.runs[0]!.config;
const steps = Number(args.steps);
// Compiles kernels and builds oneDNN's primitives outside the count.
await benchTrainingStep(config, { steps: 1, warmup: 1 });
/** The background job queue's counters (native at >= 2 threads, onednn-async.ts), or undefined. */
const asyncTimes = () => (backend.name === 'native' ? oneDnn().asyncTimes() : undefined);
const async0 = asyncTimes();
counting = true;
const r = await benchTrainingStep(config, { steps, warmup: 0 });
counting = false;
const async1 = asyncTimes();

const perStep = (us: number): string => (us / steps / 1000).toFixed(1);
const total = Object.values(cpuUs).reduce((a, b) => a + b, 0);
process.stdout.write(`# ${args.config}, ${backend.name} (${backend.detail ?? ''}), ${steps} steps\n`);
process.stdout.write(`median ${r.medianMs.toFixed(1)} ms/step wall, ${r.medianCpuMs.toFixed(1)} ms CPU; kernels ${perStep(total)} ms CPU (inclusive)\n`);
if (async0 && async1 && async1.jobs > async0.jobs) {
  // The job time is CPU of the background thread, charged above to whichever kernel was running;
  // the wait is main-thread time blocked on it (inside the kernel that read a job's output).
  // CPU of the rest = the main thread (and OpenMP's workers in the forward convolutions): with
  // the background thread's CPU, the two sides of the step's critical path, whatever the load.
  const per = (k: 'jobMs' | 'jobCpuMs' | 'waitMs') => (async1[k] - async0[k]) / steps;
  process.stdout.write(`background jobs: ${((async1.jobs - async0.jobs) / steps).toFixed(0)}/step, `
    + `${per('jobMs').toFixed(1)} ms/step running (${per('jobCpuMs').toFixed(1)} ms CPU of its thread; the rest `
    + `${(r.medianCpuMs - per('jobCpuMs')).toFixed(1)} ms CPU), main thread waited ${per('waitMs').toFixed(1)} ms/step\n`);
}
process.stdout.write('kernel                        CPU ms/step  calls/step\n');
for (const [k, us] of Object.entries(cpuUs).sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) {
  process.stdout.write(`  ${k.padEnd(28)}${perStep(us).padStart(9)}${(calls[k]! / steps).toFixed(0).padStart(10)}\n`);
}
