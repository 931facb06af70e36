/**
 * A whole grid end to end through the real CLI (`bnn-ablate run`), per backend, INTERLEAVED over
 * rounds: its wall time, and where that time went (src/runner/overhead.ts): the runs' training
 * loops, the rest of each worker's life (process start, backend and data loading, writing
 * results) and the parent runner's share. Issue 10's goal: runner + worker overhead < 2 % of the
 * wall time. With `--backends wasm,native` it also times the smoke study before (wasm) and after
 * (native) the native engine. `--workers pooled,per-run` also times each backend with a fresh
 * worker process per run (`--runs-per-worker 1`, the runner before pooling), interleaved.
 *
 *   node --import tsx bench/runner.ts [--config experiments/smoke.yaml] [--backends wasm,native]
 *                                     [--workers pooled[,per-run]] [--jobs 1] [--rounds 1]
 *                                     [--preset NAME] [--set key=value ...] [--json]
 *
 * Each grid trains into a fresh temporary results folder, removed afterwards. --jobs 1 makes the
 * split exact; with more jobs idle slots at the grid's tail count as the runner's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gridOverhead, runTiming, type GridOverhead, type RunTiming } from '../src/runner/overhead.ts';
import { median } from '../src/report/stats.ts';

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', default: 'experiments/smoke.yaml' },
    backends: { type: 'string', default: 'wasm,native' },
    workers: { type: 'string', default: 'pooled' },
    preset: { type: 'string' },
    jobs: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '1' },
    set: { type: 'string', multiple: true, default: [] },
    json: { type: 'boolean', default: false },
  },
});

interface Measured extends GridOverhead { backend: string; workers: string; round: number }

/** `pooled`: the runner's default; `per-run`: a fresh worker process per run. */
const WORKER_FLAGS: Record<string, string[]> = { pooled: [], 'per-run': ['--runs-per-worker', '1'] };

/** Every finished run under a results root (results/<experiment>/<id>/), shared copies excluded. */
function timings(root: string): RunTiming[] {
  const out: RunTiming[] = [];
  for (const experiment of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const run of readdirSync(join(root, experiment.name), { withFileTypes: true }).filter((d) => d.isDirectory())) {
      const dir = join(root, experiment.name, run.name);
      const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
      if (meta.sharedFrom) continue;   // trained once elsewhere in this grid
      out.push(runTiming(meta, JSON.parse(readFileSync(join(dir, 'final.json'), 'utf8'))));
    }
  }
  return out;
}

/** One grid on one backend through the CLI, in a fresh results folder. */
function measure(backend: string, workers: string, round: number): Measured {
  const root = mkdtempSync(join(tmpdir(), 'bnn-bench-runner-'));
  try {
    const cli = ['bin/bnn-ablate.js', 'run', args.config!, '--backend', backend, '--jobs', args.jobs!, '--results', root,
      ...WORKER_FLAGS[workers]!, ...(args.preset ? ['--preset', args.preset] : []), ...args.set!.flatMap((s) => ['--set', s])];
    const t0 = performance.now();
    const child = spawnSync(process.execPath, cli, { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
    const wallS = (performance.now() - t0) / 1000;
    if (child.status !== 0) throw new Error(`bnn-ablate run --backend ${backend} exited ${child.status}: ${child.stderr.trim().split('\n').at(-1)}`);
    return { backend, workers, round, ...gridOverhead(timings(root), wallS, Number(args.jobs)) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function format(rows: Measured[], backends: string[], modes: string[]): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
  const lines = [
    `# ${args.config}${args.preset ? ` --preset ${args.preset}` : ''}, --jobs ${args.jobs}; ${cpus()[0]?.model} x ${cpus().length}; load average ${loadavg()[0]!.toFixed(1)} at the end`,
    'backend  workers  round  runs    wall s  training s  worker s  runner s  overhead',
    ...rows.map((r) => `${r.backend.padEnd(9)}${r.workers.padEnd(8)}${String(r.round).padStart(6)}${String(r.runs).padStart(6)}${r.wallS.toFixed(1).padStart(10)}`
      + `${r.trainS.toFixed(1).padStart(12)}${r.workerOverheadS.toFixed(1).padStart(10)}${r.runnerOverheadS.toFixed(1).padStart(10)}${pct(r.overhead).padStart(10)}`),
    '',
  ];
  const of = (b: string, m: string) => rows.filter((r) => r.backend === b && r.workers === m);
  const wall = (b: string, m: string) => median(of(b, m).map((r) => r.wallS));
  for (const b of backends) {
    for (const m of modes) lines.push(`${b}, ${m} workers: median overhead ${pct(median(of(b, m).map((r) => r.overhead)))} of the wall time (goal < 2 %)`);
    if (modes.includes('pooled') && modes.includes('per-run')) {
      lines.push(`${b}: per-run / pooled wall time ${(wall(b, 'per-run') / wall(b, 'pooled')).toFixed(3)}x (${wall(b, 'per-run').toFixed(1)} s / ${wall(b, 'pooled').toFixed(1)} s)`);
    }
  }
  const m = modes[0]!;
  if (backends.includes('wasm') && backends.includes('native')) {
    lines.push(`end to end, ${m} workers, wasm / native: ${(wall('wasm', m) / wall('native', m)).toFixed(2)}x (${wall('wasm', m).toFixed(1)} s / ${wall('native', m).toFixed(1)} s)`);
  }
  return lines.join('\n');
}

function main(): void {
  const list = (v: string) => v.split(',').map((b) => b.trim()).filter(Boolean);
  const backends = list(args.backends!);
  const modes = list(args.workers!);
  const unknown = modes.find((m) => !WORKER_FLAGS[m]);
  if (unknown) throw new Error(`--workers: '${unknown}' is not one of ${Object.keys(WORKER_FLAGS).join(', ')}`);
  const rows: Measured[] = [];
  for (let round = 1; round <= Number(args.rounds); round++) {
    for (const backend of backends) {
      for (const mode of modes) {
        const row = measure(backend, mode, round);
        rows.push(row);
        process.stderr.write(`round ${round} ${backend} ${mode}: ${row.wallS.toFixed(1)} s, overhead ${(100 * row.overhead).toFixed(2)} %\n`);
      }
    }
  }
  process.stdout.write(args.json ? `${JSON.stringify(rows)}\n` : `${format(rows, backends, modes)}\n`);
}

main();
