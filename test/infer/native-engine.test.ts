/**
 * The native engine (native/src/popcount.cc) against the JS reference and the wasm engine: the
 * same floats bit for bit on random shapes (3×3, 1×1, 5×5; strides 1 and 2; same / valid
 * padding; channel counts off multiples of 32 and 64; batch > 1; ±1 and ternary inputs; folded
 * thresholds), on every instruction-set path this CPU has.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convGeometry, jsEngine, type BinaryConvEngine, type SignAtZero, type SignThresholds } from '../../src/infer/engine.ts';
import { WasmEngine } from '../../src/infer/wasm-engine.ts';
import { NativeEngine, nativeEngineStatus, POPCOUNT_ISAS } from '../../src/infer/native-engine.ts';
import { packFilter, type PackedFilter } from '../../src/infer/pack.ts';
import { oneDnn, setOneDnnThreads } from '../../src/backend/onednn.ts';
import { rng } from './helpers.ts';

const getThreads = () => oneDnn().getThreads();

const status = nativeEngineStatus();
const skip = status.ok ? false : `native addon not available: ${status.reason}`;

interface Case { n: number; h: number; w: number; c: number; k: number; o: number; stride: number; padding: 'same' | 'valid'; sign: SignAtZero; zeros: boolean; thr: boolean; bias: boolean }

/** A random case: small odd sizes, channel counts around the 32/64-bit word edges. */
function randomCase(r: () => number): Case {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const k = pick([1, 3, 3, 5]);
  const h = k + Math.floor(r() * 9);
  return {
    n: 1 + Math.floor(r() * 3), h, w: k + Math.floor(r() * 9), c: pick([1, 5, 31, 32, 33, 63, 64, 65, 96, 127, 130]), k,
    o: pick([1, 3, 7, 8, 9, 16, 17, 24, 33]), stride: pick([1, 2]), padding: r() < 0.75 ? 'same' : 'valid',
    sign: r() < 0.5 ? 'zero' : 'plus_one', zeros: r() < 0.5, thr: r() < 0.4, bias: r() < 0.5,
  };
}

function inputs(k: Case, seed: number) {
  const r = rng(seed);
  const x = Float32Array.from({ length: k.n * k.h * k.w * k.c }, () => (k.zeros && r() < 0.2 ? 0 : r() - 0.5));
  if (k.zeros && x.length > 0) x[0] = -0; // −0 is not negative: +1 (plus_one) or 0 (zero)
  const alphaOf = Float32Array.from({ length: k.o }, () => 0.01 + r());
  const kernel = new Float32Array(k.k * k.k * k.c * k.o);
  for (let i = 0; i < kernel.length; i++) kernel[i] = (r() < 0.5 ? -1 : 1) * alphaOf[i % k.o]!;
  const { bits, alpha } = packFilter(kernel, k.k, k.k, k.c, k.o);
  const bias = k.bias ? Float32Array.from({ length: k.o }, () => r() - 0.5) : null;
  const filter: PackedFilter = { kh: k.k, kw: k.k, inChannels: k.c, outChannels: k.o, bits, alpha, bias };
  let thresholds: SignThresholds | undefined;
  if (k.thr) {
    const table = new Float32Array(3 * k.c);
    for (let c = 0; c < k.c; c++) {
      const lo = r() - 0.5;
      table.set([r() < 0.5 ? -1 : 1, lo, k.sign === 'zero' ? lo + 0.3 * r() : lo], 3 * c);
    }
    thresholds = { table };
  }
  return { x, filter, thresholds };
}

function run(engine: BinaryConvEngine, k: Case, seed: number): Float32Array {
  const { x, filter, thresholds } = inputs(k, seed);
  const g = convGeometry(k.h, k.w, k.k, k.k, k.stride, k.padding);
  return engine.conv({ data: x, n: k.n, h: k.h, w: k.w, c: k.c, thresholds }, k.sign, filter, g).slice();
}

const isas = status.ok ? status.isas : [];

test('native engine: the ISAs this CPU has, best first; the default is the best', { skip }, () => {
  assert.ok(isas.includes('scalar'));
  assert.deepEqual([...isas].sort((a, b) => POPCOUNT_ISAS.indexOf(b) - POPCOUNT_ISAS.indexOf(a)), isas);
  assert.equal(new NativeEngine('').isa, isas[0]);
});

test('native engine: a path the CPU lacks, or no such path, is refused with one line', { skip }, () => {
  assert.throws(() => new NativeEngine('sse9'), /BNN_POPCOUNT_ISA: 'sse9' is not one of scalar, avx2, avx512/);
  const missing = POPCOUNT_ISAS.find((i) => !isas.includes(i));
  if (missing !== undefined) assert.throws(() => new NativeEngine(missing), /this CPU lacks it/);
});

for (const isa of POPCOUNT_ISAS) {
  const why = skip || (isas.includes(isa) ? false : `this CPU lacks ${isa}`);
  test(`native ${isa}: bit-identical to the JS and wasm engines on 60 random shapes`, { skip: why }, () => {
    const native = new NativeEngine(isa);
    const wasm = new WasmEngine();
    const r = rng(1234);
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const k = randomCase(r);
      const expected = run(jsEngine, k, i);
      assert.deepEqual(run(native, k, i), expected, `${isa} vs js: ${JSON.stringify(k)}`);
      assert.equal(native.lastRun?.isa, isa);
      seen.add(`k${k.k} s${k.stride} ${k.padding} ${native.lastRun?.masked ? 'masked' : 'plain'}${k.thr ? ' thresholds' : ''}`);
      assert.deepEqual(run(wasm, k, i), expected, `wasm vs js: ${JSON.stringify(k)}`);
    }
    for (const want of ['k1 s1 same plain', 'k3 s1 same plain', 'k3 s2 same plain', 'k3 s1 same masked', 'k3 s2 same masked', 'k3 s1 same plain thresholds', 'k3 s1 same masked thresholds', 'k3 s1 valid plain']) {
      assert.ok(seen.has(want), `the random cases cover ${want} (${[...seen].join('; ')})`);
    }
  });
}

test('native: the thread count does not change a result (exact integer sums, one thread per output element)', { skip }, () => {
  const native = new NativeEngine();
  const k: Case = { n: 3, h: 13, w: 11, c: 130, k: 3, o: 33, stride: 1, padding: 'same', sign: 'zero', zeros: true, thr: false, bias: true };
  const before = getThreads();
  try {
    setOneDnnThreads(1);
    const one = run(native, k, 5);
    setOneDnnThreads(3);
    assert.equal(native.threads, 3);
    assert.deepEqual(run(native, k, 5), one);
    assert.deepEqual(one, run(jsEngine, k, 5));
  } finally {
    setOneDnnThreads(before);
  }
});
