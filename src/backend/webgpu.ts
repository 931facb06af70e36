import tf from '../tf.cjs';
import webgpuPackage from '@tensorflow/tfjs-backend-webgpu/package.json' with { type: 'json' };
import { registerProfile } from './register.ts';
import type { Attempt } from './select.ts';

/**
 * WebGPU backend set-up for Node: @tensorflow/tfjs-backend-webgpu on Dawn (the `webgpu` npm
 * package, an optionalDependency whose prebuilt dawn.node ships inside the package).
 *
 * Three things tfjs 4.22 cannot do on its own under Node:
 * - It decides at IMPORT whether WebGPU exists (`isWebGPUSupported()` reads navigator.gpu), so
 *   navigator.gpu must be in place before the package is imported; it is imported lazily here,
 *   after the shim, which also keeps it from registering itself as tfjs's top-priority backend in
 *   processes that never ask for it (as wasm.ts does for wasm).
 * - Its device request (tfjs-backend-webgpu/src/base.ts) pushes `['bgra8unorm-storage']`, an
 *   array, into `requiredFeatures`; browsers stringify it, strict implementations (Dawn) reject
 *   the request. The adapter handed to tfjs is wrapped so that requestDevice flattens the list.
 * - It requests only six limits, so every other limit is WebGPU's default; the wrapper asks for
 *   everything the adapter offers (a compatibility-mode adapter defaults to 4 storage buffers per
 *   stage, fewer than some tfjs programs bind).
 *
 * Adapters: by default Dawn's own discovery (Vulkan on Linux; NVIDIA's driver ships one). With
 * BNN_WEBGPU_ADAPTER=software, Mesa's llvmpipe through Dawn's OpenGL ES backend in WebGPU
 * compatibility mode, headless via EGL_PLATFORM=surfaceless: a CPU adapter for correctness tests
 * (Debian's lavapipe Vulkan driver 22.3 lacks shaderSampledImageArrayDynamicIndexing, which Dawn
 * requires; Dawn's own fallback adapter, SwiftShader, is not in the package). `auto` never picks a
 * software adapter: it is slower than wasm.
 */

/** The adapter facts `backends` reports (and, as one line, every run's backend detail). */
export interface WebGpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** 'core' (full WebGPU) or 'compatibility' (the OpenGL ES path). */
  featureLevel: 'core' | 'compatibility';
  /** True for CPU implementations (llvmpipe, SwiftShader, Dawn's fallback adapter). */
  software: boolean;
  /** The limits that bound tfjs's buffers and workgroups. */
  limits: Record<string, number>;
}

export type WebGpuInit = { ok: true; version: string; adapter: WebGpuAdapterInfo } | { ok: false; reason: string };

/** How to find an adapter: Dawn's default discovery, or the Mesa software adapter (see above). */
export type AdapterChoice = 'default' | 'software';

/** The limits reported (and the ones tfjs sizes its work by). */
const REPORTED_LIMITS = [
  'maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxStorageBuffersPerShaderStage',
] as const;

/*
 * The slices of the WebGPU API used here, typed structurally: `webgpu` is optional, so its types
 * (@webgpu/types) may be absent.
 */
interface GpuAdapterLike {
  info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  features: { has(name: string): boolean };
  limits: object;
  requestDevice(desc?: DeviceDescriptor): Promise<unknown>;
}
interface DeviceDescriptor {
  requiredFeatures?: Iterable<unknown>;
  requiredLimits?: Record<string, number>;
  [key: string]: unknown;
}
interface Dawn {
  create(flags: string[]): { requestAdapter(options?: object): Promise<GpuAdapterLike | null> };
  globals: Record<string, unknown>;
}

/** Reads BNN_WEBGPU_ADAPTER; anything but the two known values is a one-line error. */
export function adapterChoice(env: NodeJS.ProcessEnv = process.env): AdapterChoice | { error: string } {
  const v = env.BNN_WEBGPU_ADAPTER ?? 'default';
  if (v === '' || v === 'default') return 'default';
  if (v === 'software') return 'software';
  return { error: `BNN_WEBGPU_ADAPTER='${v}' is not one of default, software` };
}

function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim() !== '') ?? s).trim().slice(0, 200);
}

