/**
 * Convolution forward + both gradients on the JS backends, stock kernels vs the forward-conv
 * overrides of src/backend/kernels.ts.
 *
 *   node --import tsx bench/conv.ts [--iters 5] [--stride 1] [--no-stock-filter]
 *
 * Shape: x [8,32,32,64], filter 3x3x64->64, 'same' padding. The stock cpu Conv2DBackpropFilter
 * takes tens of seconds, so it runs exactly once (no warm-up); --no-stock-filter skips it.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend, uninstallKernelOverrides, installKernelOverrides } from '../src/backend/index.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const ITERS = flag('iters', 5);
const STRIDE = flag('stride', 1);
const STOCK_FILTER = !args.includes('--no-stock-filter');

const X: [number, number, number, number] = [8, 32, 32, 64];
const W: [number, number, number, number] = [3, 3, 64, 64];
const PAD = 'same' as const;
const HO = Math.ceil(X[1] / STRIDE);
const WO = Math.ceil(X[2] / STRIDE);
// Multiply-adds of the forward conv, x2 for FLOPs; each gradient has the same nominal count.
const FLOP = 2 * X[0] * HO * WO * W[3] * W[0] * W[1] * W[2];

interface Row { backend: string; op: string; impl: string; ms: number | null; note?: string }
const rows: Row[] = [];

function time(fn: () => tf.Tensor | tf.Tensor[], iters: number, warmup: boolean): number {
  const run = () => {
    const out = fn();
    for (const t of Array.isArray(out) ? out : [out]) {
      t.dataSync();
      t.dispose();
    }
  };
  if (warmup) run();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) run();
  return (performance.now() - t0) / iters;
}

function withStock<T>(backend: string, kernel: string, fn: () => T): T {
  uninstallKernelOverrides(backend, [kernel]);
  try {
    return fn();
  } finally {
    installKernelOverrides(backend);
  }
}

async function benchBackend(backend: 'wasm' | 'cpu'): Promise<void> {
  await selectBackend(backend);
  const x = tf.randomNormal(X, 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal(W, 0, 0.1, 'float32', 2) as tf.Tensor4D;
  const dy = tf.randomNormal([X[0], HO, WO, W[3]], 0, 1, 'float32', 3) as tf.Tensor4D;
  const attrs = { strides: STRIDE, pad: PAD, dataFormat: 'NHWC' };
  const dx = () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, { ...attrs, inputShape: X }) as tf.Tensor;
  const dW = () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: W }) as tf.Tensor;
  const step = () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, STRIDE, PAD), dy)))([x, w]);
  const cpuIters = Math.max(1, Math.min(ITERS, 2));
  const iters = backend === 'cpu' ? cpuIters : ITERS;

  rows.push({ backend, op: 'forward conv2d', impl: 'stock', ms: time(() => tf.conv2d(x, w, STRIDE, PAD), iters, true) });
  rows.push({ backend, op: 'dx  Conv2DBackpropInput', impl: 'fast', ms: backend === 'wasm' ? time(dx, iters, true) : null, note: backend === 'cpu' ? 'not overridden on cpu' : undefined });
  const stockDx = tf.getKernel(tf.Conv2DBackpropInput, backend) ? withStock(backend, tf.Conv2DBackpropInput, () => time(dx, iters, true)) : null;
  rows.push({ backend, op: 'dx  Conv2DBackpropInput', impl: 'stock', ms: stockDx });
  rows.push({ backend, op: 'dW  Conv2DBackpropFilter', impl: 'fast', ms: time(dW, iters, true) });
  if (backend === 'wasm') {
    rows.push({ backend, op: 'dW  Conv2DBackpropFilter', impl: 'stock', ms: null, note: 'wasm has no such kernel' });
  } else if (STOCK_FILTER) {
    process.stderr.write('cpu stock Conv2DBackpropFilter: one iteration, expect tens of seconds...\n');
    rows.push({ backend, op: 'dW  Conv2DBackpropFilter', impl: 'stock', ms: withStock(backend, tf.Conv2DBackpropFilter, () => time(dW, 1, false)) });
  }
  rows.push({ backend, op: 'step fwd + dx + dW (tf.grads)', impl: 'fast', ms: time(step, iters, true) });
  tf.dispose([x, w, dy]);
}

function fmt(r: Row): string {
  const ms = r.ms === null ? 'n/a' : r.ms.toFixed(1);
  const nominal = r.op.startsWith('step') ? 3 * FLOP : FLOP;
  const gflops = r.ms === null ? '' : (nominal / (r.ms * 1e6)).toFixed(2);
  return `${r.backend.padEnd(5)} ${r.op.padEnd(30)} ${r.impl.padEnd(5)} ${ms.padStart(10)} ${gflops.padStart(8)}  ${r.note ?? ''}`.trimEnd();
}

const find = (backend: string, op: string, impl: string) => rows.find((r) => r.backend === backend && r.op.startsWith(op) && r.impl === impl)?.ms ?? null;
const ratio = (a: number | null, b: number | null) => (a !== null && b !== null ? `${(a / b).toFixed(1)}x` : 'n/a');

await benchBackend('wasm');
await benchBackend('cpu');

console.log(`conv x=[${X}] filter=[${W}] stride=${STRIDE} pad=${PAD}: ${(FLOP / 1e9).toFixed(3)} GFLOP per conv; iters wasm=${ITERS} cpu=${Math.max(1, Math.min(ITERS, 2))}`);
console.log(`${'bknd'.padEnd(5)} ${'op'.padEnd(30)} ${'impl'.padEnd(5)} ${'ms'.padStart(10)} ${'GFLOP/s'.padStart(8)}`);
for (const r of rows) console.log(fmt(r));
console.log('');
console.log(`cpu  dW stock / fast:            ${ratio(find('cpu', 'dW', 'stock'), find('cpu', 'dW', 'fast'))}`);
console.log(`wasm dx stock / fast:            ${ratio(find('wasm', 'dx', 'stock'), find('wasm', 'dx', 'fast'))}`);
console.log(`wasm dW fast / wasm forward:     ${ratio(find('wasm', 'dW', 'fast'), find('wasm', 'forward', 'stock'))}`);
const cpuStockStep = [find('cpu', 'forward', 'stock'), find('cpu', 'dx', 'stock'), find('cpu', 'dW', 'stock')];
const stockStep = cpuStockStep.every((v) => v !== null) ? cpuStockStep.reduce((a, b) => a! + b!, 0) : null;
console.log(`cpu stock step / wasm fast step: ${ratio(stockStep, find('wasm', 'step', 'fast'))}  (stock step = forward + stock dx + stock dW)`);
console.log(`cpu stock step / cpu fast step:  ${ratio(stockStep, find('cpu', 'step', 'fast'))}`);
