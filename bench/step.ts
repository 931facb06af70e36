/**
 * The reference training step (configs/bench/hourglass-ref.yaml by default) on every engine
 * this machine has, INTERLEAVED: each round runs every mode once, each in a fresh process (so
 * peak RSS and primitive caches are its own), and the table reports the median over rounds. On a
 * shared machine, load drifts; interleaving makes the ratios fair even when absolute ms are not.
 *
 *   node --import tsx bench/step.ts [--modes wasm,native:1,native:2,torch:1,torch:2] [--rounds 2]
 *                                   [--steps 5] [--warmup 2] [--profile] [--config FILE]
 *   node --import tsx bench/step.ts --one native:2 [--steps ..]   # one mode, its full report
 *
 * Modes: wasm, native:T (oneDNN kernels on T threads; skipped with the reason where the addon is
 * missing), torch:T (bench/torch-step.py, the same architecture in PyTorch; skipped where python3
 * has no torch). Ratios: native against PyTorch at the same threads, native 2 threads against 1.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { selectBackend, type BackendRequest } from '../src/backend/index.ts';
import { loadPlans } from '../src/grid/index.ts';
import { median } from '../src/report/stats.ts';
import { benchTrainingStep, formatBench, type BenchResult } from '../src/train/bench.ts';

const { values: args } = parseArgs({
  options: {
    modes: { type: 'string', default: 'wasm,native:1,native:2,torch:1,torch:2' },
    one: { type: 'string' },
    config: { type: 'string', default: 'configs/bench/hourglass-ref.yaml' },
    rounds: { type: 'string', default: '2' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    profile: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    // --one only: train on batch_size / N (bench/parallel-ceiling.ts runs two half-batch copies).
    'batch-divisor': { type: 'string', default: '1' },
  },
});

/** One mode's figures, whatever the engine. */
interface Row { mode: string; ms: number; cpuMs: number; rssMb: number; tensors?: string; reorders?: number; note?: string }

function parseMode(mode: string): { engine: string; threads: number } {
  const [engine, t] = mode.split(':');
  return { engine: engine!, threads: t === undefined ? 1 : Number(t) };
}

/** Child: runs one mode in this process and prints its result. */
async function runOne(mode: string): Promise<void> {
  const { engine, threads } = parseMode(mode);
  const backend = await selectBackend(engine as BackendRequest, { threads });
  const full = loadPlans(args.config)[0]!.runs[0]!.config;
  const divisor = Number(args['batch-divisor']);
  if (!Number.isInteger(divisor) || divisor < 1 || full.train.batch_size % divisor !== 0) {
    throw new Error(`--batch-divisor ${args['batch-divisor']} must be a positive integer dividing batch_size ${full.train.batch_size}`);
  }
  const config = { ...full, train: { ...full.train, batch_size: full.train.batch_size / divisor } };
  const result = await benchTrainingStep(config, {
    steps: Number(args.steps), warmup: Number(args.warmup), profile: args.profile, label: backend.name, detail: backend.detail,
  });
  process.stdout.write(args.json ? `${JSON.stringify(result)}\n` : `# ${args.config}\n${formatBench(result)}`);
}

