import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { convGeometry, epilogue, jsEngine, type BinaryConvEngine } from '../../src/infer/engine.ts';
import { WasmEngine } from '../../src/infer/wasm-engine.ts';
import { packActivations, packFilter, popcount32, unpackFilter, wordsPerPixel, type PackedFilter } from '../../src/infer/pack.ts';
import { rng } from './helpers.ts';

interface Case { n: number; h: number; w: number; c: number; k: number; o: number; stride: number; padding: 'same' | 'valid'; zeros: boolean }

/** Independent float64 reference: sign the input (0 stays 0 when `zeros`), zero-pad, ±1 weights, exact sums. */
function reference(x: Float32Array, kernel: Float32Array, alpha: Float32Array, bias: Float32Array | null, k: Case): Float32Array {
  const g = convGeometry(k.h, k.w, k.k, k.k, k.stride, k.padding);
  const out = new Float32Array(k.n * g.outH * g.outW * k.o);
  const sgn = (v: number) => (v > 0 ? 1 : v < 0 ? -1 : k.zeros ? 0 : 1);
  for (let n = 0; n < k.n; n++) for (let oy = 0; oy < g.outH; oy++) for (let ox = 0; ox < g.outW; ox++) for (let o = 0; o < k.o; o++) {
    let s = 0;
    for (let ky = 0; ky < k.k; ky++) for (let kx = 0; kx < k.k; kx++) {
      const iy = oy * k.stride - g.padTop + ky;
      const ix = ox * k.stride - g.padLeft + kx;
      if (iy < 0 || ix < 0 || iy >= k.h || ix >= k.w) continue;
      for (let c = 0; c < k.c; c++) s += sgn(x[((n * k.h + iy) * k.w + ix) * k.c + c]!) * Math.sign(kernel[((ky * k.k + kx) * k.c + c) * k.o + o]!);
    }
    out[((n * g.outH + oy) * g.outW + ox) * k.o + o] = epilogue(s, alpha[o]!, bias?.[o]);
  }
  return out;
}

function makeCase(k: Case, seed: number) {
  const r = rng(seed);
  const x = Float32Array.from({ length: k.n * k.h * k.w * k.c }, () => (k.zeros && r() < 0.2 ? 0 : r() - 0.5));
  const alphaOf = Float32Array.from({ length: k.o }, () => 0.01 + r());
  const kernel = new Float32Array(k.k * k.k * k.c * k.o);
  for (let i = 0; i < kernel.length; i++) kernel[i] = (r() < 0.5 ? -1 : 1) * alphaOf[i % k.o]!;
  const bias = Float32Array.from({ length: k.o }, () => r() - 0.5);
  const { bits, alpha } = packFilter(kernel, k.k, k.k, k.c, k.o);
  assert.deepEqual(alpha, alphaOf, 'α is read back exactly from the binarized kernel');
  const filter: PackedFilter = { kh: k.k, kw: k.k, inChannels: k.c, outChannels: k.o, bits, alpha, bias };
  return { x, kernel, filter };
}

const CASES: Case[] = [
  { n: 2, h: 7, w: 6, c: 5, k: 3, o: 4, stride: 1, padding: 'same', zeros: false },
  { n: 1, h: 8, w: 8, c: 70, k: 3, o: 3, stride: 2, padding: 'same', zeros: false },
  { n: 2, h: 9, w: 9, c: 64, k: 3, o: 5, stride: 2, padding: 'same', zeros: true },
  { n: 1, h: 6, w: 5, c: 33, k: 1, o: 6, stride: 1, padding: 'same', zeros: true },
  { n: 2, h: 6, w: 6, c: 128, k: 1, o: 4, stride: 2, padding: 'same', zeros: false },
  { n: 1, h: 7, w: 7, c: 32, k: 3, o: 2, stride: 1, padding: 'valid', zeros: true },
  { n: 1, h: 5, w: 5, c: 8, k: 3, o: 9, stride: 1, padding: 'same', zeros: true },
  { n: 1, h: 10, w: 10, c: 16, k: 5, o: 3, stride: 1, padding: 'same', zeros: false },
];

const ENGINES: BinaryConvEngine[] = [jsEngine, new WasmEngine()];

test('popcount32 counts bits of edge values', () => {
  assert.deepEqual([0, 1, 0x80000000, 0xffffffff, 0x0f0f0f0f, 0x12345678].map(popcount32), [0, 1, 1, 32, 16, 13]);
});

test('packed filters unpack to the signs of the kernel, OHWI with channel padding bits clear', () => {
  const k = CASES[1]!;
  const { kernel, filter } = makeCase(k, 3);
  assert.deepEqual(unpackFilter(filter), kernel.map(Math.sign));
  const words = wordsPerPixel(k.c);
  assert.equal(words, 3);
  for (let t = 0; t < filter.bits.length / words; t++) assert.equal(filter.bits[t * words + 2]! >>> 6, 0, 'channels 70..95 padding');
});

