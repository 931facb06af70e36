/**
 * How much a second core can give on THIS machine, whatever the software does: the ceiling for
 * issue 10's "native 2 threads >= 1.7x native 1 thread". Each probe runs alone, then as two
 * copies side by side (separate processes, no communication, nothing shared but the hardware),
 * interleaved over rounds so that drifting load hits both alike:
 *
 *   alu    a scalar integer loop in JavaScript (registers only): what two vCPUs give at best
 *   conv   one oneDNN 3x3 128->128 convolution on [8,16,16,128], 1 thread (the step's FMA-bound kernel)
 *   step   the reference training step (configs/bench/hourglass-ref.yaml) on native, 1 thread:
 *          alone at its full batch, against two copies at half the batch each. That pair is
 *          perfect data parallelism (no gradient exchange, no synchronised batch norm, no
 *          imbalance), so its speed-up bounds every way of splitting the BATCH over two threads.
 *   conv-threads  the same convolution alone on 1 thread, against it split over 2 threads by
 *          oneDNN itself (intra-op): what splitting each kernel, not the batch, gives
 *
 * Speed-up of a pair = (work done by the two copies / their wall time) / (work alone / its wall
 * time): 2 x solo / slower copy for alu and conv, full-batch step / slower half-batch step.
 *
 *   node --import tsx bench/parallel-ceiling.ts [--rounds 4] [--probes alu,conv,conv-threads,step] [--json]
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Tensor4D } from '@tensorflow/tfjs';
import { median } from '../src/report/stats.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '4' },
    probes: { type: 'string', default: 'alu,conv,conv-threads,step' },
    child: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const REF = 'configs/bench/hourglass-ref.yaml';

/** Child: a fixed amount of register-only integer work (xorshift32); prints its ms. */
function aluProbe(): number {
  const t0 = performance.now();
  let x = 2463534242;
  for (let i = 0; i < 400_000_000; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; }
  const ms = performance.now() - t0;
  if (x === 0) throw new Error('unreachable: xorshift never reaches 0');   // keeps the loop live
  return ms;
}

/** Child: median ms of one oneDNN convolution on T threads, the reference step's commonest shape. */
async function convProbe(threads: number): Promise<number> {
  const { selectBackend } = await import('../src/backend/index.ts');
  const tf = await import('@tensorflow/tfjs');
  await selectBackend('native', { threads });
  const x = tf.randomNormal([8, 16, 16, 128], 0, 1, 'float32', 1) as Tensor4D;
  const w = tf.randomNormal([3, 3, 128, 128], 0, 0.1, 'float32', 2) as Tensor4D;
  const times: number[] = [];
  for (let i = 0; i < 400; i++) {
    const t0 = performance.now();
    const y = tf.conv2d(x, w, 1, 'same');
    y.dataSync();
    times.push(performance.now() - t0);
    y.dispose();
  }
  return median(times.slice(20));
}

/** Runs `node <args>` and resolves with the last stdout line as a number (ms). */
function child(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', ...argv], { env: { ...process.env, OMP_NUM_THREADS: '1', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    p.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      const ms = last.startsWith('{') ? (JSON.parse(last) as { medianMs: number }).medianMs : Number(last);
      if (code === 0 && Number.isFinite(ms)) resolve(ms); else reject(new Error(`${argv.join(' ')} exited ${code}: ${out.slice(-300)}`));
    });
  });
}

/** The solo and the paired command of one probe. */
function probeArgs(probe: string, paired: boolean): string[] {
  if (probe === 'step') {
    const steps = ['--steps', '10', '--warmup', '2', '--json', '--config', REF];
    return ['bench/step.ts', '--one', 'native:1', ...steps, ...(paired ? ['--batch-divisor', '2'] : [])];
  }
  if (probe === 'conv-threads') return ['bench/parallel-ceiling.ts', '--child', paired ? 'conv:2' : 'conv'];
  return ['bench/parallel-ceiling.ts', '--child', probe];
}

interface Round { probe: string; soloMs: number; pairMs: [number, number]; speedup: number; load: number }

async function measureRound(probe: string): Promise<Round> {
  const soloMs = await child(probeArgs(probe, false));
  if (probe === 'conv-threads') {
    // Not a pair: the same convolution split over two threads by oneDNN itself, in one process.
    const twoMs = await child(probeArgs(probe, true), { OMP_NUM_THREADS: '2' });
    return { probe, soloMs, pairMs: [twoMs, twoMs], speedup: soloMs / twoMs, load: loadavg()[0]! };
  }
  const pairMs = await Promise.all([child(probeArgs(probe, true)), child(probeArgs(probe, true))]) as [number, number];
  const slower = Math.max(...pairMs);
  // alu/conv: two units of work against one; step: one full batch against two halves.
  const speedup = probe === 'step' ? soloMs / slower : (2 * soloMs) / slower;
  return { probe, soloMs, pairMs, speedup, load: loadavg()[0]! };
}

async function main(): Promise<void> {
  if (args.child === 'alu') return void process.stdout.write(`${aluProbe()}\n`);
  if (args.child?.startsWith('conv')) return void process.stdout.write(`${await convProbe(args.child === 'conv:2' ? 2 : 1)}\n`);
  const probes = args.probes!.split(',').filter(Boolean);
  const rounds: Round[] = [];
  for (let r = 0; r < Number(args.rounds); r++) {
    for (const probe of probes) {
      const m = await measureRound(probe);
      rounds.push(m);
      process.stderr.write(`round ${r + 1} ${probe}: solo ${m.soloMs.toFixed(1)} ms, pair ${m.pairMs.map((x) => x.toFixed(1)).join(' / ')} ms, `
        + `speed-up ${m.speedup.toFixed(2)}x (load ${m.load.toFixed(2)})\n`);
    }
  }
  if (args.json) return void process.stdout.write(`${JSON.stringify(rounds)}\n`);
  const lines = [`# ${cpus()[0]?.model} x ${cpus().length}; ${args.rounds} interleaved rounds; speed-up of two side-by-side copies over one (median, range)`];
  for (const probe of probes) {
    const s = rounds.filter((m) => m.probe === probe).map((m) => m.speedup);
    lines.push(`${probe.padEnd(13)} ${median(s).toFixed(2)}x  (${Math.min(...s).toFixed(2)}-${Math.max(...s).toFixed(2)})`);
  }
  lines.push('step: the full-batch 1-thread step over the slower of two half-batch copies, an upper bound for splitting the batch over 2 threads;'
    + '\nconv-threads: one convolution split over 2 threads by oneDNN against 1 thread (not a pair)');
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
