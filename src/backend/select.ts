import { availableParallelism } from 'node:os';
import tf from '../tf.cjs';
import { BackendError } from '../errors.ts';
import { type Importer, loadNative, NATIVE_PACKAGES } from './native.ts';
import { asyncFilterGradEnabled, loadOneDnn, oneDnn, setOneDnnThreads } from './onednn.ts';
import { installBannerFilter, muteCpuBanner } from './quiet.ts';
import { hasFastConvGradients, registerProfile } from './register.ts';
import { initWasm, wasmDetails } from './wasm.ts';
import { tryWebGpu, type WebGpuAdapterInfo } from './webgpu.ts';
import { BACKEND_CHOICES, BACKEND_NAMES, noteActiveBackend, type BackendName, type BackendRequest } from './names.ts';

export { BACKEND_CHOICES, BACKEND_NAMES, type BackendName, type BackendRequest };

/** What `selectBackend` activated. Stored with every run (meta.json) so results say what ran them. */
export interface SelectedBackend {
  name: BackendName;
  /** The tfjs backend name behind it: 'tensorflow' (both native packages), 'wasm' or 'cpu'. */
  tfjsBackend: string;
  /** Version of the package providing the backend. */
  version: string;
  /** tfjs-core plus the providing package, for the results store. */
  versions: Record<string, string>;
  /** Why this backend: forced, or which earlier candidates `auto` skipped and why. */
  reason: string;
  /** One line of facts about it, e.g. "SIMD, 1 thread, fast conv gradients". */
  detail: string;
  /** Whether convolution gradients run through forward convolutions (see kernels.ts). */
  fastConvGradients: boolean;
  /** Threads the backend computes with (wasm and cpu: always 1). */
  threads: number;
}

export interface SelectOptions {
  /** Threads for backends that have a pool (native): default OMP_NUM_THREADS, else every core. */
  threads?: number;
  /**
   * How the tfjs-node packages are imported (default: a dynamic import, native.ts). Tests pass one
   * that fails the way a broken install fails.
   */
  importNative?: Importer;
}

export interface BackendProbe {
  name: BackendName;
  available: boolean;
  /** Why not, when unavailable. */
  reason?: string;
  version?: string;
  detail?: string;
  /** The WebGPU adapter (webgpu only): vendor, device, feature level, limits. */
  adapter?: WebGpuAdapterInfo;
  /** Available, but `auto` passes it over, and why (a software WebGPU adapter). */
  autoSkip?: string;
}

export interface ProbeReport {
  backends: BackendProbe[];
  /** What `--backend auto` picks here. */
  auto: BackendName;
}

export type Attempt =
  | {
    ok: true; backend: Omit<SelectedBackend, 'reason'>; adapter?: WebGpuAdapterInfo;
    /** Works, but `auto` passes it over for this reason (a software WebGPU adapter). */
    autoSkip?: string;
  }
  | { ok: false; reason: string };

const DESCRIPTION: Record<BackendName, string> = {
  gpu: 'TensorFlow C++ with CUDA (@tensorflow/tfjs-node-gpu; needs CUDA 11.2 + cuDNN 8.1, which predate Hopper)',
  node: 'TensorFlow C++ on the CPU (@tensorflow/tfjs-node)',
  webgpu: 'WebGPU through Dawn (@tensorflow/tfjs-backend-webgpu + webgpu)',
  native: 'oneDNN kernels on the wasm heap (native/, needs libdnnl-dev)',
  wasm: 'WebAssembly (@tensorflow/tfjs-backend-wasm)',
  cpu: 'plain JavaScript (@tensorflow/tfjs-backend-cpu)',
};

async function activate(tfName: string): Promise<boolean> {
  try {
    return await tf.setBackend(tfName);
  } catch {
    return false;
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 200);
}

function coreVersions(): Record<string, string> {
  return { 'tfjs-core': tf.version_core };
}