/** The first python with torch: $BENCH_PYTHON, python3 on PATH, the system's (Debian's python3-torch). */
const PYTHON = [process.env.BENCH_PYTHON, 'python3', '/usr/bin/python3']
  .filter((p): p is string => Boolean(p))
  .find((p) => spawnSync(p, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0);

function torchAvailable(): string | undefined {
  return PYTHON ? undefined : 'no python3 with torch found (Debian: apt-get install python3-torch; or set BENCH_PYTHON)';
}

function measure(mode: string): Row {
  const { engine, threads } = parseMode(mode);
  const common = ['--steps', args.steps!, '--warmup', args.warmup!];
  if (engine === 'torch') {
    const out = execFileSync(PYTHON!, ['bench/torch-step.py', '--threads', String(threads), ...common], { encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { median_ms: number; median_cpu_ms: number; peak_rss_mb: number; torch: string };
    return { mode, ms: r.median_ms, cpuMs: r.median_cpu_ms, rssMb: r.peak_rss_mb, note: `torch ${r.torch}` };
  }
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/step.ts', '--one', mode, '--json', '--config', args.config!, ...common],
    { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as BenchResult;
  return {
    mode, ms: r.medianMs, cpuMs: r.medianCpuMs, rssMb: r.peakRssMb, tensors: `${r.tensorsBefore}/${r.tensorsAfter}`,
    reorders: r.oneDnn?.reordersPerStep, note: `${r.backend} (${r.detail ?? ''})`,
  };
}

async function main(): Promise<void> {
  if (args.one) return runOne(args.one);
  const gflop = 10.47;
  const modes = args.modes!.split(',').filter(Boolean);
  const skipped = new Map<string, string>();
  const noTorch = torchAvailable();
  const { loadOneDnn } = await import('../src/backend/onednn.ts');
  const native = loadOneDnn(1);
  for (const m of modes) {
    if (m.startsWith('torch') && noTorch) skipped.set(m, noTorch);
    if (m.startsWith('native') && !native.ok) skipped.set(m, native.reason);
  }
  const live = modes.filter((m) => !skipped.has(m));
  const runs = new Map<string, Row[]>(live.map((m) => [m, []]));
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const m of live) {
      const row = measure(m);
      runs.get(m)!.push(row);
      process.stderr.write(`round ${round + 1} ${m}: ${row.ms.toFixed(1)} ms/step (CPU ${row.cpuMs.toFixed(1)})\n`);
    }
  }
  const rows = live.map((m) => {
    const rs = runs.get(m)!;
    return { ...rs[0]!, ms: median(rs.map((r) => r.ms)), cpuMs: median(rs.map((r) => r.cpuMs)), rssMb: Math.max(...rs.map((r) => r.rssMb)) };
  });
  const load = cpus().length;
  const lines = [
    `# ${args.config}, ${gflop} GFLOP/step; ${cpus()[0]?.model} x ${load}; ${args.rounds} interleaved rounds of ${args.steps} steps (median)`,
    `mode        ms/step   CPU ms  GFLOP/s  peak RSS MB  tensors before/after  reorders/step  engine`,
    ...rows.map((r) => `${r.mode.padEnd(10)}${r.ms.toFixed(1).padStart(9)}${r.cpuMs.toFixed(1).padStart(9)}`
      + `${(gflop / (r.ms / 1000)).toFixed(1).padStart(9)}${r.rssMb.toFixed(0).padStart(13)}${(r.tensors ?? '-').padStart(22)}`
      + `${(r.reorders === undefined ? '-' : r.reorders.toFixed(0)).padStart(15)}  ${r.note ?? ''}`),
    ...[...skipped].map(([m, why]) => `${m.padEnd(10)} skipped: ${why}`),
  ];
  const get = (m: string) => rows.find((r) => r.mode === m);
  const ratio = (a: string, b: string, what: string, goal: string) => {
    const x = get(a);
    const y = get(b);
    if (x && y) lines.push(`${what}: ${(x.ms / y.ms).toFixed(2)}x by wall time, ${(x.cpuMs / y.cpuMs).toFixed(2)}x by CPU time (${goal})`);
  };
  lines.push('');
  ratio('native:1', 'torch:1', 'native 1 thread / PyTorch 1 thread', 'goal <= 0.5');
  ratio('native:2', 'torch:2', 'native 2 threads / PyTorch 2 threads', 'lower is better');
  ratio('native:1', 'native:2', 'speed-up native 2 threads over 1', 'goal >= 1.7');
  ratio('wasm', 'native:1', 'wasm / native 1 thread', 'higher is better');
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
