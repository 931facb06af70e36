import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fusedBinarizeWeights, selectBackend } from '../../src/backend/index.ts';
import { oneDnn, oneDnnStats, setOneDnnThreads } from '../../src/backend/onednn.ts';
import { settleNativeJobs } from '../../src/backend/onednn-async.ts';
import { nativeSkip, randomValues, referenceConv, relError, sizeOf, type ConvCase } from './helpers.ts';

/**
 * The filter gradients (and the binarized-weight gradients behind them) on the addon's
 * background thread at 2 threads (onednn-async.ts, native/src/async.cc): results against float64,
 * bit for bit run to run, buffers freed while a job still used them, the chain of two jobs, and
 * the switch (BNN_ASYNC_FILTER_GRAD=0; 1 thread queues nothing).
 */
const SKIP = await nativeSkip();

const CASES: ConvCase[] = [
  { x: [3, 9, 7, 5], filter: [3, 3, 5, 4], strides: 1, pad: 'same' },
  { x: [5, 8, 8, 16], filter: [3, 3, 16, 8], strides: 2, pad: 'same' },
  { x: [8, 4, 4, 128], filter: [3, 3, 128, 64], strides: 1, pad: 'same' },
];

function differing(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

/** Selects native at `threads` with BNN_ASYNC_FILTER_GRAD as given (undefined: the default, on). */
async function nativeAt(threads: number, asyncKnob?: '0' | '1'): Promise<void> {
  const old = process.env.BNN_ASYNC_FILTER_GRAD;
  if (asyncKnob === undefined) delete process.env.BNN_ASYNC_FILTER_GRAD;
  else process.env.BNN_ASYNC_FILTER_GRAD = asyncKnob;
  try {
    await selectBackend('native', { threads });
  } finally {
    if (old === undefined) delete process.env.BNN_ASYNC_FILTER_GRAD;
    else process.env.BNN_ASYNC_FILTER_GRAD = old;
  }
}

const jobsDone = (): number => oneDnn().asyncDone();

/** dw of sum(conv(x, w) · r) through tf.grad, read back with dataSync. */
function filterGrad(c: ConvCase, x: Float64Array, w: Float64Array, r: Float64Array, outShape: number[]): Float32Array {
  return tf.tidy(() => tf.grad((f: tf.Tensor) => tf.sum(tf.mul(
    tf.conv2d(tf.tensor4d(Float32Array.from(x), c.x), f as tf.Tensor4D, c.strides, c.pad), tf.tensor(Float32Array.from(r), outShape))))(
    tf.tensor4d(Float32Array.from(w), c.filter)).dataSync() as Float32Array);
}

test('native async: at 2 threads the filter gradient is one background job, matches float64 and repeats bit for bit', { skip: SKIP }, async () => {
  await nativeAt(2);
  assert.equal(oneDnn().asyncActive(), true, 'on by default at 2 threads');
  for (const [i, c] of CASES.entries()) {
    const x = randomValues(sizeOf(c.x), 700 + i);
    const w = randomValues(sizeOf(c.filter), 710 + i);
    const r = randomValues(sizeOf(referenceConv(c, x, w).outShape), 720 + i);
    const ref = referenceConv(c, x, w, r);
    const jobs = jobsDone();
    const reorders = oneDnnStats()!.reorders;
    const first = filterGrad(c, x, w, r, ref.outShape);
    assert.equal(jobsDone() - jobs, 1, `case ${i}: one job, and it was waited for before the read`);
    // The whole batch in one primitive: one reorder of its blocked gradient (cases 0 and 1 take
    // blocked layouts on AVX2 and AVX-512), against one per share when split.
    if (i < 2) assert.equal(oneDnnStats()!.reorders - reorders, 1 + 1, `case ${i}: forward filter reorder + the job's`);
    assert.ok(relError(first, ref.dw) <= 1e-5, `case ${i}: dw ${relError(first, ref.dw)}`);
    assert.equal(differing(first, filterGrad(c, x, w, r, ref.outShape)), 0, `case ${i}: the same bits again`);
  }
  setOneDnnThreads(1);
});

test('native async: x and dy freed before the filter gradient is read stay reserved until the job is done', { skip: SKIP }, async () => {
  await nativeAt(2);
  const c = CASES[2]!;
  const xv = randomValues(sizeOf(c.x), 730);
  const wv = randomValues(sizeOf(c.filter), 731);
  const ref0 = referenceConv(c, xv, wv);
  const dyv = randomValues(sizeOf(ref0.outShape), 732);
  const ref = referenceConv(c, xv, wv, dyv);
  const backend = tf.backend() as unknown as { getMemoryOffset(id: object): number; numDataIds(): number };
  const x = tf.tensor4d(Float32Array.from(xv), c.x);
  const dy = tf.tensor(Float32Array.from(dyv), ref.outShape);
  const jobs = jobsDone();
  // Held, the job cannot finish before the frees below: what is checked does not depend on timing.
  oneDnn().asyncHold(true);
  const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy },
    { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: 1, filterShape: c.filter }) as tf.Tensor;
  const reserved = [backend.getMemoryOffset(x.dataId), backend.getMemoryOffset(dy.dataId)];
  const buffers = backend.numDataIds();
  tf.dispose([x, dy]);
  assert.equal(backend.numDataIds(), buffers - 2, 'freed as far as tfjs can tell');
  // New tensors of the same sizes, filled with junk: had the heap got x's and dy's memory back,
  // malloc would hand it out again here, and the job would read the junk.
  const junk = [tf.fill(c.x, 1e30), tf.fill(ref.outShape, -1e30)];
  try {
    for (const t of junk) assert.ok(!reserved.includes(backend.getMemoryOffset(t.dataId)), 'a job\'s input memory is not reused');
    assert.throws(() => dw.dataSync(), /held/, 'a read of a held job\'s output says so rather than hang');
  } finally {
    oneDnn().asyncHold(false);
  }
  const got = dw.dataSync() as Float32Array;
  assert.equal(jobsDone() - jobs, 1, 'the kernel was queued');
  assert.ok(relError(got, ref.dw) <= 1e-5, `dw ${relError(got, ref.dw)}`);
  tf.dispose([dw, ...junk]);
  settleNativeJobs(tf.backend());
  assert.equal(backend.numDataIds(), buffers - 3, 'every buffer freed once the job is done');
  setOneDnnThreads(1);
});

