/**
 * `npm run bundle`: writes dist/device/, a self-contained copy of the CLI for a machine with
 * Node but no package registry and no node_modules (the lent GPU machines take at most 64 MiB
 * beside the working tree). Layout:
 *   app/cli/bnn-ablate.mjs   the CLI and every dependency it imports, lazy imports included (esbuild)
 *   bin/bnn-ablate.js, bin/worker.js  the command and the local runner's worker entry (one import each)
 *   wasm/*.wasm              the tfjs wasm binaries
 *   dawn/<platform>/dawn.node Dawn for Node, this platform's only
 *   configs/, experiments/   what `bench` and the smoke grid read
 *   baselines/               the CPU baseline device-check.json compares the grid with
 *   device-check.mjs, run.sh `run.sh [backend]` writes device-check.json (scripts/device-check.ts)
 *   lib/libvulkan.so.1, vulkan/ the Vulkan loader and an NVIDIA ICD manifest (see copyVulkanLoader)
 *   package.json, BUILD.json the version (read by the results store) and the commit it was built from
 * Left out on purpose: tfjs-node(-gpu) (their libtensorflow is not in the package), sharp (image
 * decoding and plots, native; replaced by a stand-in that says so) and mnist's data: the device
 * check needs none of them.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT = path.join(ROOT, 'dist', 'device');
const require = createRequire(import.meta.url);
/** The ceiling the test checks: the device machine's 64 MiB, less room for results. */
export const MAX_BUNDLE_BYTES = 60 * 2 ** 20;

/** Packages the bundle must not contain: loaded optionally and reported unavailable when absent. */
const EXTERNAL = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'mnist'];

/**
 * sharp (native libvips, ~17 MiB) decodes the real datasets' images and draws previews; the
 * data modules import it statically, so the bundle gets a stand-in that fails on use with a
 * clear message instead of the whole CLI failing to start.
 */
const sharpStub: Plugin = {
  name: 'sharp-stub',
  setup(b) {
    b.onResolve({ filter: /^sharp$/ }, () => ({ path: 'sharp', namespace: 'sharp-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'sharp-stub' }, () => ({
      contents: "export default function sharp() { throw new Error('image decoding (sharp) is not in the device bundle: use synthetic data there'); }",
      loader: 'js',
    }));
  },
};

/**
 * webgpu's index.js loads `<its folder>/dist/<platform>-<arch>/dawn.node`. Bundled, its folder is
 * app/cli/, so the path is pointed at the bundle's dawn/ folder instead. Fails the build if the
 * package changed the line, rather than shipping a bundle that cannot find Dawn.
 */
const dawnPath: Plugin = {
  name: 'dawn-path',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]webgpu[\\/]index\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const from = "join(__dirname, 'dist',";
      if (!src.includes(from)) throw new Error(`webgpu/index.js no longer builds its path with ${from}; update scripts/bundle.ts`);
      return { contents: src.replace(from, "join(__dirname, '..', '..', 'dawn',"), loader: 'js' };
    });
  },
};

// ESM output: CommonJS dependencies (seedrandom, the wasm glue) call require() and read
// __dirname/__filename; the banner provides them under names `define` maps the free uses to.
const BANNER = [
  "import { createRequire as __bnnCreateRequire } from 'node:module';",
  "import { fileURLToPath as __bnnFileURLToPath } from 'node:url';",
  'const require = __bnnCreateRequire(import.meta.url);',
  'const __bnnFilename = __bnnFileURLToPath(import.meta.url);',
  "const __bnnDirname = __bnnFilename.slice(0, __bnnFilename.lastIndexOf('/'));",
].join(' ');

async function bundle(entry: string, outfile: string, plugins: Plugin[] = []): Promise<void> {
  await build({
    entryPoints: [path.join(ROOT, entry)], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20',
    external: EXTERNAL, plugins, banner: { js: BANNER }, define: { __dirname: '__bnnDirname', __filename: '__bnnFilename' }, logLevel: 'warning', legalComments: 'none', minifyWhitespace: true,
  });
}

function copyAssets(): void {
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  mkdirSync(path.join(OUT, 'wasm'));
  for (const f of readdirSync(wasmDir).filter((n) => n.endsWith('.wasm'))) copyFileSync(path.join(wasmDir, f), path.join(OUT, 'wasm', f));
  const platform = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
  const dawn = path.join(path.dirname(require.resolve('webgpu')), 'dist', platform);
  if (existsSync(dawn)) cpSync(dawn, path.join(OUT, 'dawn', platform), { recursive: true });
  else process.stderr.write(`bundle: no Dawn build for ${platform}; the bundle's webgpu backend will say so\n`);
  for (const dir of ['configs', 'experiments', 'baselines']) cpSync(path.join(ROOT, dir), path.join(OUT, dir), { recursive: true });
  copyVulkanLoader();
}

