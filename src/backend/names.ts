/** Backend names, kept free of tfjs imports so the CLI can declare `--backend` without loading tfjs. */
export const BACKEND_NAMES = ['gpu', 'node', 'webgpu', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const;
export type BackendRequest = (typeof BACKEND_CHOICES)[number];
