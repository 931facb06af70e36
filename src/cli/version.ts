import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { activeBackend, BACKEND_NAMES, type BackendName } from '../backend/names.ts';
import { runEnvironment } from '../results/environment.ts';

const require = createRequire(import.meta.url);

/**
 * The package behind each backend name (cpu ships inside @tensorflow/tfjs). The native names are
 * src/backend/native.ts's NATIVE_PACKAGES, restated because that module loads tfjs.
 */
const BACKEND_PACKAGES: Record<BackendName, string> = {
  gpu: '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  native: 'bnn-ablate-native',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/** An installed package's version from its package.json, without importing it (tfjs takes a second to load). */
export function installedVersion(pkg: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * What `--version` prints: the tool, tfjs, and each backend package's version, or that it is not
 * installed (`bnn-ablate backends` says which ones actually initialise here).
 */
export function versionText(): string {
  const env = runEnvironment();
  const backends = BACKEND_NAMES.map((name) => `${name} ${installedVersion(BACKEND_PACKAGES[name]) ?? '(not installed)'}`);
  return [
    `bnn-ablate ${env.bnnAblate}${env.git?.commit ? ` (${env.git.commit.slice(0, 10)}${env.git.dirty ? ', modified' : ''})` : ''}`,
    `tfjs ${installedVersion('@tensorflow/tfjs') ?? '(not installed)'}`,
    `backends: ${backends.join(', ')}`,
    `node ${process.version}`,
  ].join('\n');
}

/**
 * The line an internal (unexpected) error ends with, as the changesets CLI does: what to send and
 * the versions a maintainer needs. `backend` is the one this process selected, if it got that far.
 */
export function reportLine(backend: string | undefined = activeBackend()): string {
  const env = runEnvironment();
  const commit = env.git?.commit ? ` (${env.git.commit.slice(0, 10)}${env.git.dirty ? ', modified' : ''})` : '';
  return `this is a bug in bnn-ablate: please report it with the command, this message and the output of BNN_ABLATE_DEBUG=1 `
    + `(bnn-ablate ${env.bnnAblate}${commit}, tfjs ${installedVersion('@tensorflow/tfjs') ?? '(not installed)'}, `
    + `backend ${backend ?? '(none selected yet)'}, node ${process.version})`;
}
