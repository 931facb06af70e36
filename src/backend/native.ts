import { quietly } from './quiet.ts';

/** The two native packages, both optionalDependencies that npm drops when their install fails. */
export const NATIVE_PACKAGES = {
  gpu: '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
} as const;

export type NativePackage = (typeof NATIVE_PACKAGES)[keyof typeof NATIVE_PACKAGES];

export type NativeLoad =
  | { ok: true; version: string }
  | { ok: false; reason: string };

/** A module importer; tests substitute one that fails the way a broken install fails. */
export type Importer = (specifier: string) => Promise<unknown>;

const defaultImporter: Importer = (specifier) => import(specifier);

/**
 * Turns an import failure into the one-line reason `backends` prints. Any failure means "not
 * available": the native packages fail in several ways depending on how far their install got.
 */
export function classifyImportError(pkg: string, err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    // A missing dependency of the package reads the same; name it only when it is not the package.
    const missing = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
    if (missing === undefined || missing === pkg || missing.startsWith(`${pkg}/`) || missing.includes(`/${pkg}/`)) {
      return `${pkg} is not installed`;
    }
    return `${pkg} cannot load: missing ${missing}`;
  }
  if (message.includes('tfjs_binding.node')) {
    return `${pkg} is installed but its native addon (tfjs_binding.node) is missing; its install script could not download libtensorflow`;
  }
  if (/libtensorflow|\.so(\.\d+)*:|cannot open shared object/i.test(message)) {
    return `${pkg} cannot load libtensorflow: ${firstLine(message)}`;
  }
  return `${pkg} failed to load: ${firstLine(message)}`;
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '') ?? s;
  return line.trim().slice(0, 200);
}

const cache = new Map<string, Promise<NativeLoad>>();

async function attemptLoad(pkg: NativePackage, importer: Importer): Promise<NativeLoad> {
  // TensorFlow's C++ start-up log lines go to stderr unless this is set before it loads.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  try {
    const mod = (await quietly(() => importer(pkg))) as { version?: Record<string, string> };
    return { ok: true, version: mod.version?.['tfjs-node'] ?? 'unknown' };
  } catch (err) {
    return { ok: false, reason: classifyImportError(pkg, err) };
  }
}

/**
 * Imports a native tfjs package, once per process (a module that failed to import stays failed).
 * Importing it registers the 'tensorflow' backend and makes it current (tfjs-node's index does
 * so), which is why callers set the backend they want afterwards. A custom `importer` (tests)
 * bypasses the cache.
 */
export function loadNative(pkg: NativePackage, importer?: Importer): Promise<NativeLoad> {
  if (importer) return attemptLoad(pkg, importer);
  let hit = cache.get(pkg);
  if (!hit) {
    hit = attemptLoad(pkg, defaultImporter);
    cache.set(pkg, hit);
  }
  return hit;
}
