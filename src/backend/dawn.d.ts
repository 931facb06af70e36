/**
 * The two exports of the optional `webgpu` package (Dawn for Node) that webgpu.ts uses. Declared
 * here so that the typecheck neither needs the package nor pulls its global WebGPU types
 * (@webgpu/types) into the whole project; an ambient declaration takes precedence over the
 * package's own types.d.ts.
 */
declare module 'webgpu' {
  export function create(flags: string[]): unknown;
  export const globals: Record<string, unknown>;
}
