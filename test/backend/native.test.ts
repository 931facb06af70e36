import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fusedBinarizeWeights, overrideCallCounts, probeBackends, selectBackend } from '../../src/backend/index.ts';
import { BINARIZE_WEIGHTS, BINARIZE_WEIGHTS_GRAD } from '../../src/backend/binary-kernels.ts';
import { convGeometry, nativeCallCounts } from '../../src/backend/onednn-kernels.ts';
import { oneDnnStats, setOneDnnThreads } from '../../src/backend/onednn.ts';
import { nativeSkip, randomValues, referenceConv, relError, sizeOf, type ConvCase } from './helpers.ts';
import { trainTinyNet } from './tiny-net.ts';

/**
 * The `native` backend (oneDNN kernels on the wasm heap). The convolutions and their gradients
 * run the same float64-reference cases as wasm in conv-grad.test.ts and train-ops.test.ts; here:
 * BatchMatMul against float64, bit-identical training at 1 and 2 threads, the layout-reorder
 * count, the fallback, and what `backends` says.
 */
const SKIP = await nativeSkip();

/** How many elements differ bit for bit (a count, not deepEqual's diff, which is slow on big arrays). */
function differing(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

interface MatMulCase { a: number[]; b: number[]; ta: boolean; tb: boolean }

/** Plain, transposed, batched, broadcast (a batch of 1 on either side, rank 2 against rank 3). */
const MATMULS: MatMulCase[] = [
  { a: [3, 4], b: [4, 5], ta: false, tb: false },
  { a: [4, 3], b: [4, 5], ta: true, tb: false },
  { a: [3, 4], b: [5, 4], ta: false, tb: true },
  { a: [4, 3], b: [5, 4], ta: true, tb: true },
  { a: [2, 3, 7], b: [2, 7, 6], ta: false, tb: false },
  { a: [1, 3, 7], b: [4, 7, 2], ta: false, tb: false },
  { a: [4, 7, 3], b: [1, 2, 7], ta: true, tb: true },
  { a: [2, 3, 3, 5], b: [5, 1], ta: false, tb: false },
  { a: [1, 33], b: [33, 65], ta: false, tb: false },
];

/** Float64 c = op(a) · op(b) per batch entry, a batch of 1 broadcast. */
function referenceMatMul(c: MatMulCase, a: Float64Array, b: Float64Array): { shape: number[]; c: Float64Array } {
  const [ra, ca] = c.a.slice(-2) as [number, number];
  const [rb, cb] = c.b.slice(-2) as [number, number];
  const [m, k] = c.ta ? [ca, ra] : [ra, ca];
  const n = c.tb ? rb : cb;
  const outer = tf.backend_util.assertAndGetBroadcastShape(c.a.slice(0, -2), c.b.slice(0, -2));
  const batch = sizeOf(outer);
  const batchA = sizeOf(c.a.slice(0, -2));
  const batchB = sizeOf(c.b.slice(0, -2));
  const out = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const oa = (batchA === 1 ? 0 : t) * m * k;
    const ob = (batchB === 1 ? 0 : t) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[oa + (c.ta ? p * m + i : i * k + p)]! * b[ob + (c.tb ? j * k + p : p * n + j)]!;
        out[(t * m + i) * n + j] = s;
      }
    }
  }
  return { shape: [...outer, m, n], c: out };
}

test('native: BatchMatMul matches float64 for transposes, batches and broadcasting', { skip: SKIP }, async () => {
  await selectBackend('native', { threads: 1 });
  const before = nativeCallCounts().native[tf.BatchMatMul] ?? 0;
  for (const [i, c] of MATMULS.entries()) {
    const a = randomValues(sizeOf(c.a), 10 + i);
    const b = randomValues(sizeOf(c.b), 20 + i);
    const ref = referenceMatMul(c, a, b);
    const got = tf.tidy(() => tf.matMul(tf.tensor(Float32Array.from(a), c.a), tf.tensor(Float32Array.from(b), c.b), c.ta, c.tb));
    assert.deepEqual(got.shape, ref.shape, JSON.stringify(c));
    const e = relError(got.dataSync(), ref.c);
    assert.ok(e <= 1e-6, `${JSON.stringify(c)}: relative error ${e}`);
    got.dispose();
  }
  assert.equal((nativeCallCounts().native[tf.BatchMatMul] ?? 0) - before, MATMULS.length, 'every product ran in oneDNN');
});

