/**
 * Entry of the device bundle (scripts/bundle.ts), which esbuild writes to
 * dist/device/app/cli/bnn-ablate.mjs. Two levels below the bundle root on purpose: the sources
 * find their package root as `new URL('../../', import.meta.url)` (presets, package.json) and
 * the worker entry as `../../bin/bnn-ablate.js`, and from app/cli/ both land in dist/device/.
 * The bundle has no node_modules, so the wasm binaries' folder is named here (wasm.ts reads it).
 */
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.ts';

process.env.BNN_WASM_DIR ??= fileURLToPath(new URL('../../wasm/', import.meta.url));
process.exitCode = await main(process.argv.slice(2));
