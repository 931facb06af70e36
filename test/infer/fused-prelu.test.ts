/**
 * The PReLU fused into the engines' epilogue (PackedFilter.slope) against the separate tfjs Prelu
 * kernel on the unfused output, bit for bit, on the backends where the packed layers fuse it
 * (wasm, and native, whose Prelu is its own C++ twin of wasm's): every engine, every native
 * instruction set this CPU has, slopes and α chosen to hit the edges where PReLU formulas
 * disagree: −0 (an α < 0 times a zero sum, a product underflowing to −0), +0, a zero or negative
 * slope, tiny products, an infinite slope (0·∞ = NaN for a positive input), a NaN slope.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import { convGeometry, jsEngine, prelu, type BinaryConvEngine } from '../../src/infer/engine.ts';
import { WasmEngine } from '../../src/infer/wasm-engine.ts';
import { NativeEngine, nativeEngineStatus } from '../../src/infer/native-engine.ts';
import { packFilter, type PackedFilter } from '../../src/infer/pack.ts';
import { rng, differing } from './helpers.ts';

const native = nativeEngineStatus();

function engines(): Array<[string, BinaryConvEngine]> {
  const out: Array<[string, BinaryConvEngine]> = [['js', jsEngine], ['wasm', new WasmEngine()]];
  if (native.ok) for (const isa of native.isas) out.push([`native ${isa}`, new NativeEngine(isa)]);
  return out;
}

const EDGE_SLOPES = [0.25, -0.5, 0, -0, 1e-30, -1e-30, 3, Infinity, -Infinity, NaN];
const EDGE_ALPHAS = [1, -1, 0.5, -0.75, 1e-38, 2];

interface Case { n: number; h: number; w: number; c: number; k: number; o: number; bias: boolean }

function operands(k: Case, seed: number) {
  const r = rng(seed);
  const x = Float32Array.from({ length: k.n * k.h * k.w * k.c }, () => r() - 0.5);
  const kernel = Float32Array.from({ length: k.k * k.k * k.c * k.o }, () => (r() < 0.5 ? -1 : 1));
  const { bits } = packFilter(kernel, k.k, k.k, k.c, k.o);
  // α from the edges (negative α turns a zero sum into −0), then random; bias sometimes −0 or cancelling.
  const alpha = Float32Array.from({ length: k.o }, (_, o) => EDGE_ALPHAS[o % EDGE_ALPHAS.length]! * (o < EDGE_ALPHAS.length ? 1 : r() + 0.5));
  const bias = k.bias ? Float32Array.from({ length: k.o }, (_, o) => (o % 3 === 0 ? -0 : r() - 0.5)) : null;
  const slope = Float32Array.from({ length: k.o }, (_, o) => (o < EDGE_SLOPES.length ? EDGE_SLOPES[o]! : r() - 0.3));
  const plain: PackedFilter = { kh: k.k, kw: k.k, inChannels: k.c, outChannels: k.o, bits, alpha, bias };
  return { x, plain, fused: { ...plain, slope } as PackedFilter, slope };
}

const CASES: Case[] = [
  { n: 2, h: 5, w: 6, c: 70, k: 3, o: 21, bias: true },
  { n: 1, h: 4, w: 4, c: 32, k: 3, o: 16, bias: false },
  { n: 3, h: 1, w: 1, c: 130, k: 1, o: 13, bias: true }, // a dense layer's shape
  { n: 1, h: 6, w: 7, c: 9, k: 3, o: 1, bias: false },
];

for (const backend of ['wasm', 'native'] as const) {
  const skip = backend === 'native' && !native.ok ? `native addon not available: ${native.reason}` : false;
  test(`${backend} backend: every engine's fused PReLU is the Prelu kernel on its unfused output, bit for bit (−0, NaN, ±∞ slopes)`, { skip }, async () => {
    await selectBackend(backend, { threads: 1 });
    for (const [ci, k] of CASES.entries()) {
      const { x, plain, fused, slope } = operands(k, 10 + ci);
      const g = convGeometry(k.h, k.w, k.k, k.k, 1, 'same');
      const shape = [k.n, g.outH, g.outW, k.o];
      for (const [name, engine] of engines()) {
        const act = { data: x, n: k.n, h: k.h, w: k.w, c: k.c };
        const linear = engine.conv(act, 'plus_one', plain, g).slice();
        const want = tf.tidy(() => tf.prelu(tf.tensor(linear, shape), tf.tensor(slope, [1, 1, k.o])).dataSync() as Float32Array);
        const got = engine.conv(act, 'plus_one', fused, g).slice();
        const bad = differing(got, want);
        assert.deepEqual(bad.slice(0, 5).map((i) => [i % k.o, linear[i], got[i], want[i]]), [], `${backend} ${name} case ${ci}: ${bad.length} differ`);
      }
    }
  });
}

test('the edge cases occur: −0 and NaN outputs, and a PReLU that keeps −0 (as the cpu kernel does) would differ', async () => {
  await selectBackend('wasm');
  const k = CASES[0]!;
  const { x, plain, fused } = operands(k, 10);
  const g = convGeometry(k.h, k.w, k.k, k.k, 1, 'same');
  const act = { data: x, n: k.n, h: k.h, w: k.w, c: k.c };
  const linear = jsEngine.conv(act, 'plus_one', plain, g).slice();
  const got = jsEngine.conv(act, 'plus_one', fused, g).slice();
  assert.ok(linear.some((v) => Object.is(v, -0)), 'some unfused output is −0');
  assert.ok(got.some((v) => Number.isNaN(v)), 'an infinite slope makes NaN');
  assert.ok(!got.some((v) => Object.is(v, -0)), 'the wasm formula never gives −0');
  // y = v < 0 ? slope·v : v keeps −0: the formula matters.
  const naive = linear.map((v, i) => (v < 0 ? Math.fround(fused.slope![i % k.o]! * v) : v));
  assert.ok(differing(naive, got).length > 0);
  assert.equal(Object.is(prelu(-0, 0.25), 0), true);
  assert.equal(prelu(2, Infinity), NaN);
});
