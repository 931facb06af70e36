/**
 * The binary-convolution engines, in one explicit list, fastest first: `native` (the addon's
 * AVX-512 / AVX2 / scalar popcount, where it is built), `wasm` (i64.popcnt, wherever
 * WebAssembly runs), `js` (the plain reference). `auto` takes the first that is available and
 * says why it passed over the others, as backend selection does.
 */
import { UsageError } from '../errors.ts';
import { jsEngine, type BinaryConvEngine } from './engine.ts';
import { NativeEngine, nativeEngineStatus } from './native-engine.ts';
import { WasmEngine } from './wasm-engine.ts';

export const ENGINE_NAMES = ['native', 'wasm', 'js'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];
/** What --engine accepts. */
export const ENGINE_CHOICES = ['auto', ...ENGINE_NAMES] as const;

interface EngineFactory {
  /** null where the engine can run here, else why not. */
  unavailable(): string | null;
  make(): BinaryConvEngine;
}

const ENGINE_FACTORIES: Record<EngineName, EngineFactory> = {
  native: { unavailable: () => { const s = nativeEngineStatus(); return s.ok ? null : s.reason; }, make: () => new NativeEngine() },
  wasm: { unavailable: () => (typeof WebAssembly === 'object' ? null : 'no WebAssembly in this runtime'), make: () => new WasmEngine() },
  js: { unavailable: () => null, make: () => jsEngine },
};

export interface SelectedEngine {
  engine: BinaryConvEngine;
  /** e.g. "--engine wasm", "auto: first choice", "auto: skipped native: oneDNN not found …". */
  reason: string;
}

/** An engine by name, or `auto`'s choice, with the reason; a forced engine that cannot run throws a UsageError. */
export function selectEngine(request: string = 'auto'): SelectedEngine {
  if (request !== 'auto') {
    const f = ENGINE_FACTORIES[request as EngineName];
    if (f === undefined) throw new UsageError(`--engine: '${request}' is not one of ${ENGINE_CHOICES.join(', ')}`);
    const why = f.unavailable();
    if (why !== null) throw new UsageError(`--engine ${request}: not available: ${why}`);
    return { engine: f.make(), reason: `--engine ${request}` };
  }
  const skipped: string[] = [];
  for (const name of ENGINE_NAMES) {
    const why = ENGINE_FACTORIES[name].unavailable();
    if (why === null) return { engine: ENGINE_FACTORIES[name].make(), reason: skipped.length === 0 ? 'auto: first choice' : `auto: skipped ${skipped.join('; ')}` };
    skipped.push(`${name}: ${why}`);
  }
  throw new Error('unreachable: the js engine always runs');
}

/** A new engine by name or `auto` (each wasm engine owns its memory). */
export function createEngine(name: string = 'auto'): BinaryConvEngine {
  return selectEngine(name).engine;
}

/**
 * The engines `bench --inference` times by default: every fast one that runs here (native,
 * wasm; js is the reference, not a contender), and a line per engine left out.
 */
export function benchEngines(): { engines: BinaryConvEngine[]; skipped: string[] } {
  const engines: BinaryConvEngine[] = [];
  const skipped: string[] = [];
  for (const name of ['native', 'wasm'] as const) {
    const why = ENGINE_FACTORIES[name].unavailable();
    if (why === null) engines.push(ENGINE_FACTORIES[name].make());
    else skipped.push(`${name}: ${why}`);
  }
  if (engines.length === 0) engines.push(jsEngine);
  return { engines, skipped };
}
