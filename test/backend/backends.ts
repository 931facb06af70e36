import { selectBackend } from '../../src/backend/index.ts';
import { initWebGpu } from '../../src/backend/webgpu.ts';
import { nativeSkip } from './helpers.ts';

/**
 * The backends the kernel and gradient tests run on: cpu and wasm everywhere, native where the
 * oneDNN addon is built (CI installs libdnnl-dev), webgpu where Dawn finds an adapter (a GPU, or
 * Mesa's llvmpipe with BNN_WEBGPU_ADAPTER=software, as CI runs it). Where one is missing its tests
 * are registered as skipped, with the reason.
 */
export const KERNEL_BACKENDS = ['cpu', 'wasm', 'native', 'webgpu'] as const;
export type KernelBackend = (typeof KERNEL_BACKENDS)[number];

const webgpu = await initWebGpu();
const NATIVE_SKIP = await nativeSkip();
// Probing made webgpu current; tests that never select a backend expect cpu, as selectBackend sets it up.
await selectBackend('cpu');

/** Why `backend` cannot run here, or undefined: pass as node:test's `skip` option. */
export function skipReason(backend: KernelBackend): string | undefined {
  if (backend === 'native') return NATIVE_SKIP;
  return backend === 'webgpu' && !webgpu.ok ? `webgpu: ${webgpu.reason}` : undefined;
}
