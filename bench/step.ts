/**
 * One training step of a run config (by default the reference workload,
 * configs/bench/hourglass-ref.yaml), timed — and profiled with --profile — against the PyTorch
 * figure it is measured by.
 *
 *   node --import tsx bench/step.ts [--backend wasm] [--steps 10] [--warmup 3] [--profile]
 *                                   [--config configs/bench/hourglass-ref.yaml]
 *
 * It runs the trainer's own step (src/train/step.ts) through src/train/bench.ts, the same code
 * as `bnn-ablate bench`, and adds the ratio to PyTorch.
 */
import { parseArgs } from 'node:util';
import { selectBackend, type BackendRequest } from '../src/backend/index.ts';
import { loadPlans } from '../src/grid/index.ts';
import { benchTrainingStep, formatBench } from '../src/train/bench.ts';

/**
 * PyTorch 1.13 on this project's 2-core CPU machines, the reference workload, one thread: about
 * 300 ms/step (measured by a colleague; issue 2, "Summary and bench"). Goal: within 2x of it.
 */
const PYTORCH_ONE_THREAD_MS = 300;
const GOAL_RATIO = 2;

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    config: { type: 'string', default: 'configs/bench/hourglass-ref.yaml' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
  },
});

await selectBackend(args.backend as BackendRequest);
const config = loadPlans(args.config)[0]!.runs[0]!.config;
const result = await benchTrainingStep(config, { steps: Number(args.steps), warmup: Number(args.warmup), profile: args.profile });
process.stdout.write(`# ${args.config}\n${formatBench(result)}`);
if (args.config === 'configs/bench/hourglass-ref.yaml') {
  const ratio = result.medianCpuMs / PYTORCH_ONE_THREAD_MS;
  process.stdout.write(`ratio to PyTorch, one thread (${PYTORCH_ONE_THREAD_MS} ms/step): ${ratio.toFixed(2)}x by CPU time, ${(result.medianMs / PYTORCH_ONE_THREAD_MS).toFixed(2)}x by wall time (goal <= ${GOAL_RATIO}x)\n`);
}
