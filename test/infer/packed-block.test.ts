/**
 * The fused HourGlass block: the native kernel's strided pack and epilogue (a channel slice of a
 * wider input and output, and the residual sum) against its dense calls, bit for bit, on every
 * instruction set this CPU has; NativeEngine.convBlock against `blockByConvs` (the separate
 * convolutions, concat and add) on the js and native engines; and fuseBlocks's pattern match:
 * it fuses exactly the HPM block's shape and leaves every variant it cannot compute exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockByConvs, convGeometry, jsEngine, type BlockBranch, type SignAtZero, type SignThresholds } from '../../src/infer/engine.ts';
import { fuseBlocks } from '../../src/infer/fuse-blocks.ts';
import { NativeEngine, nativeEngineStatus, POPCOUNT_ISAS, type Strides } from '../../src/infer/native-engine.ts';
import { packFilter, type PackedFilter } from '../../src/infer/pack.ts';
import { rng, differing } from './helpers.ts';

const status = nativeEngineStatus();
const skip = status.ok ? false : `native addon not available: ${status.reason}`;
const isas = status.ok ? status.isas : [];

/** A filter with random signs, α (some negative: −0 outputs), an optional bias and PReLU slopes with the edge values. */
function filter(r: () => number, k: number, cin: number, cout: number, bias: boolean): PackedFilter {
  const kernel = Float32Array.from({ length: k * k * cin * cout }, () => (r() < 0.5 ? -1 : 1));
  const { bits } = packFilter(kernel, k, k, cin, cout);
  const edges = [0.25, -0.5, 0, -0, Infinity, NaN];
  return {
    kh: k, kw: k, inChannels: cin, outChannels: cout, bits,
    alpha: Float32Array.from({ length: cout }, (_, o) => (o % 5 === 0 ? -1 : 0.01 + r())),
    bias: bias ? Float32Array.from({ length: cout }, (_, o) => (o % 4 === 0 ? -0 : r() - 0.5)) : null,
    slope: Float32Array.from({ length: cout }, (_, o) => (o < edges.length ? edges[o]! : r() - 0.3)),
  };
}

function thresholds(r: () => number, c: number, sign: SignAtZero): SignThresholds {
  const table = new Float32Array(3 * c);
  for (let ch = 0; ch < c; ch++) {
    const lo = r() - 0.5;
    table.set([r() < 0.5 ? -1 : 1, lo, sign === 'zero' ? lo + 0.3 * r() : lo], 3 * ch);
  }
  return { table };
}

/** Inputs in [−0.5, 0.5) with exact zeros (the mask plane under sign_at_zero = zero). */
const features = (r: () => number, size: number) => Float32Array.from({ length: size }, () => (r() < 0.15 ? 0 : r() - 0.5));

interface ConvCase { n: number; h: number; w: number; c: number; o: number; k: number; stride: number; sign: SignAtZero; thr: boolean; bias: boolean }

const CONV_CASES: ConvCase[] = [
  { n: 2, h: 5, w: 6, c: 70, o: 21, k: 3, stride: 1, sign: 'zero', thr: true, bias: true },
  { n: 3, h: 4, w: 9, c: 64, o: 32, k: 3, stride: 1, sign: 'plus_one', thr: false, bias: false },
  { n: 1, h: 7, w: 5, c: 9, o: 13, k: 3, stride: 2, sign: 'zero', thr: false, bias: false },
  { n: 2, h: 3, w: 3, c: 33, o: 8, k: 1, stride: 1, sign: 'plus_one', thr: true, bias: true },
];