for (const engine of ENGINES) {
  for (const [i, k] of CASES.entries()) {
    test(`${engine.name}: ${k.k}x${k.k} s${k.stride} ${k.padding} c=${k.c}${k.zeros ? ' with zeros' : ''} equals the float64 reference exactly`, () => {
      const { x, kernel, filter } = makeCase(k, 10 + i);
      const g = convGeometry(k.h, k.w, k.k, k.k, k.stride, k.padding);
      assert.equal(packActivations(x, k.n, k.h, k.w, k.c, k.zeros ? 'zero' : 'plus_one').mask !== null, k.zeros, 'a mask plane exactly when some input is 0');
      const out = new Float32Array(k.n * g.outH * g.outW * k.o);
      engine.conv({ data: x, n: k.n, h: k.h, w: k.w, c: k.c }, k.zeros ? 'zero' : 'plus_one', filter, g, out);
      assert.deepEqual(out, reference(x, kernel, filter.alpha, filter.bias, k));
    });
  }
}

test('with α = 1 the packed conv equals tf.conv2d of the signed input bit for bit (padding is 0, not ±1)', () => {
  tf.setBackend('cpu');
  for (const k of CASES) {
    const { x, kernel, filter } = makeCase(k, 99);
    const signs = kernel.map(Math.sign);
    const unit = { ...filter, alpha: new Float32Array(k.o).fill(1), bias: null };
    const sx = x.map((v) => (v > 0 ? 1 : v < 0 ? -1 : k.zeros ? 0 : 1));
    const expected = tf.tidy(() => tf.conv2d(tf.tensor4d(sx, [k.n, k.h, k.w, k.c]), tf.tensor4d(signs, [k.k, k.k, k.c, k.o]), k.stride, k.padding).dataSync());
    const g = convGeometry(k.h, k.w, k.k, k.k, k.stride, k.padding);
    for (const engine of ENGINES) {
      const out = new Float32Array(expected.length);
      engine.conv({ data: x, n: k.n, h: k.h, w: k.w, c: k.c }, k.zeros ? 'zero' : 'plus_one', unit, g, out);
      assert.deepEqual(out, expected, `${engine.name} ${JSON.stringify(k)}`);
    }
  }
});

test('thresholded signs (a folded batch norm): wasm packs −1 / 0 / +1 exactly as the thresholds say', () => {
  for (const zeros of [false, true]) {
    const k: Case = { n: 2, h: 6, w: 5, c: 40, k: 3, o: 6, stride: 1, padding: 'same', zeros };
    const { x, kernel, filter } = makeCase(k, 7);
    const r = rng(8);
    const table = new Float32Array(3 * k.c);
    for (let c = 0; c < k.c; c++) {
      const lo = r() - 0.5;
      table.set([r() < 0.5 ? -1 : 1, lo, zeros ? lo + 0.3 * r() : lo], 3 * c);
    }
    // Independent of the engines: the ternary input the thresholds define, through the float64 reference.
    const ternary = x.map((v, i) => {
      const c = i % k.c;
      const y = v * table[3 * c]!;
      return y < table[3 * c + 1]! ? -1 : y >= table[3 * c + 2]! ? 1 : 0;
    });
    const expected = reference(ternary, kernel, filter.alpha, filter.bias, { ...k, zeros: true });
    const g = convGeometry(k.h, k.w, k.k, k.k, k.stride, k.padding);
    for (const engine of ENGINES) {
      const out = engine.conv({ data: x, n: k.n, h: k.h, w: k.w, c: k.c, thresholds: { table } }, zeros ? 'zero' : 'plus_one', filter, g);
      assert.deepEqual(out, expected, `${engine.name} zeros=${zeros}`);
    }
  }
});

test('wasm: the SIMD packs (channels a multiple of 32) give the scalar packs\' bits: NaN, −0, values on a threshold, masks', () => {
  const saved = process.env.BNN_WASM_SIMD_PACK;
  process.env.BNN_WASM_SIMD_PACK = '0';
  const scalar = new WasmEngine();
  if (saved === undefined) delete process.env.BNN_WASM_SIMD_PACK; else process.env.BNN_WASM_SIMD_PACK = saved;
  const simd = new WasmEngine();
  for (const c of [32, 64, 96]) {
    for (const zeros of [false, true]) {
      const k: Case = { n: 2, h: 5, w: 4, c, k: 3, o: 5, stride: 1, padding: 'same', zeros };
      const { x, filter } = makeCase(k, c + (zeros ? 1 : 0));
      const r = rng(c);
      const table = new Float32Array(3 * c);
      for (let ch = 0; ch < c; ch++) {
        const lo = r() - 0.5;
        table.set([r() < 0.5 ? -1 : 1, lo, zeros ? lo + 0.3 * r() : lo], 3 * ch);
      }
      // Edge values: NaN, −0, +0, and inputs exactly on a threshold (y = s·x = lo or hi).
      for (let i = 0; i < x.length; i += 7) {
        const ch = i % c;
        const s = table[3 * ch]!;
        x[i] = [Number.NaN, -0, 0, table[3 * ch + 1]! * s, table[3 * ch + 2]! * s][(i / 7) % 5]!;
      }
      const g = convGeometry(k.h, k.w, k.k, k.k, k.stride, k.padding);
      for (const thresholds of [undefined, { table }]) {
        const input = { data: x, n: k.n, h: k.h, w: k.w, c, thresholds };
        const sign = zeros ? 'zero' : 'plus_one';
        const want = jsEngine.conv(input, sign, filter, g);
        assert.deepEqual(scalar.conv(input, sign, filter, g).slice(), want, `scalar c=${c} zeros=${zeros} thr=${thresholds !== undefined}`);
        assert.deepEqual(simd.conv(input, sign, filter, g).slice(), want, `simd c=${c} zeros=${zeros} thr=${thresholds !== undefined}`);
      }
    }
  }
});
