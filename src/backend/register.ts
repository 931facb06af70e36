import tf from '../tf.cjs';
import { BINARY_GRADIENTS, BINARY_KERNELS } from './binary-kernels.ts';
import { BN_GRADIENTS, BN_KERNELS } from './bn-kernel.ts';
import { CONV_KERNELS } from './conv-kernels.ts';
import { type JsKernel, registerJsKernel } from './js-kernel.ts';
import { implFor } from './kernels.ts';
import { NATIVE_INFERENCE_IMPLS } from './onednn-inference-kernels.ts';
import { NATIVE_IMPLS, type NativeFactory } from './onednn-kernels.ts';
import { NATIVE_NORM_KERNELS } from './onednn-norm-kernels.ts';
import { OPTIMIZER_KERNELS } from './optimizer-kernels.ts';
import { PRELU_GRADIENTS, PRELU_KERNELS } from './prelu-grad.ts';

/**
 * Everything this project registers with tfjs, per profile, in one list; nothing is registered at
 * import. Backend selection (select.ts, webgpu.ts) calls `registerProfile` once the backend is
 * up, so the stock kernels its package registered at import are there to be replaced.
 *
 * A profile patches one tfjs backend:
 * - `kernels`: our own kernels (js-kernel.ts), under their 'Bnn' names.
 * - `gradients`: our gradients, the Prelu one over tfjs's. tfjs keeps ONE gradient per kernel for
 *   every backend, so these are the same list everywhere; each falls back to plain ops where its
 *   kernel is missing (prelu-grad.ts).
 * - `fixes`: tfjs kernels replaced by kernels.ts's versions (why each: kernels.ts).
 * - `native`: kernels replaced by native ones (onednn-kernels.ts), each wrapping what the fixes or
 *   the stock kernel would run, for the cases it does not cover. Adding a native kernel set is one
 *   more entry in that array.
 * `native` is the wasm backend with the wasm fixes plus the native kernels; installing a profile
 * removes the other profile's replacements on the same backend.
 */
export type Profile = 'cpu' | 'wasm' | 'native' | 'webgpu' | 'tensorflow';

interface ProfileList {
  /** The tfjs backend it patches. */
  backend: string;
  kernels: readonly JsKernel[];
  gradients: readonly tf.GradConfig[];
  fixes: readonly string[];
  native: readonly Record<string, NativeFactory>[];
}

const JS_KERNELS: readonly JsKernel[] = [...CONV_KERNELS, ...BN_KERNELS, ...BINARY_KERNELS, ...PRELU_KERNELS, ...OPTIMIZER_KERNELS];
const GRADIENTS: readonly tf.GradConfig[] = [...BN_GRADIENTS, ...BINARY_GRADIENTS, ...PRELU_GRADIENTS];

/** The C++ kernels besides the convolutions and binarization (batch norm, PReLU, sign, Add, Sum, SplitV, Concat, MaxPoolGrad). */
const NATIVE_NORM_IMPLS: Record<string, NativeFactory> = Object.fromEntries(NATIVE_NORM_KERNELS.map((k) => [k.kernelName, k.make]));

const WASM_FIXES = [
  tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter, tf.MaxPoolGrad, tf.AvgPoolGrad, tf.ResizeNearestNeighborGrad,
  tf.OneHot, tf.UnsortedSegmentSum, tf.Identity,
];

const PROFILES: Record<Profile, ProfileList> = {
  cpu: {
    backend: 'cpu', kernels: JS_KERNELS, gradients: GRADIENTS, native: [],
    fixes: [tf.Conv2DBackpropFilter, tf.MaxPoolGrad, tf.AvgPoolGrad, tf.ResizeNearestNeighborGrad],
  },
  wasm: { backend: 'wasm', kernels: JS_KERNELS, gradients: GRADIENTS, fixes: WASM_FIXES, native: [] },
  native: { backend: 'wasm', kernels: JS_KERNELS, gradients: GRADIENTS, fixes: WASM_FIXES, native: [NATIVE_IMPLS, NATIVE_NORM_IMPLS, NATIVE_INFERENCE_IMPLS] },
  webgpu: {
    backend: 'webgpu', kernels: [], gradients: GRADIENTS, native: [],
    fixes: [tf.MaxPoolGrad, tf.AvgPoolGrad, tf.ResizeNearestNeighborGrad],
  },
  // tfjs-node and tfjs-node-gpu: their own kernels throughout; only the gradients apply.
  tensorflow: { backend: 'tensorflow', kernels: [], gradients: GRADIENTS, fixes: [], native: [] },
};

export const PROFILE_NAMES = Object.keys(PROFILES) as Profile[];