test('native: α·sign(W) and its gradient are bit-identical to the wasm kernels at 1 and 2 threads, every scale and surrogate', { skip: SKIP }, async () => {
  // The wasm (JS) kernels are checked against the tfjs-op graph in fused-kernels.test.ts; equal
  // bits carry that over. Shapes: conv filters, a dense matrix, a column count not a multiple of 4,
  // and one big enough to be split across threads, in more column blocks than one (130 > 64).
  const cases = [[3, 3, 4, 5], [6, 7], [1, 1, 8, 3], [3, 3, 64, 32], [3, 3, 64, 130]];
  const run = () => {
    const out: Float32Array[] = [];
    for (const [i, shape] of cases.entries()) {
      const w = tf.tensor(Float32Array.from(randomValues(sizeOf(shape), 90 + i).map((v) => 1.5 * v)), shape);
      const r = tf.tensor(Float32Array.from(randomValues(sizeOf(shape), 95 + i)), shape);
      for (const scale of ['channel', 'tensor', 'none'] as const) {
        for (const gradient of ['clipped_ste', 'ste'] as const) {
          const f = (t: tf.Tensor) => fusedBinarizeWeights(t, scale, gradient);
          out.push(tf.tidy(() => f(w).dataSync() as Float32Array));
          out.push(tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), r)))(w).dataSync() as Float32Array));
        }
      }
      tf.dispose([w, r]);
    }
    return out;
  };
  await selectBackend('wasm');
  const want = run();
  for (const threads of [1, 2]) {
    await selectBackend('native', { threads });
    const before = nativeCallCounts().native;
    const got = run();
    const after = nativeCallCounts().native;
    for (const [k, g] of got.entries()) assert.equal(differing(g, want[k]!), 0, `${threads} threads, output ${k}: bit-identical to wasm`);
    const ran = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
    assert.equal(ran(BINARIZE_WEIGHTS), cases.length * 6 * 2, 'forward ran natively (also inside each gradient)');
    assert.equal(ran(BINARIZE_WEIGHTS_GRAD), cases.length * 6, 'gradient ran natively');
  }
  setOneDnnThreads(1);
});

test('native: a transposed product differs from the plain one (the comparison can fail)', { skip: SKIP }, async () => {
  await selectBackend('native', { threads: 1 });
  const c: MatMulCase = { a: [5, 5], b: [5, 5], ta: true, tb: false };
  const a = randomValues(25, 13);
  const b = randomValues(25, 23);
  const ref = referenceMatMul(c, a, b);
  const wrong = tf.tidy(() => tf.matMul(tf.tensor(Float32Array.from(a), c.a), tf.tensor(Float32Array.from(b), c.b), false, false).dataSync());
  assert.ok(relError(wrong, ref.c) > 0.1, 'a wrong transpose is far outside the tolerance');
});

test('native: training is bit-identical run to run at 1 and at 2 threads', { skip: SKIP }, async () => {
  for (const threads of [1, 2]) {
    const backend = await selectBackend('native', { threads });
    assert.equal(backend.threads, threads);
    // A layer big enough for oneDNN to split the work (and the filter-gradient reduction) across threads.
    const big = () => tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from(randomValues(8 * 16 * 16 * 64, 5)), [8, 16, 16, 64]);
      const w = tf.tensor4d(Float32Array.from(randomValues(3 * 3 * 64 * 64, 6)), [3, 3, 64, 64]);
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')));
      return tf.grads(f)([x, w]).map((g) => g.dataSync() as Float32Array);
    });
    const [g1, g2] = [big(), big()];
    for (const k of [0, 1]) assert.equal(differing(g1[k]!, g2[k]!), 0, `${threads} threads: a 64-channel conv's ${k ? 'dw' : 'dx'}`);
    const first = await trainTinyNet(2);
    const second = await trainTinyNet(2);
    for (let s = 0; s < 2; s++) {
      assert.equal(first[s]!.loss, second[s]!.loss, `${threads} threads, step ${s}: loss`);
      for (const [name, g] of Object.entries(first[s]!.grads)) {
        assert.equal(differing(g, second[s]!.grads[name]!), 0, `${threads} threads, step ${s}: ${name} gradient`);
      }
    }
  }
  setOneDnnThreads(1);
});

