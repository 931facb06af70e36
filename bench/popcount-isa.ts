/**
 * The native engine's popcount paths against each other on one thread: every instruction set
 * this CPU runs (popcount.cc: avx512, avx2, avx2 Harley-Seal, scalar popcnt), on the issue's
 * shape and the reference HourGlass's 16×16 shapes at batch 8, calls interleaved round by round
 * so shared-machine load hits every path alike. Prints the CPU model, the best and the median
 * call by wall clock and by this process's CPU time, and each path's ratio to the fastest.
 *
 *   OMP_NUM_THREADS=1 node --import tsx bench/popcount-isa.ts [--reps 30] [--isas scalar,avx2]
 */
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { convGeometry } from '../src/infer/engine.ts';
import { NativeEngine, nativeEngineStatus } from '../src/infer/native-engine.ts';
import { packFilter, type PackedFilter } from '../src/infer/pack.ts';

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '30' }, isas: { type: 'string' } } });
const status = nativeEngineStatus();
if (!status.ok) {
  process.stderr.write(`native engine not available: ${status.reason}\n`);
  process.exit(2);
}
const isas = args.isas === undefined ? status.isas : args.isas.split(',');
const engines = isas.map((isa) => new NativeEngine(isa));
const reps = Number(args.reps);

/** A deterministic pseudo-random float in [−1, 1) (no tfjs needed). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

interface Shape { cin: number; cout: number; h: number; batch: number }
const SHAPES: Shape[] = [
  { cin: 128, cout: 128, h: 16, batch: 8 },
  { cin: 128, cout: 64, h: 16, batch: 8 },
  { cin: 64, cout: 32, h: 16, batch: 8 },
  { cin: 32, cout: 32, h: 16, batch: 8 },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timeShape(s: Shape): Array<{ isa: string; bestMs: number; medianMs: number; medianCpuMs: number }> {
  const rnd = lcg(s.cin * 1000 + s.cout);
  const x = Float32Array.from({ length: s.batch * s.h * s.h * s.cin }, rnd);
  const w = Float32Array.from({ length: 9 * s.cin * s.cout }, () => (rnd() < 0 ? -1 : 1));
  const { bits, alpha } = packFilter(w, 3, 3, s.cin, s.cout);
  const filter: PackedFilter = { kh: 3, kw: 3, inChannels: s.cin, outChannels: s.cout, bits, alpha, bias: null };
  const g = convGeometry(s.h, s.h, 3, 3, 1, 'same');
  const out = new Float32Array(s.batch * g.outH * g.outW * s.cout);
  const act = { data: x, n: s.batch, h: s.h, w: s.h, c: s.cin };
  const wall = engines.map(() => [] as number[]);
  const cpu = engines.map(() => [] as number[]);
  for (const e of engines) e.conv(act, 'plus_one', filter, g, out);
  for (let r = 0; r < reps; r++) {
    engines.forEach((e, i) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      e.conv(act, 'plus_one', filter, g, out);
      wall[i]!.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[i]!.push((c.user + c.system) / 1000);
    });
  }
  return engines.map((e, i) => ({ isa: e.isa, bestMs: Math.min(...wall[i]!), medianMs: median(wall[i]!), medianCpuMs: median(cpu[i]!) }));
}

process.stdout.write(`# ${cpus()[0]?.model ?? 'unknown CPU'}; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; `
  + `threads ${engines[0]!.threads}; ${reps} interleaved calls per path\n`);
process.stdout.write(`${'shape'.padEnd(26)} ${'isa'.padEnd(8)} ${'best ms'.padStart(8)} ${'median ms'.padStart(10)} ${'cpu ms'.padStart(8)} ${'vs best'.padStart(8)}\n`);
for (const s of SHAPES) {
  const rows = timeShape(s);
  const fastest = Math.min(...rows.map((r) => r.bestMs));
  for (const r of rows) {
    process.stdout.write(`${`3x3 ${s.cin}->${s.cout} @${s.h}x${s.h} b${s.batch}`.padEnd(26)} ${r.isa.padEnd(8)} ${r.bestMs.toFixed(3).padStart(8)} `
      + `${r.medianMs.toFixed(3).padStart(10)} ${r.medianCpuMs.toFixed(3).padStart(8)} ${(r.bestMs / fastest).toFixed(2).padStart(8)}\n`);
  }
}