/** The native factory a profile has for `kernelName`, if any. */
function nativeFor(p: ProfileList, kernelName: string): NativeFactory | undefined {
  return p.native.find((set) => set[kernelName] !== undefined)?.[kernelName];
}

/** The tfjs kernels a profile replaces: its fixes, then its native kernels, each once. */
function replaced(p: ProfileList): string[] {
  return [...new Set([...p.fixes, ...p.native.flatMap((set) => Object.keys(set))])];
}

/** Which profile's replacements are installed on each tfjs backend. */
const active = new Map<string, Profile>();
/** The kernel each replacement took the place of, by `${backend}_${kernel}` (undefined: there was none). */
const stock = new Map<string, tf.KernelConfig | undefined>();

/**
 * Registers everything `profile` lists: our kernels (where not yet registered, so a native
 * replacement of one of them survives a repeated call), the gradients, then the replacements.
 * Idempotent. Must run after the backend's package registered its own kernels (at its import).
 */
export function registerProfile(profile: Profile): void {
  const p = PROFILES[profile];
  for (const k of p.kernels) if (!tf.getKernel(k.name, p.backend)) registerJsKernel(k, p.backend);
  for (const g of p.gradients) tf.registerGradient(g);
  installKernelOverrides(profile);
}

const isProfile = (name: string): name is Profile => Object.hasOwn(PROFILES, name);

/**
 * Installs the kernel replacements of `profile` ('cpu', 'wasm', 'native' or 'webgpu'; others are
 * left alone, returning false). Idempotent. Tests and the benchmark reinstall them after
 * `uninstallKernelOverrides`; the profile's own kernels must be registered (registerProfile).
 */
export function installKernelOverrides(profile: string): boolean {
  if (!isProfile(profile)) return false;
  const p = PROFILES[profile];
  const current = active.get(p.backend);
  if (current !== undefined && current !== profile) uninstallKernelOverrides(current);
  for (const kernelName of replaced(p)) {
    const key = `${p.backend}_${kernelName}`;
    if (stock.has(key)) continue;
    const original = tf.getKernel(kernelName, p.backend);
    stock.set(key, original);
    // Unregister first: registering over an existing kernel prints a warning.
    if (original) tf.unregisterKernel(kernelName, p.backend);
    const kernelFunc = implFor({ backendName: p.backend, profile, original }, kernelName, nativeFor(p, kernelName));
    tf.registerKernel({ kernelName, backendName: p.backend, kernelFunc });
  }
  active.set(p.backend, profile);
  return true;
}

/**
 * Puts the replaced kernels back, all of them or only `only`; tests and the benchmark compare
 * against them. Our own kernels and the gradients stay.
 */
export function uninstallKernelOverrides(profile: string, only?: readonly string[]): void {
  if (!isProfile(profile)) return;
  const p = PROFILES[profile];
  if (active.get(p.backend) !== profile) return;
  const kernels = replaced(p);
  for (const kernelName of kernels) {
    if (only && !only.includes(kernelName)) continue;
    const key = `${p.backend}_${kernelName}`;
    if (!stock.has(key)) continue;
    const original = stock.get(key);
    stock.delete(key);
    tf.unregisterKernel(kernelName, p.backend);
    if (original) tf.registerKernel(original);
  }
  if (kernels.every((k) => !stock.has(`${p.backend}_${k}`))) active.delete(p.backend);
}

/** Which kernels `profile` replaces right now (none where another profile is installed). */
export function kernelOverrides(profile: string): string[] {
  if (!isProfile(profile)) return [];
  const p = PROFILES[profile];
  if (active.get(p.backend) !== profile) return [];
  return replaced(p).filter((k) => stock.has(`${p.backend}_${k}`));
}

/** Whether convolution training on `profile` runs through the forward-conv gradients. */
export function hasFastConvGradients(profile: string): boolean {
  return kernelOverrides(profile).includes(tf.Conv2DBackpropFilter);
}

/** What one profile registers, by name. */
export interface ProfileOverrides {
  /** The tfjs backend it patches. */
  backend: string;
  /** Our own kernels, added under new names. */
  added: string[];
  /** Kernels whose registration is replaced (tfjs's, or for native also our own). */
  replaced: string[];
  /** Kernels whose gradient is registered (for every backend). */
  gradients: string[];
}

/** Every registration this project makes, per profile: what `registerProfile` installs. */
export function listOverrides(): Record<Profile, ProfileOverrides> {
  const entries = PROFILE_NAMES.map((name) => {
    const p = PROFILES[name];
    const list: ProfileOverrides = {
      backend: p.backend, added: p.kernels.map((k) => k.name), replaced: replaced(p), gradients: p.gradients.map((g) => g.kernelName),
    };
    return [name, list] as const;
  });
  return Object.fromEntries(entries) as Record<Profile, ProfileOverrides>;
}
