/**
 * The binary-convolution engines, in one explicit list. `wasm` is the default; `js` is the
 * plain reference. A native engine (AVX-512 VPOPCNTDQ / AVX2 through the addon) would be added
 * here with an `available()` probe, and `auto` would prefer it where it loads.
 */
import { UsageError } from '../errors.ts';
import { jsEngine, type BinaryConvEngine } from './engine.ts';
import { WasmEngine } from './wasm-engine.ts';

export const ENGINE_NAMES = ['wasm', 'js'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

const ENGINE_FACTORIES: Record<EngineName, () => BinaryConvEngine> = {
  wasm: () => new WasmEngine(),
  js: () => jsEngine,
};

/** A new engine by name (each wasm engine owns its memory). */
export function createEngine(name: string = 'wasm'): BinaryConvEngine {
  const make = ENGINE_FACTORIES[name as EngineName];
  if (make === undefined) throw new UsageError(`--engine: '${name}' is not one of ${ENGINE_NAMES.join(', ')}`);
  return make();
}
