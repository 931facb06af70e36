/**
 * Packed (XNOR-popcount) against float inference of a run config's network (by default the
 * reference HourGlass, configs/bench/hourglass-ref.yaml): the same code as
 * `bnn-ablate bench <config> --inference`, plus the issue-14 goals checked against the figures.
 *
 *   node --import tsx bench/inference.ts [--backend wasm|native] [--threads N] [--engine auto|native,wasm,js] [--reps 5]
 *                                        [--config configs/bench/hourglass-ref.yaml] [--json]
 */
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { selectBackend, type BackendRequest } from '../src/backend/index.ts';
import { loadPlans } from '../src/grid/index.ts';
import { benchInference, formatInferenceBench, REFERENCE_SHAPE } from '../src/infer/bench.ts';
import { benchEngines, createEngine } from '../src/infer/engines.ts';

/** Issue 14's goals: export ≥ 14× smaller; reference 3×3 shape ≥ 10× native, ≥ 5× on wasm; whole model ≥ 3×. */
const GOALS = { sizeRatio: 14, layerRatio: { native: 10, wasm: 5 } as Record<string, number>, modelRatio: 3 };

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    engine: { type: 'string', default: 'auto' },
    config: { type: 'string', default: 'configs/bench/hourglass-ref.yaml' },
    reps: { type: 'string', default: '5' },
    threads: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const backend = await selectBackend(args.backend as BackendRequest, { threads: args.threads === undefined ? undefined : Number(args.threads) });
const config = loadPlans(args.config)[0]!.runs[0]!.config;
const auto = args.engine === 'auto' ? benchEngines() : null;
const engines = auto?.engines ?? args.engine.split(',').map((e) => createEngine(e));
const result = await benchInference(config, { engines, reps: Number(args.reps), skippedEngines: auto?.skipped ?? [], backend: backend.name });
if (args.json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  process.stdout.write(`# ${args.config} on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores, shared: ratios are interleaved)\n${formatInferenceBench(result)}`);
  const ref = `${REFERENCE_SHAPE.k}x${REFERENCE_SHAPE.k} s${REFERENCE_SHAPE.stride} ${REFERENCE_SHAPE.cin}->${REFERENCE_SHAPE.cout} @${REFERENCE_SHAPE.h}x${REFERENCE_SHAPE.w} b8`;
  const layers = result.layers.filter((l) => l.shape === ref && GOALS.layerRatio[l.engine] !== undefined);
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  process.stdout.write(`\ngoals: size ${result.sizes.ratio.toFixed(2)}x (>= ${GOALS.sizeRatio}x ${verdict(result.sizes.ratio >= GOALS.sizeRatio)})`
    + layers.map((l) => `; ${ref} ${l.engine} ${l.ratio.toFixed(2)}x (>= ${GOALS.layerRatio[l.engine]}x ${verdict(l.ratio >= GOALS.layerRatio[l.engine]!)})`).join('')
    + result.model.map((m) => `; model ${m.engine} b${m.batch} ${m.ratio.toFixed(2)}x (>= ${GOALS.modelRatio}x ${verdict(m.ratio >= GOALS.modelRatio)})`).join('') + '\n');
}