test('native: at 2 threads without background jobs the filter gradient is split by images (odd and even batches), matches float64 and repeats bit for bit', { skip: SKIP }, async () => {
  // The split is what BNN_ASYNC_FILTER_GRAD=0 runs (onednn-async.test.ts covers the default).
  process.env.BNN_ASYNC_FILTER_GRAD = '0';
  try {
    await selectBackend('native', { threads: 2 });
  } finally {
    delete process.env.BNN_ASYNC_FILTER_GRAD;
  }
  for (const [i, c] of ([
    { x: [3, 9, 7, 5], filter: [3, 3, 5, 4], strides: 1, pad: 'same' },
    { x: [5, 8, 8, 16], filter: [3, 3, 16, 8], strides: 2, pad: 'same' },
    // Even batches: both shares have one shape, so oneDNN's cache hands both threads the same
    // primitive; with a shared scratchpad the gemm filter gradient (the reference step's 2×2
    // layer, AVX2) crashed the process on AMD Zen 3.
    { x: [8, 2, 2, 32], filter: [3, 3, 32, 32], strides: 1, pad: 'same' },
    { x: [8, 4, 4, 128], filter: [3, 3, 128, 64], strides: 1, pad: 'same' },
  ] as ConvCase[]).entries()) {
    const x = randomValues(sizeOf(c.x), 500 + i);
    const w = randomValues(sizeOf(c.filter), 510 + i);
    const r = randomValues(sizeOf(referenceConv(c, x, w).outShape), 520 + i);
    const ref = referenceConv(c, x, w, r);
    const dw = () => tf.tidy(() => tf.grad((f: tf.Tensor) => tf.sum(tf.mul(
      tf.conv2d(tf.tensor4d(Float32Array.from(x), c.x), f as tf.Tensor4D, c.strides, c.pad), tf.tensor(Float32Array.from(r), ref.outShape))))(
      tf.tensor4d(Float32Array.from(w), c.filter)).dataSync() as Float32Array);
    const before = oneDnnStats()!.reorders;
    const first = dw();
    // Each of the 2 shares converts its own blocked gradient back to HWIO (cases 0 and 1 take blocked
    // layouts on AVX2 and AVX-512 alike; the gemm kernel of case 2 works in HWIO and needs none).
    if (i < 2) assert.equal(oneDnnStats()!.reorders - before, 1 + 2, `case ${i}: forward filter reorder + one per share`);
    assert.ok(relError(first, ref.dw) <= 1e-5, `case ${i}: dw ${relError(first, ref.dw)}`);
    assert.equal(differing(first, dw()), 0, `case ${i}: the same bits again`);
  }
  setOneDnnThreads(1);
});

test('native: the filter reorders are counted, one per conv call, and primitives are cached per shape', { skip: SKIP }, async () => {
  await selectBackend('native', { threads: 1 });
  const x = tf.tensor4d(Float32Array.from(randomValues(2 * 6 * 6 * 16, 1)), [2, 6, 6, 16]);
  const w = tf.tensor4d(Float32Array.from(randomValues(3 * 3 * 16 * 16, 2)), [3, 3, 16, 16]);
  tf.tidy(() => tf.conv2d(x, w, 1, 'same'));
  const s0 = oneDnnStats()!;
  tf.tidy(() => tf.conv2d(x, w, 1, 'same'));
  tf.tidy(() => tf.conv2d(x, w, 1, 'same'));
  const s1 = oneDnnStats()!;
  assert.equal(s1.primitives, s0.primitives, 'the cached primitive is reused');
  assert.equal(s1.cacheHits - s0.cacheHits, 2);
  // AVX-512 convolutions want their filter blocked, so each call converts HWIO once.
  assert.equal(s1.reorders - s0.reorders, 2);
  tf.dispose([x, w]);
});

