/**
 * Whole-model images/s of an export loaded with each binary HourGlass block as one PackedBlock
 * (the native engine writes the three branches into their concat and adds the residual in its
 * epilogue) against the same export with its Concatenate and Add layers, and against the float
 * model (the reference HourGlass by default), interleaved round by round in one process.
 *
 *   node --import tsx bench/fused-block.ts [--backend native|wasm] [--threads 1] [--engine native|wasm|js] [--reps 9]
 *                                          [--batches 1,32] [--config configs/bench/hourglass-ref.yaml]
 */
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { selectBackend, type BackendRequest } from '../src/backend/index.ts';
import { loadPlans } from '../src/grid/index.ts';
import { benchBlocks } from '../src/infer/bench.ts';
import { createEngine } from '../src/infer/engines.ts';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'native' },
    engine: { type: 'string', default: 'auto' },
    config: { type: 'string', default: 'configs/bench/hourglass-ref.yaml' },
    reps: { type: 'string', default: '9' },
    batches: { type: 'string', default: '1,32' },
    threads: { type: 'string' },
  },
});

const backend = await selectBackend(args.backend as BackendRequest, { threads: args.threads === undefined ? undefined : Number(args.threads) });
const config = loadPlans(args.config)[0]!.runs[0]!.config;
const engine = createEngine(args.engine);
const isa = (engine as { isa?: string }).isa;
const rows = await benchBlocks(config, engine, { reps: Number(args.reps), batches: args.batches.split(',').map(Number) });
const f = (n: number) => n.toFixed(1).padStart(8);
const r = (n: number) => `${n.toFixed(2)}x`.padStart(7);
process.stdout.write(`# ${args.config} on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`
  + `backend ${backend.name}, engine ${engine.name}${isa === undefined ? '' : ` ${isa}`}${engine.convBlock === undefined ? ' (no convBlock: blocks run their layers)' : ''}; `
  + `${rows[0]?.blocks ?? 0} blocks fused\n`
  + 'images/s (wall clock; cpu = by this process\'s CPU time); medians of interleaved rounds\n'
  + `${'batch'.padStart(5)} ${'fused'.padStart(8)} ${'unfused'.padStart(8)} ${'float'.padStart(8)} ${'f/unf'.padStart(7)} ${'f/float'.padStart(7)} ${'unf/flt'.padStart(7)}`
  + ` | cpu: ${'f/unf'.padStart(7)} ${'f/float'.padStart(7)} ${'unf/flt'.padStart(7)}\n`);
for (const x of rows) {
  process.stdout.write(`${String(x.batch).padStart(5)} ${f(x.fusedImagesPerS)} ${f(x.unfusedImagesPerS)} ${f(x.floatImagesPerS)} `
    + `${r(x.fusedImagesPerS / x.unfusedImagesPerS)} ${r(x.fusedImagesPerS / x.floatImagesPerS)} ${r(x.unfusedImagesPerS / x.floatImagesPerS)}`
    + ` |      ${r(x.fusedCpuImagesPerS / x.unfusedCpuImagesPerS)} ${r(x.fusedCpuImagesPerS / x.floatCpuImagesPerS)} ${r(x.unfusedCpuImagesPerS / x.floatCpuImagesPerS)}\n`);
}
