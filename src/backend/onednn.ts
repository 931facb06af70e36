import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The optional oneDNN addon (native/, built at install by native/build.cjs) that the `native`
 * backend's kernels call. Not to be confused with native.ts, which loads tfjs-node.
 *
 * Loaded once per process. Where it is missing (no oneDNN, no compiler, a failed build) the
 * reason comes from the install's build-status.json, with the fix; where it exists but fails to
 * load, that is warned about once on stderr, and `auto` falls back to wasm.
 */

/** Conv geometry as the addon reads it (see native/src/conv.cc). */
export type ConvGeometryArray = [
  n: number, ih: number, iw: number, ic: number, oc: number, kh: number, kw: number, sh: number, sw: number,
  dh: number, dw: number, padTop: number, padLeft: number, padBottom: number, padRight: number, oh: number, ow: number,
];

export interface OneDnnStats {
  /** Layout conversions NHWC/HWIO <-> oneDNN's blocked layouts, and the bytes they wrote. */
  reorders: number;
  reorderBytes: number;
  /** Primitives created (one per shape, kind and thread count) and executions that reused one. */
  primitives: number;
  cacheHits: number;
}

export interface OneDnnInfo {
  version: string;
  /** The instruction set oneDNN dispatched to at run time, e.g. avx512_core. */
  isa: string;
  threads: number;
  runtime: string;
}

/** The addon's functions. Offsets are byte offsets into `heap`, the wasm memory's ArrayBuffer. */
export interface OneDnnAddon {
  setThreads(n: number): number;
  getThreads(): number;
  info(): OneDnnInfo;
  stats(): OneDnnStats;
  resetStats(): void;
  convForward(heap: ArrayBuffer, g: ConvGeometryArray, x: number, w: number, y: number): void;
  /** y = act(conv(x, w) + bias): bias -1 where absent; act 0 none, 1 relu, 2 relu6, 3 leaky relu with slope alpha. */
  convForwardFused(heap: ArrayBuffer, g: ConvGeometryArray, x: number, w: number, y: number, bias: number,
    act: number, alpha: number): void;
  convBackwardData(heap: ArrayBuffer, g: ConvGeometryArray, dx: number, w: number, dy: number): void;
  convBackwardWeights(heap: ArrayBuffer, g: ConvGeometryArray, x: number, dw: number, dy: number): void;
  /** 0 forward, 1 input gradient, 2 filter gradient: the implementation oneDNN picked. */
  convImpl(kind: 0 | 1 | 2, g: ConvGeometryArray): string;
  /** scale: 0 channel, 1 tensor, 2 none (binary-kernels.ts's BnnBinarizeWeights and its gradient). */
  binarizeWeights(heap: ArrayBuffer, w: number, out: number, n: number, cols: number, scale: number): void;
  binarizeWeightsGrad(heap: ArrayBuffer, dy: number, w: number, dw: number, n: number, cols: number, scale: number, clip: boolean): void;
  /** The filter gradient queued on the background thread (onednn-async.ts); returns the job's id. */
  convBackwardWeightsAsync(heap: ArrayBuffer, g: ConvGeometryArray, x: number, dw: number, dy: number): number;
  binarizeWeightsGradAsync(heap: ArrayBuffer, dy: number, w: number, dw: number, n: number, cols: number, scale: number, clip: boolean): number;
  /** Blocks until job `id` (and every earlier one) has run; returns the last finished job's id. Throws a failed job's error. */
  asyncWait(id: number, heap: ArrayBuffer): number;
  /** The last finished job's id (jobs finish in order). */
  asyncDone(): number;
  /** Whether kernels queue background jobs at >= 2 threads (BNN_ASYNC_FILTER_GRAD; default on). */
  setAsyncJobs(on: boolean): void;
  /** setAsyncJobs on and >= 2 threads. */
  asyncActive(): boolean;
  /** Since load: jobs finished, ms the background thread spent in them (wall; its own CPU), ms the main thread waited for them. */
  asyncTimes(): { jobs: number; jobMs: number; jobCpuMs: number; waitMs: number };
  /** Tests: while on, queued jobs do not start (asyncWait on a held job throws instead of hanging). */
  asyncHold(on: boolean): void;
  batchMatMul(heap: ArrayBuffer, a: number, b: number, c: number, batchA: number, batchB: number,
    m: number, n: number, k: number, transposeA: boolean, transposeB: boolean): void;
}

export type OneDnnLoad = { ok: true; addon: OneDnnAddon; info: OneDnnInfo } | { ok: false; reason: string };

const require = createRequire(import.meta.url);
const LOADER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../native/index.cjs');

let loaded: OneDnnLoad | undefined;
let warned = false;

function attempt(threads: number | undefined): OneDnnLoad {
  if (process.env.BNN_NATIVE === '0') return { ok: false, reason: 'turned off (BNN_NATIVE=0)' };
  let r: { ok: true; addon: OneDnnAddon } | { ok: false; reason: string };
  try {
    r = (require(LOADER) as { load(t?: number): typeof r }).load(threads);
  } catch (err) {
    r = { ok: false, reason: `native/index.cjs failed: ${String((err as Error)?.message ?? err).split('\n')[0]}` };
  }
  if (!r.ok) {
    // A build that exists but cannot load, or was built from other sources, is a broken install:
    // say so once, then run without it.
    if ((r.reason.startsWith('native addon failed to load') || r.reason.startsWith('native addon is out of date')) && !warned) {
      warned = true;
      process.stderr.write(`bnn-ablate: warning: ${r.reason}; falling back to wasm\n`);
    }
    return r;
  }
  return { ok: true, addon: r.addon, info: r.addon.info() };
}

/**
 * The addon, loaded on first call. `threads` (first call only) is set before OpenMP starts, so
 * its pool never holds more threads than asked; later calls change it with setOneDnnThreads.
 */
export function loadOneDnn(threads?: number): OneDnnLoad {
  loaded ??= attempt(threads);
  return loaded;
}

/** The loaded addon; throws where loadOneDnn did not succeed (kernels run only after it did). */
export function oneDnn(): OneDnnAddon {
  if (!loaded?.ok) throw new Error('the oneDNN addon is not loaded');
  return loaded.addon;
}

/** Sets oneDNN's thread count; returns what OpenMP reports back. */
export function setOneDnnThreads(n: number): number {
  return oneDnn().setThreads(n);
}

/**
 * Whether the filter gradients run on a background thread at >= 2 threads (onednn-async.ts):
 * on unless BNN_ASYNC_FILTER_GRAD=0, which keeps the split by images of native/src/conv.cc.
 * Read at every backend selection.
 */
export function asyncFilterGradEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.BNN_ASYNC_FILTER_GRAD !== '0';
}

/** Counters of the loaded addon, or undefined where it is not loaded. */
export function oneDnnStats(): OneDnnStats | undefined {
  return loaded?.ok ? loaded.addon.stats() : undefined;
}