async function loadDawn(): Promise<Dawn | string> {
  try {
    return (await import('webgpu')) as unknown as Dawn;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'ERR_MODULE_NOT_FOUND' && /'webgpu'/.test(e.message ?? '')) {
      return "the optional package 'webgpu' (Dawn for Node) is not installed";
    }
    return `Dawn (webgpu) failed to load: ${firstLine(e.message ?? String(err))}`;
  }
}

/** Dawn's instance flags and the adapter request for each choice. */
function discovery(choice: AdapterChoice): { flags: string[]; options: Record<string, string> } {
  if (choice === 'software') {
    // Mesa's EGL needs a platform without a display server; set before Dawn initialises EGL.
    process.env.EGL_PLATFORM ??= 'surfaceless';
    return { flags: ['backend=opengles'], options: { featureLevel: 'compatibility' } };
  }
  return { flags: [], options: { powerPreference: 'high-performance' } };
}

/** A view of `adapter` whose requestDevice flattens requiredFeatures and asks for every limit. */
export function wrapAdapter<A extends GpuAdapterLike>(adapter: A): A {
  const requestDevice = (desc: DeviceDescriptor = {}): Promise<unknown> => {
    const features = [...(desc.requiredFeatures ?? [])].flat();
    const requiredLimits: Record<string, number> = {};
    for (const key in adapter.limits) {
      const v = (adapter.limits as Record<string, unknown>)[key];
      if (typeof v === 'number') requiredLimits[key] = v;
    }
    return adapter.requestDevice({ ...desc, requiredFeatures: [...new Set(features)], requiredLimits });
  };
  return new Proxy(adapter, {
    get(target, prop) {
      if (prop === 'requestDevice') return requestDevice;
      const v = Reflect.get(target, prop, target) as unknown;
      // Dawn's methods check their receiver: call them on the real adapter, not the proxy.
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function describe(adapter: GpuAdapterLike, choice: AdapterChoice): WebGpuAdapterInfo {
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const k of REPORTED_LIMITS) limits[k] = (adapter.limits as Record<string, number>)[k] ?? 0;
  const core = adapter.features.has('core-features-and-limits') || choice === 'default';
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  return {
    vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description,
    featureLevel: core ? 'core' : 'compatibility',
    software: Boolean(info.isFallbackAdapter) || /llvmpipe|lavapipe|swiftshader/i.test(text),
    limits,
  };
}

/** Installs navigator.gpu as a GPU whose requestAdapter returns `adapter` (wrapped) whatever it is asked. */
function installNavigatorGpu(adapter: GpuAdapterLike, dawn: Dawn): void {
  // Dawn's classes (GPUBufferUsage, GPUShaderStage, ...) are globals in a browser; tfjs reads them.
  for (const [k, v] of Object.entries(dawn.globals)) (globalThis as Record<string, unknown>)[k] ??= v;
  const gpu = { requestAdapter: async () => wrapAdapter(adapter), getPreferredCanvasFormat: () => 'rgba8unorm' };
  const g = globalThis as { navigator?: object };
  if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty(g.navigator!, 'gpu', { value: gpu, configurable: true });
}

let initialised: Promise<WebGpuInit> | undefined;
/**
 * Dawn's instance, held for the life of the process: nothing else references it once the adapter
 * exists, and when the garbage collector frees it, Dawn's pending-event loop (ProcessEvents) runs
 * on a destroyed instance and aborts the process (std::system_error from a dead mutex, seen 30 s
 * into a training run).
 */
let instance: ReturnType<Dawn['create']> | undefined;

async function attemptInit(choice: AdapterChoice): Promise<WebGpuInit> {
  const dawn = await loadDawn();
  if (typeof dawn === 'string') return { ok: false, reason: dawn };
  const { flags, options } = discovery(choice);
  let adapter: GpuAdapterLike | null;
  try {
    instance = dawn.create(flags);
    adapter = await instance.requestAdapter(options);
  } catch (err) {
    return { ok: false, reason: `Dawn's adapter request failed: ${firstLine((err as Error).message)}` };
  }
  if (!adapter) {
    const how = choice === 'software'
      ? 'no software adapter (Dawn OpenGL ES on Mesa llvmpipe; Debian: libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri)'
      : 'no WebGPU adapter (Dawn needs a Vulkan driver: libvulkan1 plus a GPU ICD; BNN_WEBGPU_ADAPTER=software uses Mesa on the CPU)';
    return { ok: false, reason: how };
  }
  installNavigatorGpu(adapter, dawn);
  await import('@tensorflow/tfjs-backend-webgpu');
  try {
    if (!(await tf.setBackend('webgpu'))) return { ok: false, reason: 'the WebGPU adapter was found but tfjs could not create a device on it' };
  } catch (err) {
    return { ok: false, reason: `tfjs webgpu set-up failed: ${firstLine((err as Error).message)}` };
  }
  watchDeviceErrors(tf.backend() as unknown as WatchedBackend);
  return { ok: true, version: webgpuPackage.version, adapter: describe(adapter, choice) };
}

interface WatchedBackend {
  device: {
    addEventListener(type: 'uncapturederror', listener: (e: { error: { message: string } }) => void): void;
    lost: Promise<{ message: string }>;
  };
  read(dataId: object): Promise<unknown>;
}

let deviceError: string | undefined;

/**
 * Makes GPU errors fail loudly. WebGPU reports a bad shader or a validation error as an event and
 * carries on, so the tensors involved silently hold garbage (seen: tfjs 4.22's rank-6 pad shader
 * does not compile). The first such error, or a lost device, is kept, and every later read
 * (`data()`, which each training step and evaluation does) rejects with it.
 */
function watchDeviceErrors(backend: WatchedBackend): void {
  backend.device.addEventListener('uncapturederror', (e) => {
    deviceError ??= `webgpu device error: ${firstLine(e.error.message)}`;
  });
  void backend.device.lost.then((info) => {
    deviceError ??= `webgpu device lost: ${firstLine(info.message)}`;
  });
  const read = backend.read.bind(backend);
  backend.read = async (dataId) => {
    const values = await read(dataId);
    if (deviceError !== undefined) throw new Error(deviceError);
    return values;
  };
}

/**
 * Finds an adapter, installs the shim, imports tfjs-backend-webgpu and makes 'webgpu' current.
 * Once per process: Dawn's adapter and tfjs's device live as long as the process; later calls
 * only switch back to the backend.
 */
export async function initWebGpu(): Promise<WebGpuInit> {
  const choice = adapterChoice();
  if (typeof choice !== 'string') return { ok: false, reason: choice.error };
  initialised ??= attemptInit(choice);
  const r = await initialised;
  if (r.ok && tf.getBackend() !== 'webgpu' && !(await tf.setBackend('webgpu'))) {
    return { ok: false, reason: 'the webgpu backend stopped working' };
  }
  return r;
}

/** One line for `backends`: adapter, feature level and the limits that bound tfjs. */
export function formatAdapter(a: WebGpuAdapterInfo): string {
  const name = [a.vendor, a.architecture, a.device].filter((s) => s !== '').join(' ') || 'unnamed adapter';
  const mib = (n: number): string => `${Math.round(n / 2 ** 20)} MiB`;
  return `${name}${a.description ? ` (${a.description})` : ''}, ${a.featureLevel}${a.software ? ', software' : ''}; `
    + `max buffer ${mib(a.limits.maxBufferSize ?? 0)}, storage binding ${mib(a.limits.maxStorageBufferBindingSize ?? 0)}, `
    + `workgroup ${a.limits.maxComputeInvocationsPerWorkgroup} invocations / ${a.limits.maxComputeWorkgroupStorageSize} B shared`;
}

/** The `webgpu` candidate for select.ts: initialise, register its profile (register.ts), describe. */
export async function tryWebGpu(): Promise<Attempt> {
  const r = await initWebGpu();
  if (!r.ok) return r;
  registerProfile('webgpu');
  const software = r.adapter.software ? 'a software adapter (slower than wasm)' : undefined;
  return {
    ok: true,
    backend: {
      name: 'webgpu',
      tfjsBackend: 'webgpu',
      version: r.version,
      versions: { 'tfjs-core': tf.version_core, 'tfjs-backend-webgpu': r.version },
      detail: `${formatAdapter(r.adapter)}${software ? '; auto skips it' : ''}`,
      fastConvGradients: false,
      // The GPU's parallelism is its own; `threads` counts CPU compute threads.
      threads: 1,
    },
    adapter: r.adapter,
    ...(software && { autoSkip: software }),
  };
}