for (const isa of POPCOUNT_ISAS) {
  const why = skip || (isas.includes(isa) ? false : `this CPU lacks ${isa}`);
  test(`native ${isa}: a strided input, a strided output and the residual sum give the dense call's floats, bit for bit`, { skip: why }, () => {
    if (!status.ok) return;
    const addon = status.addon;
    const engine = new NativeEngine(isa);
    for (const [i, k] of CONV_CASES.entries()) {
      const r = rng(40 + i);
      const f = filter(r, k.k, k.c, k.o, k.bias);
      const t = k.thr ? thresholds(r, k.c, k.sign) : undefined;
      const g = convGeometry(k.h, k.w, k.k, k.k, k.stride, 'same');
      const x = features(r, k.n * k.h * k.w * k.c);
      const dense = engine.conv({ data: x, n: k.n, h: k.h, w: k.w, c: k.c, thresholds: t }, k.sign, f, g).slice();
      // The input as channels [3, 3 + c) of a buffer 3 + c + 5 wide, the output as [2, 2 + o) of one o + 7 wide.
      const inPixels = k.n * k.h * k.w;
      const outPixels = k.n * g.outH * g.outW;
      const inStride = k.c + 8;
      const outStride = k.o + 7;
      const wideX = features(r, inPixels * inStride);
      for (let p = 0; p < inPixels; p++) wideX.set(x.subarray(p * k.c, (p + 1) * k.c), p * inStride + 3);
      const wideOut = new Float32Array(outPixels * outStride).fill(7);
      const residual = features(r, outPixels * outStride);
      const sum = new Float32Array(outPixels * outStride).fill(9);
      const call = (out: Float32Array | null, strides: Strides) => addon.binaryConv(addon.binaryConvPrepare(f.bits, k.k, k.k, k.c, k.o),
        wideX.subarray(3), t?.table ?? null, k.sign === 'zero', [k.n, k.h, k.w, k.c, k.k, k.k, k.stride, g.padTop, g.padLeft, g.outH, g.outW, k.o],
        f.alpha, f.bias, out, POPCOUNT_ISAS.indexOf(isa), f.slope!, strides);
      const ran = call(wideOut.subarray(2), { inStride, outStride, sum: sum.subarray(2), residual: residual.subarray(2), sumStride: outStride });
      assert.equal(ran.isa, isa);
      if (k.sign === 'zero') assert.equal(ran.masked, true, 'the zeros need the mask plane');
      const slice = (b: Float32Array, p: number) => b.subarray(p * outStride + 2, p * outStride + 2 + k.o);
      for (let p = 0; p < outPixels; p++) {
        const want = dense.subarray(p * k.o, (p + 1) * k.o);
        assert.deepEqual(differing(slice(wideOut, p), want), [], `case ${i} pixel ${p}: strided output`);
        const wantSum = want.map((v, o) => Math.fround(v + residual[p * outStride + 2 + o]!));
        assert.deepEqual(differing(slice(sum, p), wantSum), [], `case ${i} pixel ${p}: residual sum`);
        // Outside the slices nothing was written.
        assert.equal(wideOut[p * outStride], 7);
        assert.equal(sum[p * outStride + 2 + k.o], 9);
      }
      // The sum alone (no y output: the last branch of a block) is the same sum.
      const sumOnly = new Float32Array(outPixels * outStride);
      call(null, { inStride, sum: sumOnly.subarray(2), residual: residual.subarray(2), sumStride: outStride });
      for (let p = 0; p < outPixels; p++) assert.deepEqual(differing(slice(sumOnly, p), slice(sum, p)), [], `case ${i} pixel ${p}: sum without out`);
    }
  });
}

test('native: strides too small for the channels, or a null out without a sum, are refused', { skip }, () => {
  if (!status.ok) return;
  const addon = status.addon;
  const f = filter(rng(3), 3, 8, 4, false);
  const prep = addon.binaryConvPrepare(f.bits, 3, 3, 8, 4);
  const args = (out: Float32Array | null, s: Strides) => () => addon.binaryConv(prep, new Float32Array(4 * 4 * 8), null, false,
    [1, 4, 4, 8, 3, 3, 1, 1, 1, 4, 4, 4], f.alpha, null, out, 0, null, s);
  assert.throws(args(new Float32Array(64), { inStride: 7 }), /strides.inStride is below the channel count/);
  assert.throws(args(null, { outStride: 4 }), /out is null and there is no strides.sum/);
  assert.throws(args(new Float32Array(64), { outStride: 5 }), /out is too short/);
});

