/** Backend names, kept free of tfjs imports so the CLI can declare `--backend` without loading tfjs. */
export const BACKEND_NAMES = ['gpu', 'node', 'webgpu', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const;
export type BackendRequest = (typeof BACKEND_CHOICES)[number];
/** What `--backend` defaults to. */
export const DEFAULT_BACKEND: BackendRequest = 'auto';

/** The backend this process selected ("wasm 4.22.0"), for the "please report" line of internal errors. */
let active: string | undefined;
export function noteActiveBackend(description: string | undefined): void {
  active = description;
}
export function activeBackend(): string | undefined {
  return active;
}
