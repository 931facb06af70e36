/**
 * The shared body of bench/fused-prelu.ts and bench/fused-block.ts: one fusion's whole-model
 * images/s (fused load, the same export unfused, the float model), interleaved round by round in
 * one process, printed as one table with the machine, its load and the ratios by wall and by CPU.
 *
 *   [--backend native|wasm] [--threads 1] [--engine native|wasm|js] [--reps 9] [--batches 1,32]
 *   [--config configs/bench/hourglass-ref.yaml]
 */
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { selectBackend, type BackendRequest } from '../src/backend/index.ts';
import { loadPlans } from '../src/grid/index.ts';
import { benchBlocks, benchFusion, type FusedRates } from '../src/infer/bench.ts';
import type { BinaryConvEngine } from '../src/infer/engine.ts';
import { createEngine } from '../src/infer/engines.ts';

/** Which fusion: the PReLU in the epilogue (export option) or the HourGlass block (load-time rewrite). */
export type Fusion = 'prelu' | 'blocks';

/** The line under the header saying what was fused. */
function fusedLine(fusion: Fusion, engine: BinaryConvEngine, rows: FusedRates[]): string {
  const row = rows[0] as (FusedRates & { fused?: number; packedLayers?: number; blocks?: number }) | undefined;
  if (fusion === 'prelu') return `${row?.fused ?? 0} of ${row?.packedLayers ?? 0} packed layers have their PReLU fused`;
  return `${engine.convBlock === undefined ? '(no convBlock: blocks run their layers) ' : ''}${row?.blocks ?? 0} blocks fused`;
}

export async function fusionTable(fusion: Fusion, defaultBackend: BackendRequest): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      backend: { type: 'string', default: defaultBackend },
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
  const opts = { reps: Number(args.reps), batches: args.batches.split(',').map(Number) };
  const rows: FusedRates[] = fusion === 'prelu' ? await benchFusion(config, engine, opts) : await benchBlocks(config, engine, opts);
  const f = (n: number) => n.toFixed(1).padStart(8);
  const r = (n: number) => `${n.toFixed(2)}x`.padStart(7);
  const ratios = (a: number, b: number, c: number) => `${r(a / b)} ${r(a / c)} ${r(b / c)}`;
  process.stdout.write(`# ${args.config} on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`
    + `backend ${backend.name}, engine ${engine.name}${isa === undefined ? '' : ` ${isa}`}; ${fusedLine(fusion, engine, rows)}\n`
    + 'images/s (wall clock; cpu = by this process\'s CPU time); medians of interleaved rounds\n'
    + `${'batch'.padStart(5)} ${'fused'.padStart(8)} ${'unfused'.padStart(8)} ${'float'.padStart(8)} ${'f/unf'.padStart(7)} ${'f/float'.padStart(7)} ${'unf/flt'.padStart(7)}`
    + ` | cpu: ${'f/unf'.padStart(7)} ${'f/float'.padStart(7)} ${'unf/flt'.padStart(7)}\n`);
  for (const x of rows) {
    process.stdout.write(`${String(x.batch).padStart(5)} ${f(x.fusedImagesPerS)} ${f(x.unfusedImagesPerS)} ${f(x.floatImagesPerS)} `
      + `${ratios(x.fusedImagesPerS, x.unfusedImagesPerS, x.floatImagesPerS)}`
      + ` |      ${ratios(x.fusedCpuImagesPerS, x.unfusedCpuImagesPerS, x.floatCpuImagesPerS)}\n`);
  }
}