/** The three chained branches of an HPM block of width c on [n, h, w, cin], thresholds on the second and third (folded batch norms). */
function blockOf(r: () => number, n: number, h: number, w: number, cin: number, c: number, sign: SignAtZero): BlockBranch[] {
  const widths = [Math.floor(c / 2), Math.floor(c / 4), c - Math.floor(c / 2) - Math.floor(c / 4)];
  let inC = cin;
  return widths.map((o, i) => {
    const b: BlockBranch = { filter: filter(r, 3, inC, o, false), g: convGeometry(h, w, 3, 3, 1, 'same'), n, h, w,
      ...(i > 0 || sign === 'zero' ? { thresholds: thresholds(r, inC, sign) } : {}) };
    inC = o;
    return b;
  });
}

const BLOCK_CASES = [
  { n: 2, h: 6, w: 5, cin: 64, c: 128, sign: 'plus_one' as const },
  { n: 3, h: 4, w: 4, cin: 20, c: 20, sign: 'zero' as const },
  { n: 1, h: 8, w: 3, cin: 9, c: 10, sign: 'zero' as const },
];

for (const isa of POPCOUNT_ISAS) {
  const why = skip || (isas.includes(isa) ? false : `this CPU lacks ${isa}`);
  test(`native ${isa}: convBlock is the separate convolutions, concat and residual add, bit for bit (with and without the residual)`, { skip: why }, () => {
    const engine = new NativeEngine(isa);
    for (const [i, k] of BLOCK_CASES.entries()) {
      const r = rng(70 + i);
      const branches = blockOf(r, k.n, k.h, k.w, k.cin, k.c, k.sign);
      const x = features(r, k.n * k.h * k.w * k.cin);
      const residual = features(r, k.n * k.h * k.w * k.c);
      for (const res of [residual, null]) {
        const want = new Float32Array(residual.length);
        blockByConvs(jsEngine, x, k.sign, branches, res, want);
        const got = new Float32Array(residual.length).fill(5);
        engine.convBlock(x, k.sign, branches, res, got);
        const bad = differing(got, want);
        assert.deepEqual(bad.slice(0, 5).map((j) => [j % k.c, got[j], want[j]]), [], `${isa} case ${i} ${res === null ? 'concat only' : 'with residual'}: ${bad.length} differ`);
        const nativeRef = new Float32Array(residual.length);
        blockByConvs(engine, x, k.sign, branches, res, nativeRef);
        assert.deepEqual(differing(got, nativeRef), [], `${isa} case ${i}: against the native engine's own convolutions`);
      }
      if (k.sign === 'zero') assert.equal(engine.lastRun?.masked, true);
    }
  });
}

// ---- fuseBlocks on hand-made topologies -----------------------------------------------------

interface Entry { class_name: string; name: string; config: Record<string, unknown>; inbound_nodes: unknown }
const layer = (cls: string, name: string, inputs: string[], config: Record<string, unknown> = {}): Entry => ({
  class_name: cls, name, config: { name, ...config }, inbound_nodes: [inputs.map((i) => [i, 0, 0, {}])],
});

const packed = (name: string, input: string, extra: Record<string, unknown> = {}): Entry => ({
  class_name: 'PackedBinaryLayer', name,
  config: { name, filters: 4, kernel_size: 3, strides: 1, padding: 'same', use_bias: false, in_channels: 4, sign_at_zero: 'plus_one', dense: false, ...extra },
  inbound_nodes: [[[input, 0, 0, {}]]],
});
/** An HPM block b reading `x`, its Add's inputs [concat, x] (identity shortcut), then a head reading the Add. */
function hpm(edit: (layers: Entry[]) => void = () => {}) {
  const layers = [
    layer('InputLayer', 'x', []), packed('b_conv1', 'x'), packed('b_conv2', 'b_conv1'), packed('b_conv3', 'b_conv2'),
    layer('Concatenate', 'b_concat', ['b_conv1', 'b_conv2', 'b_conv3'], { axis: -1 }), layer('Add', 'b_add', ['b_concat', 'x']),
    layer('Conv2D', 'head', ['b_add']),
  ];
  layers[0]!.inbound_nodes = [];
  edit(layers);
  return { class_name: 'Model', config: { name: 'm', layers, input_layers: [['x', 0, 0]], output_layers: [['head', 0, 0]] } };
}

