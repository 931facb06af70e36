/**
 * Packed (XNOR-popcount) against float inference of a run config's network (by default the
 * reference HourGlass, configs/bench/hourglass-ref.yaml): the same code as
 * `bnn-ablate bench <config> --inference`, plus the issue-14 goals checked against the figures.
 *
 *   node --import tsx bench/inference.ts [--backend wasm] [--engine wasm[,js]] [--reps 5]
 *                                        [--config configs/bench/hourglass-ref.yaml] [--json]
 */
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { selectBackend, type BackendRequest } from '../src/backend/index.ts';
import { loadPlans } from '../src/grid/index.ts';
import { benchInference, formatInferenceBench, REFERENCE_SHAPE } from '../src/infer/bench.ts';
import { createEngine } from '../src/infer/engines.ts';

/** Issue 14's goals: export ≥ 14× smaller; reference 3×3 shape ≥ 5× on wasm; whole model ≥ 3×. */
const GOALS = { sizeRatio: 14, wasmLayerRatio: 5, modelRatio: 3 };

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    engine: { type: 'string', default: 'wasm' },
    config: { type: 'string', default: 'configs/bench/hourglass-ref.yaml' },
    reps: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  },
});

await selectBackend(args.backend as BackendRequest);
const config = loadPlans(args.config)[0]!.runs[0]!.config;
const engines = args.engine.split(',').map((e) => createEngine(e));
const result = await benchInference(config, { engines, reps: Number(args.reps) });
if (args.json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  process.stdout.write(`# ${args.config} on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores, shared: ratios are interleaved)\n${formatInferenceBench(result)}`);
  const ref = `${REFERENCE_SHAPE.k}x${REFERENCE_SHAPE.k} s${REFERENCE_SHAPE.stride} ${REFERENCE_SHAPE.cin}->${REFERENCE_SHAPE.cout} @${REFERENCE_SHAPE.h}x${REFERENCE_SHAPE.w} b8`;
  const layer = result.layers.find((l) => l.shape === ref && l.engine === 'wasm');
  const model = result.model.filter((m) => m.engine === 'wasm');
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  process.stdout.write(`\ngoals: size ${result.sizes.ratio.toFixed(2)}x (>= ${GOALS.sizeRatio}x ${verdict(result.sizes.ratio >= GOALS.sizeRatio)})`
    + (layer ? `; ${ref} wasm ${layer.ratio.toFixed(2)}x (>= ${GOALS.wasmLayerRatio}x ${verdict(layer.ratio >= GOALS.wasmLayerRatio)})` : '')
    + model.map((m) => `; model b${m.batch} ${m.ratio.toFixed(2)}x (>= ${GOALS.modelRatio}x ${verdict(m.ratio >= GOALS.modelRatio)})`).join('') + '\n');
}