/** d/dw of sum(conv(x, α·sign(w)) · r): the filter gradient job, then the binarization gradient chained on it. */
function binaryConvGrad(c: ConvCase, seed: number): Float32Array {
  const x = tf.tensor4d(Float32Array.from(randomValues(sizeOf(c.x), seed)), c.x);
  const w = tf.tensor4d(Float32Array.from(randomValues(sizeOf(c.filter), seed + 1).map((v) => 1.5 * v)), c.filter);
  const out = tf.tidy(() => {
    const y = tf.conv2d(x, fusedBinarizeWeights(w, 'channel', 'clipped_ste') as tf.Tensor4D, c.strides, c.pad);
    const r = tf.tensor(Float32Array.from(randomValues(sizeOf(y.shape), seed + 2)), y.shape);
    return tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, fusedBinarizeWeights(f, 'channel', 'clipped_ste') as tf.Tensor4D,
      c.strides, c.pad), r)))(w);
  });
  tf.dispose([x, w]);
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

test('native async: the binarized-weight gradient chains on a pending filter gradient, with 1 thread\'s bits', { skip: SKIP }, async () => {
  // One thread runs both inline: the filter gradient on a 1-thread primitive over the whole batch,
  // as the background job does, and the binarization gradient's bits depend on no thread count.
  await nativeAt(1);
  const want = CASES.map((c, i) => binaryConvGrad(c, 740 + 3 * i));
  await nativeAt(2);
  for (const [i, c] of CASES.entries()) {
    const jobs = jobsDone();
    const got = binaryConvGrad(c, 740 + 3 * i);
    assert.equal(jobsDone() - jobs, 2, `case ${i}: the filter gradient and the binarization gradient both queued`);
    assert.equal(differing(got, want[i]!), 0, `case ${i}: bit-identical to 1 thread`);
  }
  setOneDnnThreads(1);
});

test('native async: 1 thread and BNN_ASYNC_FILTER_GRAD=0 queue nothing', { skip: SKIP }, async () => {
  const c = CASES[1]!;
  const x = randomValues(sizeOf(c.x), 750);
  const w = randomValues(sizeOf(c.filter), 751);
  const ref = referenceConv(c, x, w, randomValues(sizeOf(referenceConv(c, x, w).outShape), 752));
  const r = randomValues(sizeOf(ref.outShape), 752);
  for (const [threads, knob] of [[1, undefined], [2, '0']] as const) {
    await nativeAt(threads, knob);
    assert.equal(oneDnn().asyncActive(), false, `${threads} threads, knob ${knob}`);
    const jobs = jobsDone();
    assert.ok(relError(filterGrad(c, x, w, r, ref.outShape), ref.dw) <= 1e-5, `${threads} threads: dw`);
    assert.equal(jobsDone(), jobs, `${threads} threads, knob ${knob}: ran inline`);
  }
  setOneDnnThreads(1);
});
