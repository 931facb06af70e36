/** Tiny run configs for model tests: 2 shared CPU cores, so channels and inputs stay small. */
import { defaultConfig, type RunConfig } from '../../src/config/schema.ts';

/** RunConfig is deeply readonly (the schema is `as const`); tests build their own copies. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

/** A 1-stack HourGlass with C = 8, depth 1, on 16×16 inputs (4×4 heatmaps), plus overrides. */
export function tinyConfig(over: DeepPartial<RunConfig> = {}): RunConfig {
  const c = defaultConfig() as Mutable<RunConfig>;
  c.model.channels = 8;
  c.model.depth = 1;
  c.data.input_size = 16;
  c.data.heatmap_size = 4;
  for (const [section, values] of Object.entries(over)) {
    const target = (c as unknown as Record<string, unknown>)[section];
    if (typeof values === 'object' && values !== null && !Array.isArray(values) && typeof target === 'object') {
      Object.assign(target as object, values);
    } else {
      (c as unknown as Record<string, unknown>)[section] = values;
    }
  }
  return c as RunConfig;
}

export const TINY_INPUT: [number, number, number] = [16, 16, 3];