async function tryNative(name: 'gpu' | 'node', importer: Importer | undefined): Promise<Attempt> {
  const pkg = NATIVE_PACKAGES[name];
  const loaded = await loadNative(pkg, importer);
  if (!loaded.ok) return loaded;
  if (!(await activate('tensorflow'))) return { ok: false, reason: `${pkg} loaded but its backend failed to initialise` };
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean; isGPUPackage?: boolean };
  if (name === 'gpu' && backend.isUsingGpuDevice !== true) {
    return { ok: false, reason: `${pkg} loaded but TensorFlow sees no usable GPU (CUDA/cuDNN)` };
  }
  registerProfile('tensorflow');
  // Both packages register the same 'tensorflow' backend; the first one imported wins.
  const via = name === 'node' && backend.isGPUPackage ? ' (provided by the already-loaded tfjs-node-gpu)' : '';
  return {
    ok: true,
    backend: {
      name,
      tfjsBackend: 'tensorflow',
      version: loaded.version,
      versions: { ...coreVersions(), [pkg.replace('@tensorflow/', '')]: loaded.version },
      detail: `${DESCRIPTION[name]}${via}, native kernels`,
      fastConvGradients: false,
      threads: Number(process.env.TF_NUM_INTRAOP_THREADS ?? 0) || availableParallelism(),
    },
  };
}

async function startWasm(): Promise<string | undefined> {
  let ok: boolean;
  try {
    ok = await initWasm();
  } catch (err) {
    return `wasm set-up failed: ${firstLine((err as Error).message)}`;
  }
  return ok ? undefined : 'the WebAssembly module failed to initialise';
}

/** The default thread count: what the runner put in OMP_NUM_THREADS, else every core. */
function defaultThreads(): number {
  const env = Number(process.env.OMP_NUM_THREADS);
  return Number.isInteger(env) && env >= 1 ? env : availableParallelism();
}

/** wasm with oneDNN kernel overrides (onednn-kernels.ts): the addon first, so wasm is not touched without it. */
async function tryOneDnn(threads: number): Promise<Attempt> {
  const loaded = loadOneDnn(threads);
  if (!loaded.ok) return loaded;
  const failed = await startWasm();
  if (failed) return { ok: false, reason: failed };
  registerProfile('native');
  const got = setOneDnnThreads(threads);
  oneDnn().setAsyncJobs(asyncFilterGradEnabled());
  const d = await wasmDetails();
  const { version, isa } = loaded.info;
  return {
    ok: true,
    backend: {
      name: 'native',
      tfjsBackend: 'wasm',
      version,
      versions: { ...coreVersions(), 'tfjs-backend-wasm': d.version, onednn: version },
      detail: `oneDNN ${version} (${isa}), ${got} thread${got === 1 ? '' : 's'}, convolutions and matmuls in place on the wasm heap`,
      fastConvGradients: true,
      threads: got,
    },
  };
}

async function tryWasm(): Promise<Attempt> {
  const failed = await startWasm();
  if (failed) return { ok: false, reason: failed };
  registerProfile('wasm');
  const d = await wasmDetails();
  return {
    ok: true,
    backend: {
      name: 'wasm',
      tfjsBackend: 'wasm',
      version: d.version,
      versions: { ...coreVersions(), 'tfjs-backend-wasm': d.version },
      detail: `${d.simd ? 'SIMD' : 'no SIMD'}, ${d.threads} thread${d.threads === 1 ? '' : 's'}, fast conv gradients`,
      fastConvGradients: hasFastConvGradients('wasm'),
      threads: d.threads,
    },
  };
}

async function tryCpu(): Promise<Attempt> {
  if (!(await activate('cpu'))) return { ok: false, reason: 'the cpu backend failed to initialise' };
  muteCpuBanner();
  registerProfile('cpu');
  const version = (tf.version as Record<string, string>)['tfjs-backend-cpu'] ?? tf.version_core;
  return {
    ok: true,
    backend: {
      name: 'cpu',
      tfjsBackend: 'cpu',
      version,
      versions: { ...coreVersions(), 'tfjs-backend-cpu': version },
      detail: 'single-threaded JavaScript, fast conv filter gradients',
      fastConvGradients: hasFastConvGradients('cpu'),
      threads: 1,
    },
  };
}