const names = (t: unknown) => (t as { config: { layers: Array<{ config: { name: string }; class_name: string }> } }).config.layers.map((l) => `${l.class_name}:${l.config.name}`);

test('fuseBlocks: an HPM block becomes one PackedBlock named as its Add, reading [x, shortcut]; the input topology is not changed', () => {
  const t = hpm();
  const before = JSON.stringify(t);
  const f = fuseBlocks(t);
  assert.equal(JSON.stringify(t), before);
  assert.deepEqual(names(f.topology), ['InputLayer:x', 'PackedBlock:b_add', 'Conv2D:head']);
  const block = (f.topology as { config: { layers: Array<{ config: Record<string, unknown>; inbound_nodes: unknown }> } }).config.layers[1]!;
  assert.deepEqual(block.inbound_nodes, [[['x', 0, 0, {}], ['x', 0, 0, {}]]]);
  assert.equal(block.config.concat, 'b_concat');
  assert.deepEqual((block.config.branches as Array<{ name: string }>).map((b) => b.name), ['b_conv1', 'b_conv2', 'b_conv3']);
  assert.deepEqual([...f.blockOf], [['b_conv1', 'b_add'], ['b_conv2', 'b_add'], ['b_conv3', 'b_add']]);
});

test('fuseBlocks: leaves every block it could not compute exactly as it was', () => {
  const variants: Array<[string, (l: Entry[]) => void]> = [
    ['a branch with a bias', (l) => { l[2]!.config.use_bias = true; }],
    ['a strided branch', (l) => { l[1]!.config.strides = 2; }],
    ['a valid-padded branch', (l) => { l[3]!.config.padding = 'valid'; }],
    ['the concat second in the Add', (l) => { l[5]!.inbound_nodes = [[['x', 0, 0, {}], ['b_concat', 0, 0, {}]]]; }],
    ['a branch read elsewhere', (l) => { l[6]!.inbound_nodes = [[['b_conv2', 0, 0, {}]]]; l.push(layer('Conv2D', 'tail', ['b_add'])); }],
    ['the concat read elsewhere', (l) => { l.push(layer('Conv2D', 'tail', ['b_concat'])); }],
    ['branches out of chain order', (l) => { l[4]!.inbound_nodes = [[['b_conv2', 0, 0, {}], ['b_conv1', 0, 0, {}], ['b_conv3', 0, 0, {}]]]; }],
    ['a concat along another axis', (l) => { l[4]!.config.axis = 1; }],
    ['a dense branch', (l) => { l[1]!.config.dense = true; }],
  ];
  const plain = names(hpm());
  for (const [what, edit] of variants) {
    const t = hpm(edit);
    const f = fuseBlocks(t);
    assert.deepEqual(names(f.topology), names(t), what);
    assert.equal(f.blockOf.size, 0, what);
  }
  assert.equal(plain.length, 7);
});

test('native convBlock: the thread count does not change a result', { skip }, async () => {
  const { oneDnn, setOneDnnThreads } = await import('../../src/backend/onednn.ts');
  const engine = new NativeEngine();
  const k = BLOCK_CASES[0]!;
  const r = rng(99);
  const branches = blockOf(r, k.n, k.h, k.w, k.cin, k.c, k.sign);
  const x = features(r, k.n * k.h * k.w * k.cin);
  const residual = features(r, k.n * k.h * k.w * k.c);
  const before = oneDnn().getThreads();
  try {
    setOneDnnThreads(1);
    const one = new Float32Array(residual.length);
    engine.convBlock(x, k.sign, branches, residual, one);
    setOneDnnThreads(3);
    const three = new Float32Array(residual.length);
    engine.convBlock(x, k.sign, branches, residual, three);
    assert.deepEqual(differing(three, one), []);
  } finally {
    setOneDnnThreads(before);
  }
});
