import { createRequire } from 'node:module';
import path from 'node:path';
import tf from '../tf.cjs';

/**
 * WebAssembly backend set-up for Node.
 *
 * Loaded lazily: importing @tensorflow/tfjs-backend-wasm registers 'wasm' as tfjs's
 * highest-priority backend, after which any tensor made before `await selectBackend(...)` throws
 * "backend 'wasm' has not yet been initialized". Importing it only when wasm is asked for keeps
 * tfjs's default (cpu) working for code and tests that never select a backend.
 *
 * Binaries: setWasmPaths points at the package's own dist folder as a plain file path (Node reads
 * it with fs, no fetch), so relocating or bundling our JS cannot break the lookup.
 *
 * Threads: single-threaded, on purpose. tfjs 4.22 reports no multithread support under Node
 * (WASM_HAS_MULTITHREAD_SUPPORT is false for IS_NODE, tfjs issue #3830: the pthread worker is made
 * from a Blob URL that Node's worker_threads cannot run), so the SIMD non-threaded binary loads.
 * We pin the flag anyway so a future tfjs cannot silently change numbers: one thread keeps every
 * reduction in a fixed order, which is what makes the same config and seed bit-identical run to
 * run, and the grid runner gets its parallelism from running several runs side by side.
 */

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');

const require = createRequire(import.meta.url);
let loaded: WasmModule | undefined;

export function wasmDistDir(): string {
  // The device bundle (scripts/bundle.ts) has no node_modules: its entry names the folder it ships.
  const bundled = process.env.BNN_WASM_DIR;
  if (bundled) return bundled.endsWith(path.sep) ? bundled : bundled + path.sep;
  // The package's "main" is dist/tf-backend-wasm.node.js, next to the .wasm binaries.
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

async function loadWasm(): Promise<WasmModule> {
  if (loaded) return loaded;
  const mod = (await import('@tensorflow/tfjs-backend-wasm')) as WasmModule;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  mod.setThreadsCount(1);
  mod.setWasmPaths(wasmDistDir());
  loaded = mod;
  return mod;
}

const EVENTS = ['uncaughtException', 'unhandledRejection'] as const;
// Typed as a plain emitter: Node's typings have one overload per event name, not for a union.
const emitter = process as unknown as NodeJS.EventEmitter;

/**
 * Initialises the wasm backend and makes it current. Emscripten's runtime adds process-wide
 * uncaughtException/unhandledRejection handlers that rethrow from inside its one-line minified
 * bundle, so any later crash would print ~30 kB of that line; they are removed again here.
 */
export async function initWasm(): Promise<boolean> {
  await loadWasm();
  const before = new Map(EVENTS.map((e) => [e, new Set(emitter.listeners(e))]));
  try {
    return await tf.setBackend('wasm');
  } catch {
    return false;
  } finally {
    for (const e of EVENTS) {
      for (const l of emitter.listeners(e)) {
        if (!before.get(e)!.has(l)) emitter.removeListener(e, l as (...args: unknown[]) => void);
      }
    }
  }
}

export interface WasmDetails {
  version: string;
  simd: boolean;
  threads: number;
}

/** Details of the initialised wasm backend; call after initWasm succeeded. */
export async function wasmDetails(): Promise<WasmDetails> {
  const mod = await loadWasm();
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  let threads = 1;
  try {
    threads = mod.getThreadsCount();
  } catch {
    // Not initialised: the configured single thread is the answer.
  }
  return { version: mod.version_wasm, simd, threads };
}