/** What every candidate gets: the thread count, and the importer for the tfjs-node packages. */
interface AttemptOptions {
  threads: number;
  importNative?: Importer;
}

function attempt(name: BackendName, options: AttemptOptions): Promise<Attempt> {
  switch (name) {
    case 'gpu':
    case 'node':
      return tryNative(name, options.importNative);
    case 'webgpu':
      return tryWebGpu();
    case 'native':
      return tryOneDnn(options.threads);
    case 'wasm':
      return tryWasm();
    case 'cpu':
      return tryCpu();
  }
}

/** Records the selection for internal-error reports (src/cli/version.ts `reportLine`). */
function noted(selected: SelectedBackend): SelectedBackend {
  noteActiveBackend(`${selected.name} ${selected.version}`);
  return selected;
}

/**
 * Initialises tfjs on the requested backend and makes it current. Call once per process, before
 * building models (calling again switches backends; tensors made earlier stay on the old one).
 * `auto` tries gpu -> node -> webgpu -> native -> wasm -> cpu and takes the first that works (a
 * software WebGPU adapter works but is passed over). A forced backend that is unavailable throws
 * BackendError with a one-line reason.
 */
export async function selectBackend(request: BackendRequest, options: SelectOptions = {}): Promise<SelectedBackend> {
  installBannerFilter();
  const threads = options.threads ?? defaultThreads();
  if (!Number.isInteger(threads) || threads < 1) throw new BackendError(`threads must be a positive integer, got ${threads}`);
  const how: AttemptOptions = { threads, ...(options.importNative && { importNative: options.importNative }) };
  if (request !== 'auto') {
    if (!(BACKEND_NAMES as readonly string[]).includes(request)) {
      throw new BackendError(`unknown backend '${String(request)}' (choose one of ${BACKEND_CHOICES.join(', ')})`);
    }
    const r = await attempt(request, how);
    if (!r.ok) throw new BackendError(`backend '${request}' is not available: ${r.reason}`);
    return noted({ ...r.backend, reason: `--backend ${request}` });
  }
  const skipped: string[] = [];
  for (const name of BACKEND_NAMES) {
    const r = await attempt(name, how);
    if (r.ok && !r.autoSkip) {
      const why = skipped.length === 0 ? 'first choice' : `skipped ${skipped.join('; ')}`;
      return noted({ ...r.backend, reason: `auto: ${why}` });
    }
    skipped.push(`${name}: ${r.ok ? r.autoSkip : r.reason}`);
  }
  // cpu cannot fail short of a broken tfjs install.
  throw new BackendError(`no backend could be initialised (${skipped.join('; ')})`);
}

/**
 * Checks every backend and says which `auto` would pick. Initialising a backend makes it current,
 * so this ends with the `auto` choice active; call selectBackend afterwards to choose another.
 */
export async function probeBackends(options: Pick<SelectOptions, 'importNative'> = {}): Promise<ProbeReport> {
  installBannerFilter();
  const how: AttemptOptions = { threads: defaultThreads(), ...(options.importNative && { importNative: options.importNative }) };
  const backends: BackendProbe[] = [];
  for (const name of BACKEND_NAMES) {
    const r = await attempt(name, how);
    backends.push(
      r.ok
        ? {
          name, available: true, version: r.backend.version, detail: r.backend.detail,
          ...(r.adapter && { adapter: r.adapter }), ...(r.autoSkip && { autoSkip: r.autoSkip }),
        }
        : { name, available: false, reason: r.reason, detail: DESCRIPTION[name] },
    );
  }
  const auto = backends.find((b) => b.available && !b.autoSkip)?.name ?? 'cpu';
  const active = await attempt(auto, how);
  if (!active.ok) throw new BackendError(`backend '${auto}' stopped working while probing: ${active.reason}`);
  return { backends, auto };
}