test('native: a geometry oneDNN cannot express falls back to the wasm kernel', { skip: SKIP }, async () => {
  // ceil rounding with explicit padding: tfjs's output size is not oneDNN's floor rule.
  assert.equal(convGeometry([1, 6, 6, 2], [3, 3, 2, 2], { strides: 2, pad: 1, dimRoundingMode: 'ceil' }), undefined);
  assert.equal(convGeometry([1, 6, 6, 2], [3, 3, 2, 2], { strides: 1, pad: 'same', dataFormat: 'NCHW' }), undefined);
  assert.ok(convGeometry([1, 6, 6, 2], [3, 3, 2, 2], { strides: 2, pad: 'same' }), 'a same-padded stride-2 conv maps');
  const x = Float32Array.from(randomValues(36, 3));
  const w = Float32Array.from(randomValues(9, 4));
  const conv = () => tf.tidy(() => {
    const y = tf.conv2d(tf.tensor4d(x, [1, 6, 6, 1]), tf.tensor4d(w, [3, 3, 1, 1]), 2, 1, 'NHWC', 1, 'ceil');
    return { shape: y.shape, values: y.dataSync() };
  });
  // The reference is the stock wasm kernel itself (tfjs's cpu kernel pads a ceil geometry differently).
  await selectBackend('wasm');
  const want = conv();
  await selectBackend('native', { threads: 1 });
  const before = nativeCallCounts();
  const got = conv();
  assert.deepEqual(got.shape, [1, 4, 4, 1]);
  // The stock kernel fills only the 3x3 outputs a floor geometry has (the rest is uninitialised
  // heap, a tfjs bug): those 9 are compared.
  assert.deepEqual(Array.from(got.values.subarray(0, 9)), Array.from(want.values.subarray(0, 9)), 'the wasm kernel computed it');
  const after = nativeCallCounts();
  assert.equal(after.native[tf.Conv2D] ?? 0, before.native[tf.Conv2D] ?? 0, 'not run by oneDNN');
  assert.equal((after.fallback[tf.Conv2D] ?? 0) - (before.fallback[tf.Conv2D] ?? 0), 1, 'handed to the wasm kernel');
});

test('native: switching to wasm removes the oneDNN kernels, and back', { skip: SKIP }, async () => {
  await selectBackend('wasm');
  const a = tf.ones([2, 2]);
  const before = overrideCallCounts()[`native_${tf.BatchMatMul}`] ?? 0;
  tf.tidy(() => tf.matMul(a, a).dataSync());
  assert.equal(overrideCallCounts()[`native_${tf.BatchMatMul}`] ?? 0, before, 'wasm runs its own matmul');
  await selectBackend('native', { threads: 1 });
  tf.tidy(() => tf.matMul(a, a).dataSync());
  assert.equal(overrideCallCounts()[`native_${tf.BatchMatMul}`] ?? 0, before + 1);
  a.dispose();
});

test('backends lists native, with its reason when unavailable', async () => {
  const report = await probeBackends();
  const native = report.backends.find((b) => b.name === 'native');
  assert.ok(native, 'native is probed');
  if (SKIP) {
    assert.equal(native.available, false);
    assert.match(native.reason ?? '', /oneDNN|native/);
  } else {
    assert.equal(native.available, true);
    assert.match(native.detail ?? '', /oneDNN \d+\.\d+/);
  }
  const names = report.backends.map((b) => b.name);
  assert.ok(names.indexOf('native') > names.indexOf('node') && names.indexOf('native') < names.indexOf('wasm'), 'auto order');
});