/**
 * The Vulkan loader (libvulkan.so.1, Khronos, Apache-2.0; ~0.5 MiB), which Dawn dlopens: GPU
 * containers often have NVIDIA's Vulkan driver but not the loader, and the device machine has no
 * package registry. run.sh puts lib/ on LD_LIBRARY_PATH. Skipped (with a note) where this machine
 * has no loader (Debian: apt-get install libvulkan1).
 */
function copyVulkanLoader(): void {
  const found = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1'].find((p) => existsSync(p));
  if (process.platform !== 'linux' || found === undefined) {
    process.stderr.write('bundle: no libvulkan.so.1 here; the bundle relies on the device machine\'s Vulkan loader\n');
    return;
  }
  mkdirSync(path.join(OUT, 'lib'));
  copyFileSync(found, path.join(OUT, 'lib', 'libvulkan.so.1'));
  // NVIDIA's ICD manifest, for machines whose driver libraries are mounted without it (run.sh).
  mkdirSync(path.join(OUT, 'vulkan'));
  const icd = { file_format_version: '1.0.0', ICD: { library_path: 'libGLX_nvidia.so.0', api_version: '1.3.0' } };
  writeFileSync(path.join(OUT, 'vulkan', 'nvidia_icd.json'), `${JSON.stringify(icd, null, 2)}\n`);
}

function gitCommit(): { commit: string | null; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: false };
  }
}

function writeMetadata(): void {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(path.join(OUT, 'package.json'), `${JSON.stringify({ name: 'bnn-ablate-device', version: pkg.version, type: 'module', private: true }, null, 2)}\n`);
  writeFileSync(path.join(OUT, 'BUILD.json'), `${JSON.stringify({ ...gitCommit(), node: process.version, platform: `${process.platform}-${process.arch}` }, null, 2)}\n`);
  mkdirSync(path.join(OUT, 'bin'));
  // One program, two entries: device-entry.ts tells them apart by the script's name.
  for (const entry of ['bnn-ablate.js', 'worker.js']) {
    writeFileSync(path.join(OUT, 'bin', entry), "#!/usr/bin/env node\nimport '../app/cli/bnn-ablate.mjs';\n");
    chmodSync(path.join(OUT, 'bin', entry), 0o755);
  }
  writeFileSync(path.join(OUT, 'run.sh'), RUN_SH);
  chmodSync(path.join(OUT, 'run.sh'), 0o755);
}

const RUN_SH = `#!/bin/sh
# Device check: backends, the reference bench and the ci grid of experiments/smoke.yaml on one
# backend (default webgpu); writes device-check.json in the current folder. Needs only node >= 20.
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
# The bundled Vulkan loader (GPU containers often lack one; it is the standard Khronos loader).
if [ -d "$here/lib" ]; then export LD_LIBRARY_PATH="$here/lib\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
# NVIDIA's driver without its ICD manifest (common in containers): point the loader at ours.
if [ -z "\${VK_DRIVER_FILES:-}\${VK_ICD_FILENAMES:-}" ] && [ -f "$here/vulkan/nvidia_icd.json" ] \\
  && ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1 \\
  && ldconfig -p 2>/dev/null | grep -q 'libGLX_nvidia.so.0'; then
  export VK_DRIVER_FILES="$here/vulkan/nvidia_icd.json" VK_ICD_FILENAMES="$here/vulkan/nvidia_icd.json"
fi
exec node "$here/device-check.mjs" "\${1:-webgpu}"
`;

/** Total size of the files under `dir`, in bytes. */
export function folderBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    const s = statSync(p);
    total += s.isDirectory() ? folderBytes(p) : s.size;
  }
  return total;
}

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  await bundle('scripts/device-entry.ts', path.join(OUT, 'app', 'cli', 'bnn-ablate.mjs'), [dawnPath, sharpStub]);
  await bundle('scripts/device-check.ts', path.join(OUT, 'device-check.mjs'));
  copyAssets();
  writeMetadata();
  const bytes = folderBytes(OUT);
  process.stdout.write(`dist/device: ${(bytes / 2 ** 20).toFixed(1)} MiB\n`);
  if (bytes > MAX_BUNDLE_BYTES) throw new Error(`dist/device is ${bytes} bytes, over the ${MAX_BUNDLE_BYTES}-byte limit`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
